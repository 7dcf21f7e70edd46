-- A registration: a draft while it is being filled in, then a submission the district reviews.
-- NIK and phone are stored encrypted (AES-256-GCM) and looked up by keyed hash (HMAC-SHA256).
CREATE TABLE registrations (
    id                   INTEGER PRIMARY KEY,
    ref                  TEXT UNIQUE,              -- reference number, given on submission
    status               TEXT NOT NULL DEFAULT 'draft' CHECK (status IN
                           ('draft', 'diajukan', 'perlu_perbaikan', 'disetujui', 'ditolak',
                            'terdaftar')),
    step                 TEXT,                     -- the question a draft waits for
    editing              INTEGER NOT NULL DEFAULT 0,  -- 1: return to the summary after the answer
    scratch              TEXT NOT NULL DEFAULT '{}',  -- JSON: paging, partial dates
    operator_id          INTEGER NOT NULL,         -- Telegram id of who fills it in
    for_self             INTEGER CHECK (for_self IN (0, 1)),
    worker_telegram_id   INTEGER,                  -- the worker's own Telegram id, when self
    consent_version      TEXT,
    consent_at           TEXT,
    nik_enc              BLOB,
    nik_hash             TEXT,
    nik_masked           TEXT,                     -- 1210********0003, safe for lists and logs
    name                 TEXT,
    birth_date           TEXT,                     -- ISO date
    sex                  TEXT CHECK (sex IN ('L', 'P')),
    mother_name          TEXT,
    phone_enc            BLOB,
    phone_hash           TEXT,
    kabupaten_code       TEXT,
    kecamatan_code       TEXT,
    desa_code            TEXT,
    occupation           TEXT,
    occupation_other     TEXT,
    income               INTEGER,                  -- reported monthly income, rupiah
    income_base          INTEGER,                  -- dasar penghasilan of its bracket
    programs             TEXT CHECK (programs IN ('JKK_JKM', 'JKK_JKM_JHT')),
    monthly_contribution INTEGER,
    table_version        TEXT,                     -- contribution table version used
    pay_period_months    INTEGER CHECK (pay_period_months IN (1, 3, 6, 12)),
    payer                TEXT CHECK (payer IN ('sendiri', 'program')),
    sumber_iuran         TEXT,                     -- funding source; 'mandiri' or set on approval
    heir_name            TEXT,
    heir_relation        TEXT,
    flags                TEXT NOT NULL DEFAULT '[]',  -- JSON list of flag codes for the reviewer
    submitted_at         TEXT,
    reviewed_by          INTEGER,
    reviewed_at          TEXT,
    reason               TEXT,
    kpj                  TEXT,
    reminded_at          TEXT,                     -- last idle-draft reminder
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
    updated_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
);

-- One live registration per NIK: a second submission is refused with the first one's status.
CREATE UNIQUE INDEX registrations_one_open_per_nik ON registrations(nik_hash)
    WHERE status IN ('diajukan', 'perlu_perbaikan', 'disetujui', 'terdaftar');
-- One draft per person filling in (a cadre finishes one worker before the next).
CREATE UNIQUE INDEX registrations_one_draft_per_operator ON registrations(operator_id)
    WHERE status = 'draft';
CREATE INDEX registrations_queue ON registrations(kabupaten_code, status, submitted_at);
CREATE INDEX registrations_desa ON registrations(desa_code, status);
CREATE INDEX registrations_operator ON registrations(operator_id, status);
CREATE INDEX registrations_phone ON registrations(phone_hash);
CREATE INDEX registrations_worker ON registrations(worker_telegram_id);
CREATE INDEX registrations_idle_drafts ON registrations(status, updated_at);
