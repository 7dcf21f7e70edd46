-- The PostgreSQL form of the SQLite migration 0016_whatsapp_applied: every write transaction of
-- a WhatsApp message's handling sets `applied_at` (storage/db.py `handling_row`), so a process
-- taking the message over after a crash asks the person's current question again instead of
-- handling it a second time.
ALTER TABLE whatsapp_inbox ADD COLUMN applied_at TEXT COLLATE "C";
