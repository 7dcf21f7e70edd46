-- WhatsApp (Business Cloud API) as a second channel (handlers/whatsapp/). A WhatsApp person's id
-- is 10**16 + their wa_id (bot/channels.py), used as telegram_id/chat_id everywhere else.
-- Times are UTC with milliseconds (2026-01-05T01:02:03.456Z) so that they sort as text.

-- Incoming webhook events, stored on arrival once per WhatsApp message id (Meta redelivers an
-- event until the webhook answers 200), handled in arrival order, replayed after a crash.
-- `event` holds what the person sent: it is cleared as soon as the event is handled.
CREATE TABLE whatsapp_inbox (
    seq         INTEGER PRIMARY KEY,
    message_id  TEXT NOT NULL UNIQUE,  -- WhatsApp's message id (wamid): the dedupe key
    person      INTEGER NOT NULL,
    event       TEXT,                  -- the incoming event (JSON); NULL once done
    received_at TEXT NOT NULL,
    lease_until TEXT,                  -- the process handling it; another may take it after
    done_at     TEXT
);
CREATE INDEX whatsapp_inbox_pending ON whatsapp_inbox(seq) WHERE done_at IS NULL;
CREATE INDEX whatsapp_inbox_done ON whatsapp_inbox(done_at) WHERE done_at IS NOT NULL;

-- The customer service window: a business may send free-form messages only within 24 hours of
-- the person's last message; outside it only an approved template ("WhatsApp Business
-- Platform: Customer service windows").
CREATE TABLE whatsapp_contacts (
    person          INTEGER PRIMARY KEY,
    last_inbound_at TEXT NOT NULL
);

-- Messages the bot sent on WhatsApp: the id reported to the flows as the sent message's id,
-- and the choices (buttons, list rows) it offered, so that a reply to it can be read back.
-- AUTOINCREMENT: an id is never reused after old rows are purged (a late reply to a purged
-- message must not match a newer one).
CREATE TABLE whatsapp_messages (
    message_id INTEGER PRIMARY KEY AUTOINCREMENT,
    person     INTEGER NOT NULL,
    wamid      TEXT,                   -- WhatsApp's id of the sent message, once sent
    choices    TEXT NOT NULL,          -- JSON
    created_at TEXT NOT NULL
);
CREATE INDEX whatsapp_messages_wamid ON whatsapp_messages(wamid);
CREATE INDEX whatsapp_messages_created ON whatsapp_messages(created_at);

-- The outbox learns which message a row became, and the channel's delivery report of it
-- ('sent', 'delivered', 'read', 'failed': WhatsApp's status webhooks).
ALTER TABLE outbox ADD COLUMN sent_message_id INTEGER;
ALTER TABLE outbox ADD COLUMN delivery TEXT
    CHECK (delivery IN ('sent', 'delivered', 'read', 'failed'));
CREATE INDEX outbox_sent_message ON outbox(chat_id, sent_message_id)
    WHERE sent_message_id IS NOT NULL;
