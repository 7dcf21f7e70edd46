-- The district review desk: funding programs and their quotas, the decision on a registration
-- (program, sponsor, a short lock while one reviewer has the card open), requests to fix fields,
-- the P3KE/DTSEN decile list (keyed NIK hashes only) and each reviewer's unfinished step.

CREATE TABLE funding_programs (
    id             INTEGER PRIMARY KEY,
    name           TEXT NOT NULL,
    source_type    TEXT NOT NULL CHECK (source_type IN
                     ('mandiri', 'apbd_kabupaten', 'apbd_provinsi', 'dbh_sawit', 'apbdes',
                      'csr_sertakan', 'donatur')),
    region_code    TEXT NOT NULL,             -- province, kabupaten, kecamatan or desa it pays for
    quota          INTEGER NOT NULL CHECK (quota >= 0),
    quota_per_desa INTEGER CHECK (quota_per_desa IS NULL OR quota_per_desa > 0),
    starts_on      TEXT NOT NULL,             -- coverage period, ISO dates, inclusive
    ends_on        TEXT NOT NULL,
    closed_at      TEXT,                      -- closed programs take no new approvals
    created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
    CHECK (ends_on >= starts_on)
);
CREATE INDEX funding_programs_region ON funding_programs(region_code) WHERE closed_at IS NULL;

ALTER TABLE registrations ADD COLUMN funding_program_id INTEGER REFERENCES funding_programs(id);
ALTER TABLE registrations ADD COLUMN sponsor TEXT;       -- SERTAKAN: who pays for this worker
ALTER TABLE registrations ADD COLUMN reason_code TEXT;   -- rejection reason code (reason: text)
ALTER TABLE registrations ADD COLUMN locked_by INTEGER;  -- reviewer who has the card open
ALTER TABLE registrations ADD COLUMN locked_until TEXT;  -- ISO time the lock lapses

CREATE INDEX registrations_program ON registrations(funding_program_id, status, desa_code);

-- "Minta perbaikan": the fields the worker must answer again; done_at is set on resubmission.
CREATE TABLE fix_requests (
    id              INTEGER PRIMARY KEY,
    registration_id INTEGER NOT NULL REFERENCES registrations(id) ON DELETE CASCADE,
    fields          TEXT NOT NULL,            -- JSON list of field group names
    note            TEXT NOT NULL DEFAULT '',
    requested_by    INTEGER NOT NULL,
    requested_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
    done_at         TEXT
);
CREATE UNIQUE INDEX fix_requests_one_open ON fix_requests(registration_id) WHERE done_at IS NULL;

-- P3KE / DTSEN welfare deciles by keyed NIK hash (the same hash as registrations.nik_hash).
CREATE TABLE p3ke (
    nik_hash TEXT PRIMARY KEY,
    decile   INTEGER NOT NULL CHECK (decile BETWEEN 1 AND 10)
) WITHOUT ROWID;

CREATE TABLE p3ke_imports (
    id          INTEGER PRIMARY KEY,
    source      TEXT NOT NULL,                -- file name
    rows        INTEGER NOT NULL,
    imported_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
);

-- A reviewer's unfinished step (waiting for a note or sponsor name) and their queue filter.
CREATE TABLE review_steps (
    reviewer_id     INTEGER PRIMARY KEY,
    decile_only     INTEGER NOT NULL DEFAULT 0 CHECK (decile_only IN (0, 1)),
    registration_id INTEGER REFERENCES registrations(id) ON DELETE SET NULL,
    action          TEXT CHECK (action IN ('reject', 'fix', 'sponsor')),
    program_id      INTEGER,
    reason_code     TEXT,
    fields          TEXT NOT NULL DEFAULT '[]',
    updated_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
);
