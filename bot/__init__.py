"""Jaga Pekerja: BPJS Ketenagakerjaan registration and help for informal workers, by Telegram."""

import os

# Opt in to python-telegram-bot's coming behaviour (durations such as RetryAfter.retry_after as
# datetime.timedelta); without it PTB 22 warns on every flood error, and warnings are errors in
# our tests. Our code reads both forms.
os.environ.setdefault("PTB_TIMEDELTA", "true")
