-- Every status change of a registration: who, when, from, to, why. Rows are never updated.
CREATE TABLE registration_events (
    id              INTEGER PRIMARY KEY,
    registration_id INTEGER NOT NULL REFERENCES registrations(id) ON DELETE CASCADE,
    actor           TEXT NOT NULL,            -- a Telegram id, 'cli', 'import' or 'system'
    from_status     TEXT,
    to_status       TEXT NOT NULL,
    reason          TEXT,                     -- no NIK or phone in clear here
    at              TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX registration_events_by_registration ON registration_events(registration_id, id);
CREATE TRIGGER registration_events_append_only BEFORE UPDATE ON registration_events
BEGIN
    SELECT RAISE(ABORT, 'registration_events is append-only');
END;
