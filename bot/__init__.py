"""Jaga Pekerja: BPJS Ketenagakerjaan registration and help for informal workers, by Telegram."""
