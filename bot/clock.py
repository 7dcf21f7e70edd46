"""Local time: Indonesia's western zone (WIB, UTC+7, no daylight saving) for every date shown."""

from __future__ import annotations

import datetime as dt

WIB = dt.timezone(dt.timedelta(hours=7), "WIB")


def now() -> dt.datetime:
    """The current time in WIB."""
    return dt.datetime.now(WIB)


def today() -> dt.date:
    """Today's date in WIB."""
    return now().date()


def utc_iso(moment: dt.datetime) -> str:
    """A moment as stored in the database: UTC, second precision, `Z`."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
