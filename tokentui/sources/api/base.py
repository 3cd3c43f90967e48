"""What every API source shares: the poll window, the context a fetch gets, what it returns,
strict-but-tolerant field readers, and the cost estimate used where no billed cost exists.

Windows are whole UTC days. The first poll fetches ``backfill_days`` (today included);
later polls re-fetch the last :data:`RECENT_DAYS` days (providers revise recent buckets),
reaching further back when the previous successful poll is older than that, so a gap
while tokentop was not running is filled.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from tokentui.core.pricing import Pricer
from tokentui.core.records import ESTIMATED, MAX_BUCKET_TOKENS, MAX_TS_MS, MIN_TS_MS, UNPRICED, to_pico
from tokentui.sources.api.http import MAX_PAGES, Malformed

DAY_S = 86400
MAX_DIGITS = 15  # amounts of 10^15 or more: no real balance or cost line comes near; the data is bad
MAX_PICO = 2**63 - 1  # SQLite INTEGER
RECENT_DAYS = 3  # today and the 2 days before (providers.md §0 rule 5)


@dataclass(frozen=True)
class Window:
    """UTC days ``start`` … ``end`` (both inclusive)."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def start_ts(self) -> int:
        return day_ts(self.start)

    @property
    def end_ts(self) -> int:
        """Exclusive end: midnight after ``end``."""
        return day_ts(self.end) + DAY_S

    def each_day(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]


def plan_window(today: date, backfill_days: int, covered_from: date | None, last_ok: date | None) -> Window:
    """The days to fetch now.

    ``covered_from`` is the earliest day a previous successful poll fetched and ``last_ok``
    the day of that poll (both None before the first success). Backfill happens when
    nothing is covered yet or the configured backfill reaches further back than before.
    """
    want = today - timedelta(days=max(1, backfill_days) - 1)
    if covered_from is None or last_ok is None or want < covered_from:
        return Window(want, today)
    recent = min(today, last_ok) - timedelta(days=RECENT_DAYS - 1)
    return Window(max(want, recent), today)


def page_cap(window: Window, per_page: int) -> int:
    """Pages a listing of ``window``'s daily buckets may take: the pages the window needs (the
    longest ``backfill_days``, 3,660, is 119 pages of 31) on top of the usual loop guard."""
    return MAX_PAGES + -(-window.days // max(1, per_page))


def day_ts(d: date) -> int:
    return int(datetime.combine(d, time(0), timezone.utc).timestamp())


def floor_day(ts: int) -> int:
    """Unix seconds snapped down to UTC midnight (an unaligned first bucket joins its day)."""
    return ts - ts % DAY_S


def iso_z(ts: int) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class PollContext:
    """Everything a provider's fetch needs besides the HTTP client."""

    source: str
    now: datetime  # aware, UTC
    window: Window
    state: dict[str, str] = field(default_factory=dict)  # this source's stored sync_state
    pricer: Pricer | None = None
    key: str = ""  # only to classify the key kind in explanations; never stored

    @property
    def today(self) -> date:
        return self.now.astimezone(timezone.utc).date()


@dataclass
class Fetched:
    """A provider's result, written by the poll service in one transaction."""

    records: list = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # plain words for the status line
    detail: dict[str, Any] = field(default_factory=dict)  # JSON-able status detail (balances …)
    state: dict[str, str] = field(default_factory=dict)  # sync_state updates
    delete: list[str] = field(default_factory=list)  # ledger keys of this source to remove
    summary: str = ""
    #: why parts of the poll were cut short (plain words); the records above are still kept:
    #: a provider fills this only where what it fetched stays exact without the rest
    incomplete: list[str] = field(default_factory=list)


# --- field readers: missing and null are fine, wrong types are not -------------------------

def obj(x: Any, where: str) -> dict:
    if not isinstance(x, dict):
        raise Malformed(f"{where}: expected an object, got {_kind(x)}")
    return x


def arr(x: Any, where: str) -> list:
    if x is None:
        return []
    if not isinstance(x, list):
        raise Malformed(f"{where}: expected a list, got {_kind(x)}")
    return x


def count(d: dict, name: str, where: str) -> int:
    """A non-negative whole number; missing or null is 0."""
    v = d.get(name)
    if v is None:
        return 0
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (isinstance(v, float) and not v.is_integer()):
        raise Malformed(f"{where}.{name}: expected a whole number, got {v!r:.40}")
    if v < 0:
        raise Malformed(f"{where}.{name}: negative count {v!r}")
    if v > MAX_BUCKET_TOKENS:
        raise Malformed(f"{where}.{name}: {v!r:.40} is implausibly large for one bucket")
    return int(v)


def text(d: dict, name: str, where: str) -> str | None:
    """A dimension value: a string, a bool or number (kept as text) or null."""
    v = d.get(name)
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, (bool, int, float)):
        return json.dumps(v)
    raise Malformed(f"{where}.{name}: expected text, got {_kind(v)}")


def decimal(v: Any, where: str) -> Decimal:
    """A finite amount from a JSON number or a numeric string, exactly (``Decimal(str(x))``)."""
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        raise Malformed(f"{where}: expected an amount, got {_kind(v)}")
    if isinstance(v, float) and not math.isfinite(v):
        raise Malformed(f"{where}: amount is not finite")
    try:
        d = Decimal(str(v).strip())
    except InvalidOperation:
        raise Malformed(f"{where}: {v!r:.40} is not a number") from None
    if not d.is_finite() or (d and d.adjusted() >= MAX_DIGITS):  # adjusted(): no context overflow
        raise Malformed(f"{where}: amount {v!r:.40} is not finite or implausibly large")
    return d


class Negative(ValueError):
    """A billed amount below zero: no cost line, activity row or spend can be negative; the
    line is rejected and counted (:func:`rejected`), never added to a total."""


def billed_amount(amount: Decimal, where: str) -> Decimal:
    """``amount`` when it can be a billed cost; :class:`Negative` when it is below zero."""
    if amount < 0:
        raise Negative(f"{where}: negative amount {amount}")
    return amount


def rejected(out: "Fetched", n: int, what: str) -> None:
    """Say (status message) and count (``skipped_lines``, shown by `tokentop sources`) ``n``
    rejected ``what``."""
    if n:
        out.notes.append(f"{n} {what} with a negative amount were rejected (a cost cannot be negative)")
        out.detail["skipped_lines"] = int(out.detail.get("skipped_lines", 0)) + n


def pico(amount: Decimal, where: str) -> int:
    """Dollars to the store's integer picodollars, refusing what SQLite cannot hold."""
    p = to_pico(amount)
    if abs(p) > MAX_PICO:
        raise Malformed(f"{where}: amount {amount} is too large for one record")
    return p


def _in_range(ts: int, where: str, v: Any) -> int:
    if not MIN_TS_MS // 1000 <= ts < MAX_TS_MS // 1000:
        raise Malformed(f"{where}: {v!r:.40} is not a time between 2000 and 2100")
    return ts


def epoch(v: Any, where: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise Malformed(f"{where}: expected Unix seconds, got {v!r:.40}")
    return _in_range(v, where, v)


def parse_time(v: Any, where: str) -> int:
    """RFC 3339 (``2025-09-01T00:00:00Z``) or a bare date, to Unix seconds (UTC)."""
    if not isinstance(v, str):
        raise Malformed(f"{where}: expected a timestamp, got {_kind(v)}")
    s = v.strip()
    try:
        if len(s) == 10:
            return _in_range(day_ts(date.fromisoformat(s)), where, v)
        dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        ts = int(dt.timestamp())
    except (ValueError, OverflowError):
        raise Malformed(f"{where}: {s!r:.40} is not a date or RFC 3339 time") from None
    return _in_range(ts, where, v)


def _kind(x: Any) -> str:
    return "null" if x is None else type(x).__name__


def raw_json(**parts: Any) -> str:
    """Compact JSON kept with a record so totals can be recomputed later (providers.md §0 rule 7)."""
    return json.dumps(parts, separators=(",", ":"), sort_keys=True, default=str)


def dims(pairs: list[tuple[str, str | None]]) -> str:
    """``name=value|…`` for a natural key; null is empty. ``|`` in a value is escaped."""
    return "|".join(f"{k}={(v or '').replace('|', '%7C')}" for k, v in pairs)


# --- estimated cost where no billed cost covers a bucket ----------------------------------

def estimate(pricer: Pricer | None, model: str | None, inp: int, out: int, cw5m: int = 0, cw1h: int = 0,
             cread: int = 0, *, requests: int = 0, tier_input: int | None = None) -> tuple[int | None, str, str]:
    """``(cost_pico, label, basis)`` for a token bucket that no billed cost covers.

    With a request count, the average request's input picks the long-context tier (genai-
    prices' rule applies tiers per request, never to a bucket's sum); ``tier_input`` stands
    in for it when the provider reports the context window instead; otherwise the base
    tier. A model with no known price is unpriced (None), never $0.
    """
    rates = pricer.rates(model) if pricer else None
    if rates is None:
        return None, UNPRICED, "no price known"
    total_in = inp + cw5m + cw1h + cread
    if requests > 0:
        probe, basis = total_in / requests, "per-request estimate"
    elif tier_input is not None:
        probe, basis = tier_input, "context-window tier estimate"
    else:
        probe, basis = None, "base-tier estimate"
    r = rates.base
    if probe is not None:
        for start, tier in rates.tiers:
            if probe >= start:
                r = tier
    cost = inp * r[0] + out * r[1] + cw5m * r[2] + cw1h * r[3] + cread * r[4]
    return cost, ESTIMATED, basis


@dataclass(frozen=True)
class ApiReader:
    """How one API source is read (each provider module's ``PROVIDER``; the registry names it)."""

    default_base_url: str
    headers: Any  # (key) -> dict of request headers
    fetch: Any  # async (ApiClient, PollContext) -> Fetched
    check: Any  # async (ApiClient, PollContext) -> str: exactly one call, for `keys test`
    explain: Any  # (ApiError, key) -> str: a failure in plain words
    windowed: bool = True  # fetches a day window (False: balance/running totals only)
    team: TeamPull | None = None  # per-person usage for `tokentop team pull` (the registry's team_pull)


@dataclass(frozen=True)
class TeamPull:
    """Reading a team's per-person usage with an admin key."""

    #: async (ApiClient, Window, Pricer, notes to append to) -> {person: PersonUsage}
    pull: Any
    describes: str  # what was read, for the team file's ``source``
    explain: Any = None  # (ApiError) -> a sentence for a failure only a team pull has, or None
