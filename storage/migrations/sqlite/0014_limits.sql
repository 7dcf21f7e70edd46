-- Limits shared by every bot process on one database (used on PostgreSQL, where several
-- processes serve one bot; a SQLite file has one process, which keeps its limits in memory).
-- Times are seconds since the epoch (the database server's clock), so that refills compare.

-- Token buckets of the whole bot: 'telegram' (all Bot API sends, Telegram's overall limit) and
-- 'outbox' (the pace of broadcasts and reminders). Processes take a few tokens at a time.
CREATE TABLE rate_buckets (
    name       TEXT PRIMARY KEY,
    tokens     REAL NOT NULL,  -- below zero while a flood wait asked by Telegram lasts
    updated_at REAL NOT NULL   -- when `tokens` was last refilled
);

-- The per-person flood limit: each person's bucket and the verdict on their last update.
CREATE TABLE flood_buckets (
    telegram_id INTEGER PRIMARY KEY,
    tokens      REAL NOT NULL,
    updated_at  REAL NOT NULL,
    verdict     TEXT NOT NULL DEFAULT 'serve' CHECK (verdict IN ('serve', 'warn', 'drop'))
);
