-- Membership and claim data imported from BPJS branch extracts (jaga import members|claims),
-- the Telegram accounts linked to a worker, status lookups (rate limit), the state of the
-- status/claims/iuran/answer flows, notices waiting to be sent, and questions for the district.

-- One row per member (NIK), upserted by each import. NIK encrypted, found by keyed hash.
CREATE TABLE members (
    nik_hash        TEXT PRIMARY KEY,
    nik_enc         BLOB NOT NULL,
    nik_masked      TEXT NOT NULL,
    kpj             TEXT NOT NULL UNIQUE CHECK (length(kpj) = 11),
    programs        TEXT NOT NULL CHECK (programs IN ('JKK_JKM', 'JKK_JKM_JHT')),
    protected_until TEXT NOT NULL,            -- ISO date, last day of cover paid for
    last_paid       TEXT,                     -- ISO date of the last payment, if known
    status          TEXT NOT NULL CHECK (status IN ('aktif', 'nonaktif', 'berakhir')),
    birth_date      TEXT,                     -- ISO date, when the extract has it
    imported_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
    updated_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
);

-- One row per claim number, upserted by each import; matched to a worker by NIK hash or KPJ.
CREATE TABLE claims (
    claim_no    TEXT PRIMARY KEY,
    nik_hash    TEXT,
    kpj         TEXT,
    type        TEXT NOT NULL CHECK (type IN ('JHT', 'JKK', 'JKM', 'BEASISWA')),
    status      TEXT NOT NULL CHECK (status IN
                  ('diajukan', 'diverifikasi', 'diproses', 'disetujui', 'ditolak', 'dibayar')),
    status_date TEXT NOT NULL,                -- ISO date of the last change
    amount_paid INTEGER CHECK (amount_paid >= 0),
    imported_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
    CHECK (nik_hash IS NOT NULL OR kpj IS NOT NULL)
);
CREATE INDEX claims_by_nik ON claims(nik_hash);
CREATE INDEX claims_by_kpj ON claims(kpj);

-- A Telegram account that proved NIK + birth date once: /status and /klaim show that worker.
CREATE TABLE member_links (
    telegram_id INTEGER PRIMARY KEY,
    nik_hash    TEXT NOT NULL,
    linked_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
);

-- Every NIK + birth date check and claim-number lookup, for the per-user hourly limit.
CREATE TABLE status_lookups (
    id          INTEGER PRIMARY KEY,
    telegram_id INTEGER NOT NULL,
    at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
);
CREATE INDEX status_lookups_by_user ON status_lookups(telegram_id, at);

-- The step a person is at in the status, claims, iuran or answer flows (users.active_flow
-- names the flow; this row holds its answers so far).
CREATE TABLE membership_flow_state (
    telegram_id INTEGER PRIMARY KEY,
    flow        TEXT NOT NULL,
    step        TEXT NOT NULL,
    data        TEXT NOT NULL DEFAULT '{}',   -- JSON; never a NIK in clear
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
);

-- Messages for a person that an import (outside the bot process) decided to send.
CREATE TABLE member_notices (
    id          INTEGER PRIMARY KEY,
    telegram_id INTEGER NOT NULL,
    kind        TEXT NOT NULL,                -- e.g. 'terdaftar'
    params      TEXT NOT NULL DEFAULT '{}',   -- JSON
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
    sent_at     TEXT,
    failed      INTEGER NOT NULL DEFAULT 0     -- 1: the person blocked the bot
);
CREATE INDEX member_notices_pending ON member_notices(id) WHERE sent_at IS NULL AND failed = 0;

-- Questions the bot could not answer, passed on to the asker's cadre or district.
CREATE TABLE questions (
    id          INTEGER PRIMARY KEY,
    asker_id    INTEGER NOT NULL,
    text        TEXT NOT NULL,
    region_code TEXT,                         -- desa (or kabupaten) of the asker, when known
    status      TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'open', 'answered')),
    answer      TEXT,
    answered_by INTEGER,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
    forwarded_at TEXT,
    answered_at TEXT
);
CREATE INDEX questions_open ON questions(status, region_code);
CREATE INDEX questions_by_asker ON questions(asker_id, status);
