-- The webhook inbox (PostgreSQL with several `jaga run --webhook` processes; the same table on
-- SQLite keeps both schemas equal). An update is stored on arrival, once per update_id, then
-- claimed with a lease by any process, one person's updates strictly one after another.
-- `applied_at`: a write transaction of its handling committed (the answer is stored), so a
-- process taking the update over after a crash does not handle it again. Times are UTC with
-- milliseconds (2026-01-05T01:02:03.456Z) so that they sort as text.
CREATE TABLE inbox (
    update_id   INTEGER PRIMARY KEY,  -- Telegram's; a retried delivery is the same update
    person      INTEGER NOT NULL,     -- the user's id, else the chat's, else 0
    body        TEXT NOT NULL,        -- the update as Telegram posted it (JSON)
    received_at TEXT NOT NULL,
    claimed_by  TEXT,                 -- the process handling it
    lease_until TEXT,                 -- after this another process may take it over
    applied_at  TEXT,
    done_at     TEXT                  -- handled; the row is deleted a day later
);
-- Claiming: each person's oldest update not yet done.
CREATE INDEX inbox_open ON inbox(person, update_id) WHERE done_at IS NULL;
CREATE INDEX inbox_done ON inbox(done_at) WHERE done_at IS NOT NULL;
