"""Dates a user gives: `report --since/--until`, `export --period`, a budget's ``start`` (flag,
config.toml or the TUI's form). Each is kept to the days tokentop can store, so no date
arithmetic on it (the day after, a week back, an epoch timestamp in any zone) can overflow.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from tokentui.core.records import MAX_TS_MS, MIN_TS_MS

#: the first and last day a record can fall on (records outside them are never stored)
FIRST_DAY = datetime.fromtimestamp(MIN_TS_MS / 1000, timezone.utc).date()
LAST_DAY = datetime.fromtimestamp(MAX_TS_MS / 1000, timezone.utc).date() - timedelta(days=1)


class DateRangeError(ValueError):
    """A well-formed date outside :data:`FIRST_DAY` … :data:`LAST_DAY`; the message says so."""


def check_day(day: date, what: str) -> date:
    """``day`` when it lies in the range tokentop stores, else :class:`DateRangeError` naming
    ``what`` (the flag or key it came from)."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise DateRangeError(f"{what}: {day.isoformat()} is outside the dates tokentop keeps "
                             f"({FIRST_DAY.isoformat()} … {LAST_DAY.isoformat()})")
    return day


def parse_day(text: str, what: str) -> date:
    """``YYYY-MM-DD`` or ``YYYYMMDD`` in the stored range. A malformed date raises a plain
    ``ValueError``; one outside the range raises :class:`DateRangeError`."""
    t = text.strip()
    if len(t) == 8 and t.isdigit():
        t = f"{t[:4]}-{t[4:6]}-{t[6:]}"
    return check_day(date.fromisoformat(t), what)
