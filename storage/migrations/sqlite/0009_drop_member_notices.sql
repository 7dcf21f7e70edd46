-- Imports no longer keep their own queue of messages: `jaga import members` puts "now
-- terdaftar" messages in the outbox (kind 'terdaftar'), which the paced sender delivers.

DROP INDEX IF EXISTS member_notices_pending;
DROP TABLE IF EXISTS member_notices;

-- The outbox accepts the new kind. SQLite cannot change a CHECK in place, so the table is
-- rebuilt with the same columns, rows and indexes. Dropping the old table runs its
-- ON DELETE SET NULL on reminders_sent.outbox_id (foreign keys stay on during migrations),
-- so those links are kept aside and put back.
CREATE TEMP TABLE reminder_outbox_links AS
    SELECT id, outbox_id FROM reminders_sent WHERE outbox_id IS NOT NULL;

CREATE TABLE outbox_new (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('broadcast', 'reminder', 'report', 'terdaftar')),
    broadcast_id INTEGER REFERENCES broadcasts(id) ON DELETE CASCADE,
    chat_id      INTEGER NOT NULL,
    text         TEXT,                        -- NULL: the broadcast's text
    buttons      TEXT,                        -- JSON [[label, callback data], …] or NULL
    status       TEXT NOT NULL DEFAULT 'pending' CHECK (status IN
                   ('pending', 'sending', 'sent', 'failed', 'blocked', 'skipped')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    not_before   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    claimed_at   TEXT,
    lease_until  TEXT,
    done_at      TEXT,
    error        TEXT,
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
INSERT INTO outbox_new(id, kind, broadcast_id, chat_id, text, buttons, status, attempts,
                       not_before, claimed_at, lease_until, done_at, error, created_at)
    SELECT id, kind, broadcast_id, chat_id, text, buttons, status, attempts,
           not_before, claimed_at, lease_until, done_at, error, created_at
    FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;

CREATE UNIQUE INDEX outbox_once_per_broadcast ON outbox(broadcast_id, chat_id)
    WHERE broadcast_id IS NOT NULL AND kind = 'broadcast';
CREATE INDEX outbox_due ON outbox(not_before, id) WHERE status = 'pending';
CREATE INDEX outbox_leased ON outbox(lease_until) WHERE status = 'sending';
CREATE INDEX outbox_by_broadcast ON outbox(broadcast_id, status);

UPDATE reminders_sent
    SET outbox_id = (SELECT l.outbox_id FROM reminder_outbox_links AS l
                     WHERE l.id = reminders_sent.id)
    WHERE id IN (SELECT id FROM reminder_outbox_links);
DROP TABLE reminder_outbox_links;
