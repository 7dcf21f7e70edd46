-- The PostgreSQL form of the SQLite migration 0014_limits: limits shared by every bot process
-- on one database. Times are seconds since the epoch on the server's clock.

-- Token buckets of the whole bot: 'telegram' (all Bot API sends, Telegram's overall limit) and
-- 'outbox' (the pace of broadcasts and reminders). Processes take a few tokens at a time.
CREATE TABLE rate_buckets (
    name       TEXT COLLATE "C" PRIMARY KEY,
    tokens     DOUBLE PRECISION NOT NULL,  -- below zero while a flood wait asked by Telegram lasts
    updated_at DOUBLE PRECISION NOT NULL   -- when `tokens` was last refilled
);

-- The per-person flood limit: each person's bucket and the verdict on their last update.
CREATE TABLE flood_buckets (
    telegram_id BIGINT PRIMARY KEY,
    tokens      DOUBLE PRECISION NOT NULL,
    updated_at  DOUBLE PRECISION NOT NULL,
    verdict     TEXT COLLATE "C" NOT NULL DEFAULT 'serve'
                  CHECK (verdict IN ('serve', 'warn', 'drop'))
);
