-- Cadres at scale: an invite admits up to max_uses cadres; who joined with which invite; names
-- of role holders granted on the command line; cadres imported by phone number, waiting until
-- they share that number with the bot; the command menu last set for each role holder's chat.

-- An invite admits `max_uses` cadres (1 for the links made before this migration). `used_at`
-- now marks the moment the last place was taken, `used_by` the last person who joined.
ALTER TABLE cadre_invites ADD COLUMN max_uses INTEGER NOT NULL DEFAULT 1
    CHECK (max_uses BETWEEN 1 AND 100);
ALTER TABLE cadre_invites ADD COLUMN uses INTEGER NOT NULL DEFAULT 0;
UPDATE cadre_invites SET uses = 1 WHERE used_at IS NOT NULL;

-- Each person who joined with an invite, once (a second press does not take a second place).
CREATE TABLE cadre_invite_uses (
    invite_id   INTEGER NOT NULL REFERENCES cadre_invites(id) ON DELETE CASCADE,
    telegram_id INTEGER NOT NULL,
    used_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
    PRIMARY KEY (invite_id, telegram_id)
);
INSERT INTO cadre_invite_uses(invite_id, telegram_id, used_at)
    SELECT id, used_by, used_at FROM cadre_invites WHERE used_by IS NOT NULL;

-- The name shown for a role holder who did not join by invite: given with `jaga grant --name`,
-- or their Telegram name, recorded the next time they write (only for people holding a role).
ALTER TABLE users ADD COLUMN display_name TEXT;

-- Cadres imported with a phone number only (`jaga import cadres`): the role is granted when
-- someone shares that number as their own contact in /kader. Only a keyed hash is stored.
CREATE TABLE cadre_pending (
    phone_hash   TEXT NOT NULL,
    desa_code    TEXT NOT NULL,
    name         TEXT NOT NULL,
    imported_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
    claimed_by   INTEGER,
    claimed_at   TEXT,
    PRIMARY KEY (phone_hash, desa_code)
);
CREATE INDEX cadre_pending_open ON cadre_pending(phone_hash) WHERE claimed_at IS NULL;

-- The command menu last set for a role holder's private chat (a Telegram chat scope), so that
-- start-up only sets what changed and removes the menus of people whose roles ended. Per bot
-- (the id in its token): `jaga console` on the same database must not stand in for Telegram.
CREATE TABLE command_scopes (
    bot_id      INTEGER NOT NULL,
    telegram_id INTEGER NOT NULL,
    menu        TEXT NOT NULL,                -- audience, language and the commands listed
    set_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
    PRIMARY KEY (bot_id, telegram_id)
);
