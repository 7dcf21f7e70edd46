-- Who may do what where: admins everywhere, reviewers for a kabupaten, cadres for a desa.
-- Admins listed in JAGA_ADMINS need no row. Revoking keeps the row (audit): revoked_at is set.
CREATE TABLE roles (
    id          INTEGER PRIMARY KEY,
    telegram_id INTEGER NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('admin', 'reviewer', 'cadre')),
    region_code TEXT NOT NULL,
    granted_by  TEXT NOT NULL,                 -- 'cli' or the granting admin's Telegram id
    granted_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
    revoked_at  TEXT
);
CREATE UNIQUE INDEX roles_active ON roles(telegram_id, role, region_code) WHERE revoked_at IS NULL;
CREATE INDEX roles_by_region ON roles(role, region_code) WHERE revoked_at IS NULL;
