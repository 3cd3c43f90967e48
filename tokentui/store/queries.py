"""Reads from the history store: totals grouped by day / week / month / session in a timezone.

SQL sums the ledger into 15-minute UTC buckets; Python maps each bucket to its local period.
Every real UTC offset is a multiple of 15 minutes, so this is exact in any zone, and stored
history is never re-bucketed. API buckets a day wide (UTC midnight to midnight) keep the
calendar date the provider reports them under, in every zone.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Iterable, Sequence
from zoneinfo import ZoneInfo

from tokentui.core.totals import Totals

QUARTER_MS = 15 * 60 * 1000
PERIODS = ("day", "week", "month", "quarter", "year")


@dataclass(frozen=True, slots=True)
class Filter:
    since_ms: int | None = None
    until_ms: int | None = None  # exclusive
    sources: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()  # device names (a record's provenance)
    exact_only: bool = False  # leave out records whose token counts are estimates


def _where(f: Filter) -> tuple[str, list]:
    clauses, args = [], []
    if f.since_ms is not None:
        clauses.append("ts_ms >= ?")
        args.append(f.since_ms)
    if f.until_ms is not None:
        clauses.append("ts_ms < ?")
        args.append(f.until_ms)
    for col, vals in (("source", f.sources), ("model", f.models), ("kind", f.kinds), ("device", f.devices)):
        if not vals:
            continue
        clause = f"{col} IN ({','.join('?' * len(vals))})"
        args.extend(vals)
        if col == "model":  # the name the dashboard shows matches the dated ids too: …-4-5 → …-4-5-20250929
            clause = "(" + " OR ".join([clause] + ["model GLOB ?"] * len(vals)) + ")"
            args.extend(_glob_literal(m) + "-" + "[0-9]" * 8 for m in vals)
        clauses.append(clause)
    if f.exact_only:
        clauses.append("token_label = 'exact'")
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


def _glob_literal(text: str) -> str:
    """``text`` as a GLOB pattern that matches only itself."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


#: a record's tokens, the one token sum every read uses
TOKENS = "input + output + cache_write_5m + cache_write_1h + cache_read"
#: a record's billed picodollars
BILLED = "CASE WHEN cost_label = 'billed' THEN COALESCE(cost_pico, 0) ELSE 0 END"

# Money is summed as whole micro-dollars and the picodollar remainder, recombined in Python:
# SQLite's SUM of integers fails past 2**63 (about $9.2 million in picodollars), which one
# organisation's provider costs can reach; each part stays far below that.
_SPLIT = 1_000_000


def money_sums(expr: str) -> str:
    """Two SQL sums of the picodollar expression ``expr`` that never overflow: see :func:`joined`."""
    return f"SUM(({expr}) / {_SPLIT}), SUM(({expr}) % {_SPLIT})"


def joined(hi: int | None, lo: int | None) -> int:
    """The exact picodollar total from the two sums of :func:`money_sums`."""
    return (hi or 0) * _SPLIT + (lo or 0)


_SUMS = ("SUM(input), SUM(output), SUM(cache_write_5m + cache_write_1h), SUM(cache_read), SUM(reasoning), "
         f"{money_sums('COALESCE(cost_pico, 0)')}, {money_sums(BILLED)}, "
         f"SUM(CASE WHEN cost_pico IS NULL THEN {TOKENS} ELSE 0 END), COUNT(*), SUM(requests), MAX(model_fallback), "
         f"MIN(id), SUM(CASE WHEN token_label = 'estimated' THEN {TOKENS} ELSE 0 END)")


#: a group with tokens, requests or money: records with none of them (Claude Code analytics,
#: kept for their ``raw``) make no row of zeros
_NOT_EMPTY = (f"MAX({TOKENS}) > 0 OR MAX(requests) > 0 OR MAX(COALESCE(cost_pico, 0)) != 0 "
              "OR MIN(COALESCE(cost_pico, 0)) != 0")


def _totals(row: Sequence, model: str | None) -> Totals:
    cost, billed = joined(row[5], row[6]), joined(row[7], row[8])
    t = Totals(*row[:5], cost, billed, *row[9:12])
    t.estimated_tokens = row[14] or 0
    if model and model != "<synthetic>":
        t.models[model] = bool(row[12])
    return t


@lru_cache(maxsize=200_000)
def _local_date(quarter: int, tz: ZoneInfo) -> date:
    return datetime.fromtimestamp(quarter * 900, tz).date()


def period_key(d: date, period: str, week_start: int = 0) -> str:
    """The label of the period containing local date ``d`` (week_start: 0=Monday … 6=Sunday)."""
    if period == "day":
        return d.isoformat()
    if period == "week":
        return (d - timedelta(days=(d.weekday() - week_start) % 7)).isoformat()
    if period == "month":
        return f"{d.year:04d}-{d.month:02d}"
    if period == "quarter":
        return f"{d.year:04d}-Q{(d.month - 1) // 3 + 1}"
    if period == "year":
        return f"{d.year:04d}"
    raise ValueError(f"unknown period {period!r}")


def grouped(conn: sqlite3.Connection, f: Filter, tz: ZoneInfo, period: str, week_start: int = 0,
            by: str = "source_model") -> dict[str, dict[tuple[str, str | None], Totals]]:
    """``{period key: {(source, model): Totals}}`` in first-seen (time) order."""
    where, args = _where(f)
    sql = (f"SELECT ts_ms / {QUARTER_MS} AS q, width_s >= 86400 AS whole_day, source, model, {_SUMS} "
           f"FROM ledger{where} GROUP BY q, whole_day, source, model HAVING {_NOT_EMPTY} "
           "ORDER BY q, MIN(ts_ms), source, model")  # by time, never by row id: the same on every device
    out: dict[str, dict[tuple[str, str | None], Totals]] = {}
    utc = ZoneInfo("UTC")
    for row in conn.execute(sql, args):
        q, whole_day, source, model = row[0], row[1], row[2], row[3]
        # a provider's day bucket is that UTC calendar date: keep its date, do not shift it
        key = period_key(_local_date(q, utc if whole_day else tz), period, week_start)
        bucket = out.setdefault(key, {})
        t = _totals(row[4:], model)
        cur = bucket.get((source, model))
        if cur is None:
            bucket[(source, model)] = t
        else:
            cur.add(t)
    return out


def totals(conn: sqlite3.Connection, f: Filter) -> Totals:
    """Everything matching ``f`` summed into one :class:`Totals` (models in first-seen order)."""
    where, args = _where(f)
    out = Totals()
    for row in conn.execute(f"SELECT model, {_SUMS} FROM ledger{where} GROUP BY model ORDER BY MIN(ts_ms)", args):
        out.add(_totals(row[1:], row[0]))
    return out


def by_device(conn: sqlite3.Connection, f: Filter) -> dict[str, Totals]:
    """Device name → everything matching ``f`` it recorded, in first-seen order."""
    where, args = _where(f)
    out: dict[str, Totals] = {}
    for row in conn.execute(f"SELECT device, model, {_SUMS} FROM ledger{where} GROUP BY device, model "
                            "ORDER BY MIN(ts_ms)", args):
        out.setdefault(row[0], Totals()).add(_totals(row[2:], row[1]))
    return out


def several_devices(conn: sqlite3.Connection) -> bool:
    """Whether the ledger holds records of more than one device name (a history merged through
    a share folder, or a machine renamed): one scan that stops at the second name, ~10x cheaper
    than :func:`by_device`'s grouping when there is only one."""
    return bool(conn.execute("SELECT EXISTS (SELECT 1 FROM ledger WHERE device != "
                             "(SELECT device FROM ledger LIMIT 1))").fetchone()[0])


def device_names(conn: sqlite3.Connection) -> list[str]:
    """Every device name in the history, sorted."""
    return [r[0] for r in conn.execute("SELECT DISTINCT device FROM ledger ORDER BY device")]


@dataclass(slots=True)
class SessionRow:
    source: str
    project: str | None
    session: str
    first_ms: int
    last_ms: int
    by_model: dict[str | None, Totals]


def sessions(conn: sqlite3.Connection, f: Filter) -> list[SessionRow]:
    where, args = _where(f)
    sql = (f"SELECT source, project, session, model, MIN(ts_ms), MAX(ts_ms), {_SUMS} FROM ledger{where}"
           f"{' AND' if where else ' WHERE'} session IS NOT NULL GROUP BY source, project, session, model "
           "ORDER BY MIN(ts_ms)")
    rows: dict[tuple, SessionRow] = {}
    for r in conn.execute(sql, args):
        k = (r[0], r[1], r[2])
        s = rows.get(k)
        if s is None:
            s = rows[k] = SessionRow(r[0], r[1], r[2], r[4], r[5], {})
        s.first_ms, s.last_ms = min(s.first_ms, r[4]), max(s.last_ms, r[5])
        s.by_model[r[3]] = _totals(r[6:], r[3])
    return list(rows.values())


def local_day_range(since: date | None, until: date | None, tz: ZoneInfo) -> tuple[int | None, int | None]:
    """Epoch-ms bounds ``[since 00:00, until+1 00:00)`` in ``tz`` (inclusive dates)."""
    def ms(d: date) -> int:
        return int(datetime.combine(d, time(0), tz).timestamp() * 1000)

    return (ms(since) if since else None, ms(until + timedelta(days=1)) if until else None)


def period_bounds(period: str, now: datetime, tz: ZoneInfo, start: date | None = None) -> tuple[datetime, datetime]:
    """The local [start, end) of the day/week/month/quarter/year containing ``now``.

    ``start`` anchors fiscal periods (its month and day begin each year/quarter)."""
    local = now.astimezone(tz)
    d = local.date()
    if period == "day":
        a, b = d, d + timedelta(days=1)
    elif period == "week":
        a = d - timedelta(days=d.weekday())
        b = a + timedelta(days=7)
    else:
        months = {"month": 1, "quarter": 3, "year": 12}[period]
        anchor_month = start.month if start else 1
        anchor_day = start.day if start else 1
        # walk back from the current month to the most recent anchor-aligned start
        y, m = d.year, d.month
        while True:
            if (m - anchor_month) % months == 0 and _safe_date(y, m, anchor_day) <= d:
                break
            m -= 1
            if m == 0:
                y, m = y - 1, 12
        a = _safe_date(y, m, anchor_day)
        m2, y2 = m + months, y
        while m2 > 12:
            m2, y2 = m2 - 12, y2 + 1
        b = _safe_date(y2, m2, anchor_day)
    return (datetime.combine(a, time(0), tz), datetime.combine(b, time(0), tz))


def _safe_date(y: int, m: int, d: int) -> date:
    while True:
        try:
            return date(y, m, d)
        except ValueError:
            d -= 1


def record_count(conn: sqlite3.Connection, sources: Iterable[str] = ()) -> int:
    srcs = tuple(sources)
    if srcs:
        return conn.execute(f"SELECT COUNT(*) FROM ledger WHERE source IN ({','.join('?' * len(srcs))})",
                            srcs).fetchone()[0]
    return conn.execute("SELECT COUNT(*) FROM ledger").fetchone()[0]


def utc_ms(dt: datetime) -> int:
    return int(dt.astimezone(timezone.utc).timestamp() * 1000)
