-- A WhatsApp message whose answer is committed is never applied twice: every write transaction
-- of its handling sets `applied_at` (storage/db.py `handling_row`), so a process taking the
-- message over after a crash asks the person's current question again instead of handling it.
ALTER TABLE whatsapp_inbox ADD COLUMN applied_at TEXT;
