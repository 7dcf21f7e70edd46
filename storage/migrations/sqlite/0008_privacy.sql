-- Data-subject requests under UU 27/2022 (/data_saya): corrections and consent withdrawals.
-- Rows outlive the registration they concern (no foreign key) and hold no NIK or phone in clear:
-- the correction text, which a person may write anything into, is stored encrypted.
CREATE TABLE privacy_requests (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('correction', 'withdrawal')),
    registration_id INTEGER,                  -- may no longer exist after a deletion
    ref             TEXT,                     -- the reference number, kept for the record
    kabupaten_code  TEXT,                     -- whose reviewers handle a correction
    requested_by    INTEGER NOT NULL,         -- Telegram id of the worker or their cadre
    on_behalf       INTEGER NOT NULL DEFAULT 0 CHECK (on_behalf IN (0, 1)),  -- 1: by the cadre
    text_enc        BLOB,                     -- correction: what is wrong, encrypted
    outcome         TEXT NOT NULL CHECK (outcome IN ('open', 'done', 'deleted', 'anonymised')),
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
    resolved_at     TEXT,
    resolved_by     INTEGER
);
CREATE INDEX privacy_requests_open ON privacy_requests(kind, outcome, kabupaten_code);
CREATE INDEX privacy_requests_registration ON privacy_requests(registration_id);

-- Where a person is in /data_saya (state in the database, like every flow). `verified_id` is the
-- registration a cadre proved they registered (NIK + birth date); `attempts` counts failed proofs
-- since `attempts_since` and survives /batal, so the birth date cannot be guessed by retrying.
CREATE TABLE privacy_sessions (
    telegram_id     INTEGER PRIMARY KEY,
    step            TEXT CHECK (step IN ('nik', 'birth_date', 'correction')),
    nik_hash        TEXT,                     -- the NIK a cadre typed, hashed, until checked
    verified_id     INTEGER,
    correction_id   INTEGER,                  -- the registration a correction is written for
    attempts        INTEGER NOT NULL DEFAULT 0,
    attempts_since  TEXT,
    updated_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
);
