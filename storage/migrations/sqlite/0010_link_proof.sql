-- Linking a Telegram account to a worker needs proof, not knowledge. A NIK is no secret and the
-- birth date is written inside it, so the old "NIK + birth date" link proved nothing. From now
-- on a link records its proof: 'phone' (a contact the account shared with Telegram's own
-- share-contact button, matching the phone on record), 'kpj' (the 11-digit membership number
-- matching that NIK), 'code' (a one-time code confirmed by the worker's cadre or a reviewer of
-- the district), or 'own' (the worker's own account).
--
-- Existing links were all made by NIK + birth date alone. The only ones kept are links of an
-- account to the registration it itself submitted as the worker (proof 'own': that account is
-- the worker's own anyway); every other old link is dropped, and its account has to link again
-- with a real proof.
CREATE TABLE member_links_new (
    telegram_id INTEGER PRIMARY KEY,
    nik_hash    TEXT NOT NULL,
    proof       TEXT NOT NULL CHECK (proof IN ('own', 'phone', 'kpj', 'code')),
    linked_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
);
INSERT INTO member_links_new(telegram_id, nik_hash, proof, linked_at)
    SELECT l.telegram_id, l.nik_hash, 'own', l.linked_at
    FROM member_links AS l
    WHERE EXISTS (SELECT 1 FROM registrations AS r
                  WHERE r.nik_hash = l.nik_hash AND r.status != 'draft'
                    AND (r.worker_telegram_id = l.telegram_id
                         OR (r.for_self = 1 AND r.operator_id = l.telegram_id)));
DROP TABLE member_links;
ALTER TABLE member_links_new RENAME TO member_links;
CREATE INDEX member_links_by_nik ON member_links(nik_hash);

-- A request to link by a one-time code: the account asking gets the code, the worker's cadre or a
-- reviewer of the district types it after checking the person. The code is stored only as a
-- salted SHA-256 digest and expires; wrong codes are counted so that it cannot be guessed.
CREATE TABLE link_requests (
    id             INTEGER PRIMARY KEY,
    telegram_id    INTEGER NOT NULL,          -- the account asking to be linked
    nik_hash       TEXT NOT NULL,
    code_salt      BLOB NOT NULL,
    code_digest    TEXT NOT NULL,             -- sha256(salt || code), hex
    kabupaten_code TEXT,                      -- whose reviewers may confirm
    cadre_id       INTEGER,                   -- the cadre who registered the worker, if any
    status         TEXT NOT NULL DEFAULT 'open'
                     CHECK (status IN ('open', 'confirmed', 'refused', 'replaced')),
    wrong_codes    INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
    expires_at     TEXT NOT NULL,
    decided_by     INTEGER,
    decided_at     TEXT
);
CREATE INDEX link_requests_open ON link_requests(status, expires_at);
CREATE INDEX link_requests_by_user ON link_requests(telegram_id, status);

-- The outbox accepts 'notice' (link requests and new links told to the worker and their cadre).
-- Rebuilt as in 0009: SQLite cannot change a CHECK in place; reminder links are kept aside.
CREATE TEMP TABLE reminder_outbox_links AS
    SELECT id, outbox_id FROM reminders_sent WHERE outbox_id IS NOT NULL;

CREATE TABLE outbox_new (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN
                   ('broadcast', 'reminder', 'report', 'terdaftar', 'notice')),
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
