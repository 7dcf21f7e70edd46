-- People the bot has talked to, their language and the flow they are in.
CREATE TABLE users (
    telegram_id INTEGER PRIMARY KEY,
    language    TEXT CHECK (language IN ('id', 'en')),   -- NULL: the deployment default
    active_flow TEXT,                                    -- e.g. 'daftar'; NULL outside a flow
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
);
