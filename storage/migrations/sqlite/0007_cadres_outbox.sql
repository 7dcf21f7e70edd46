-- Village cadres (invite links, their names), broadcasts, the outbox every paced message goes
-- through, the reminders already sent, and who does not want (or cannot get) broadcasts.

-- An invite link t.me/<bot>?start=<code>: opened and confirmed once, it makes a cadre of a desa.
CREATE TABLE cadre_invites (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    desa_code   TEXT NOT NULL,
    created_by  INTEGER NOT NULL,             -- the reviewer or admin
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
    expires_at  TEXT NOT NULL,                -- UTC ISO
    revoked_at  TEXT,
    used_by     INTEGER,                      -- the cadre who joined with it (single use)
    used_at     TEXT
);
CREATE INDEX cadre_invites_by_desa ON cadre_invites(desa_code);

-- A cadre's confirmed name per desa (the role itself is a row in `roles`).
CREATE TABLE cadres (
    telegram_id INTEGER NOT NULL,
    desa_code   TEXT NOT NULL,
    name        TEXT NOT NULL,
    invite_id   INTEGER REFERENCES cadre_invites(id),
    joined_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
    PRIMARY KEY (telegram_id, desa_code)
);
CREATE INDEX cadres_by_desa ON cadres(desa_code);

-- Broadcast opt-out (/berhenti … /mulai), a 403 from Telegram (cleared when they write again),
-- and the invite code a person is confirming their name for, with the name shown to them.
ALTER TABLE users ADD COLUMN broadcasts_off_at TEXT;
ALTER TABLE users ADD COLUMN blocked_at TEXT;
ALTER TABLE users ADD COLUMN pending_invite TEXT;
ALTER TABLE users ADD COLUMN pending_cadre_name TEXT;

-- A broadcast: written step by step as a draft, then queued (one outbox row per recipient).
CREATE TABLE broadcasts (
    id                  INTEGER PRIMARY KEY,
    author_id           INTEGER NOT NULL,
    status              TEXT NOT NULL DEFAULT 'draft' CHECK (status IN
                          ('draft', 'scheduled', 'sending', 'done', 'cancelled')),
    step                TEXT,                 -- the question a draft waits for
    text                TEXT,
    audience            TEXT,                 -- 'cadres', 'workers' or 'all'
    worker_state        TEXT,                 -- a registration status, 'any' or NULL
    region_code         TEXT,
    send_at             TEXT,                 -- UTC with milliseconds, as the outbox; NULL: now
    recipients          INTEGER NOT NULL DEFAULT 0,
    progress_chat_id    INTEGER,              -- the author's progress line, edited in place
    progress_message_id INTEGER,
    progress_at         TEXT,
    created_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
    queued_at           TEXT,
    finished_at         TEXT
);
CREATE UNIQUE INDEX broadcasts_one_draft ON broadcasts(author_id) WHERE status = 'draft';
CREATE INDEX broadcasts_by_author ON broadcasts(author_id, id);
CREATE INDEX broadcasts_running ON broadcasts(status) WHERE status IN ('scheduled', 'sending');

-- One message to one chat. pending → sending (claimed, with a lease) → sent | failed | blocked |
-- skipped. A row left 'sending' by a killed process is claimed again once its lease lapses.
-- Times here are UTC with milliseconds (2026-01-05T01:02:03.456Z) so that they sort as text.
CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('broadcast', 'reminder', 'report')),
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
CREATE UNIQUE INDEX outbox_once_per_broadcast ON outbox(broadcast_id, chat_id)
    WHERE broadcast_id IS NOT NULL AND kind = 'broadcast';
CREATE INDEX outbox_due ON outbox(not_before, id) WHERE status = 'pending';
CREATE INDEX outbox_leased ON outbox(lease_until) WHERE status = 'sending';
CREATE INDEX outbox_by_broadcast ON outbox(broadcast_id, status);

-- Reminders already queued: the key makes each one happen once (per week, per fix request …).
CREATE TABLE reminders_sent (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('protection', 'fix', 'draft', 'cadre_summary')),
    subject      TEXT NOT NULL,               -- a NIK hash, registration id or cadre id + desa
    period       TEXT NOT NULL,               -- what makes it due again (week, fix request …)
    recipient_id INTEGER NOT NULL,
    outbox_id    INTEGER REFERENCES outbox(id) ON DELETE SET NULL,
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
    UNIQUE (kind, subject, period)
);
CREATE INDEX reminders_sent_recent ON reminders_sent(kind, subject, created_at);
