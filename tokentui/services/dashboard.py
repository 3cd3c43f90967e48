"""What the dashboard shows, computed from the store into immutable values (UI-free).

:func:`build_snapshot` runs a handful of range queries on the ``ts_ms`` index — it never
scans more than the current quarter (or the last 28 days, if longer) — and returns a frozen
:class:`Snapshot`: burn rates, sparkline series, period totals in the user's timezone, top
models and sources, and source statuses. The TUI replaces its snapshot on every refresh;
nothing here is ever mutated after it is built.

Burn and sparklines use fine-grained records only (``width_s`` ≤ 60 for the minute series,
≤ 3600 for the hour series): a provider's day bucket would otherwise show as one
enormous spike at midnight.
"""

from __future__ import annotations

import sqlite3
import time as _time
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from functools import lru_cache
from decimal import Decimal
from typing import Iterable
from zoneinfo import ZoneInfo

from tokentui.config import API_SOURCES, LOCAL_SOURCES
from tokentui.core.records import PICO
from tokentui.store.queries import period_bounds, period_key, utc_ms

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
QUARTER_MS = 900_000
TOP_DAYS = 7
AVG_DAYS = 28

_TOT = "input + output + cache_write_5m + cache_write_1h + cache_read"


@dataclass(frozen=True, slots=True)
class Burn:
    """Tokens per minute and dollars per hour over the last 5 minutes and the last hour."""

    tokens_per_min_5m: float = 0.0
    usd_per_hour_5m: Decimal = Decimal(0)
    tokens_per_min_1h: float = 0.0
    usd_per_hour_1h: Decimal = Decimal(0)
    #: (source, tokens per minute over the last hour), busiest first
    by_source: tuple[tuple[str, float], ...] = ()
    #: (model, tokens per minute over the last hour), busiest first
    by_model: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class PeriodTotal:
    """Summed usage of one calendar period (local time) up to now."""

    name: str  # today | week | month | quarter
    label: str  # e.g. "Fri 20 Nov", "Q4 2026"
    start_ms: int
    end_ms: int
    tokens: int = 0
    input: int = 0
    output: int = 0
    cache_write: int = 0
    cache_read: int = 0
    cost: Decimal = Decimal(0)  # priced records only
    billed: Decimal = Decimal(0)
    unpriced_tokens: int = 0


@dataclass(frozen=True, slots=True)
class Share:
    """One model's or source's part of the recent usage."""

    name: str
    tokens: int
    cost: Decimal  # priced tokens only
    share: float  # of all tokens in the window
    unpriced_tokens: int = 0


@dataclass(frozen=True, slots=True)
class SourceRow:
    """A source's status in plain words."""

    name: str
    kind: str  # local | api
    status: str  # ok | stale | error | not configured | planned | disabled
    message: str | None = None
    last_sync_ms: int | None = None
    records: int = 0
    paths: tuple[str, ...] = ()
    skipped_lines: int = 0
    duplicates: int = 0


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything the dashboard shows at one instant."""

    now_ms: int
    timezone: str
    burn: Burn
    spark_hour: tuple[int, ...]  # tokens per minute, the last 60 minutes, oldest first
    spark_day: tuple[int, ...]  # tokens per hour, the last 24 hours, oldest first
    periods: tuple[PeriodTotal, ...]
    top_models: tuple[Share, ...]
    top_sources: tuple[Share, ...]
    top_days: int
    sources: tuple[SourceRow, ...]
    tokens_per_week: int  # average over the last AVG_DAYS days
    cache_hit_ratio: float | None  # cache reads / all input, last TOP_DAYS days
    #: (local date, tokens) for the last AVG_DAYS days including today, oldest first
    daily: tuple[tuple[str, int], ...] = ()
    build_ms: float = 0.0

    def period(self, name: str) -> PeriodTotal | None:
        return next((p for p in self.periods if p.name == name), None)


def _usd(pico: int) -> Decimal:
    return Decimal(pico) / PICO


def _label(name: str, start: datetime) -> str:
    if name == "today":
        return start.strftime("%a %d %b")
    if name == "week":
        return "from " + start.strftime("%a %d %b")
    if name == "month":
        return start.strftime("%B %Y")
    return f"Q{(start.month - 1) // 3 + 1} {start.year}"


def _burn_and_sparks(conn: sqlite3.Connection, now_ms: int) -> tuple[Burn, tuple[int, ...], tuple[int, ...]]:
    end_min = now_ms // MINUTE_MS  # the current (partial) minute is the last bucket
    end_hour = now_ms // HOUR_MS
    since = (end_hour - 23) * HOUR_MS
    minutes: dict[int, int] = {}
    hours = [0] * 24
    for m, w, tok in conn.execute(
            f"SELECT ts_ms / {MINUTE_MS}, width_s <= 60, SUM({_TOT}) FROM ledger "
            "WHERE ts_ms >= ? AND ts_ms <= ? AND width_s <= 3600 GROUP BY 1, 2", (since, now_ms)):
        h = m * MINUTE_MS // HOUR_MS - (end_hour - 23)
        if 0 <= h < 24:
            hours[h] += tok
        if w:
            minutes[m] = minutes.get(m, 0) + tok
    spark_hour = tuple(minutes.get(m, 0) for m in range(end_min - 59, end_min + 1))
    # rates over exact windows ending now (minute buckets would count a partial minute as whole)
    t5, c5, t60, c60 = conn.execute(
        f"SELECT SUM(CASE WHEN ts_ms > ? THEN {_TOT} ELSE 0 END), "
        "SUM(CASE WHEN ts_ms > ? THEN COALESCE(cost_pico, 0) ELSE 0 END), "
        f"SUM({_TOT}), SUM(COALESCE(cost_pico, 0)) FROM ledger "
        "WHERE ts_ms > ? AND ts_ms <= ? AND width_s <= 60",
        (now_ms - 5 * MINUTE_MS, now_ms - 5 * MINUTE_MS, now_ms - HOUR_MS, now_ms)).fetchone()
    by_source, by_model = [], []
    for col, out in (("source", by_source), ("model", by_model)):
        for name, tok in conn.execute(
                f"SELECT {col}, SUM({_TOT}) FROM ledger WHERE ts_ms > ? AND ts_ms <= ? AND width_s <= 60 "
                f"GROUP BY {col} ORDER BY 2 DESC, 1", (now_ms - HOUR_MS, now_ms)):
            if tok:
                out.append((name or "unknown model", tok / 60))
    burn = Burn((t5 or 0) / 5, _usd(c5 or 0) * 12, (t60 or 0) / 60, _usd(c60 or 0), tuple(by_source),
                tuple(by_model))
    return burn, spark_hour, tuple(hours)


@lru_cache(maxsize=50_000)
def _local_date(quarter: int, tz: ZoneInfo) -> date:
    return datetime.fromtimestamp(quarter * QUARTER_MS / 1000, tz).date()


def _period_totals(conn: sqlite3.Connection, now: datetime, tz: ZoneInfo):
    bounds = [("today", *period_bounds("day", now, tz)), ("week", *period_bounds("week", now, tz)),
              ("month", *period_bounds("month", now, tz)), ("quarter", *period_bounds("quarter", now, tz))]
    ranges = [(n, utc_ms(a), utc_ms(b), a) for n, a, b in bounds]
    now_ms = utc_ms(now)
    top_since = now_ms - TOP_DAYS * 86_400_000
    avg_since = now_ms - AVG_DAYS * 86_400_000
    lo = min([r[1] for r in ranges] + [avg_since])
    hi = max(r[2] for r in ranges)
    sums = {n: [0] * 8 for n, *_ in ranges}
    models: dict[str, list[int]] = {}
    sources: dict[str, list[int]] = {}
    avg_tokens = 0
    today = now.astimezone(tz).date()
    days = [(today - timedelta(days=n)).isoformat() for n in range(AVG_DAYS - 1, -1, -1)]
    daily = dict.fromkeys(days, 0)
    cache = [0, 0]  # cache reads, all input
    sql = (f"SELECT ts_ms / {QUARTER_MS}, source, model, SUM(input), SUM(output), "
           "SUM(cache_write_5m + cache_write_1h), SUM(cache_read), SUM(COALESCE(cost_pico, 0)), "
           "SUM(CASE WHEN cost_label = 'billed' THEN COALESCE(cost_pico, 0) ELSE 0 END), "
           f"SUM(CASE WHEN cost_pico IS NULL THEN {_TOT} ELSE 0 END) "
           "FROM ledger WHERE ts_ms >= ? AND ts_ms < ? GROUP BY 1, 2, 3")
    for q, source, model, i, o, cw, cr, cost, billed, unpriced in conn.execute(sql, (lo, hi)):
        ts = q * QUARTER_MS
        tok = i + o + cw + cr
        for name, a, b, _ in ranges:
            if a <= ts < b:
                s = sums[name]
                for k, v in enumerate((tok, i, o, cw, cr, cost, billed, unpriced)):
                    s[k] += v
        if ts >= avg_since and ts <= now_ms:
            avg_tokens += tok
        if ts >= avg_since - 86_400_000:
            key = _local_date(q, tz).isoformat()
            if key in daily:
                daily[key] += tok
        if ts >= top_since - QUARTER_MS and ts <= now_ms:
            for key, table in ((model or "unknown model", models), (source, sources)):
                cur = table.setdefault(key, [0, 0, 0])
                cur[0] += tok
                cur[1] += cost
                cur[2] += unpriced
            cache[0] += cr
            cache[1] += i + cw + cr
    periods = tuple(PeriodTotal(n, _label(n, start), a, b, s[0], s[1], s[2], s[3], s[4], _usd(s[5]), _usd(s[6]),
                                s[7]) for (n, a, b, start), s in ((r, sums[r[0]]) for r in ranges))

    def shares(table: dict[str, list[int]]) -> tuple[Share, ...]:
        total = sum(v[0] for v in table.values()) or 1
        ranked = sorted(table.items(), key=lambda kv: (-kv[1][0], kv[0]))
        return tuple(Share(k, v[0], _usd(v[1]), v[0] / total, v[2]) for k, v in ranked if v[0])

    ratio = cache[0] / cache[1] if cache[1] else None
    return (periods, shares(models), shares(sources), avg_tokens * 7 // AVG_DAYS, ratio,
            tuple(daily.items()))


def build_snapshot(conn: sqlite3.Connection, now: datetime, tz: ZoneInfo,
                   sources: Iterable[SourceRow] = ()) -> Snapshot:
    """The dashboard's figures at ``now`` (aware). ``sources`` are passed through unchanged."""
    t0 = _time.perf_counter()
    now_ms = utc_ms(now)
    burn, spark_hour, spark_day = _burn_and_sparks(conn, now_ms)
    periods, top_models, top_sources, per_week, ratio, daily = _period_totals(conn, now, tz)
    return Snapshot(now_ms, str(tz), burn, spark_hour, spark_day, periods, top_models, top_sources, TOP_DAYS,
                    tuple(sources), per_week, ratio, daily, (_time.perf_counter() - t0) * 1000)


# --- history ------------------------------------------------------------------------------

HISTORY_PERIODS = ("day", "week", "month")


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One day, week or month of usage (local time)."""

    key: str  # 2026-11-20 | 2026-11-16 (week start) | 2026-11
    label: str
    tokens: int = 0
    input: int = 0
    output: int = 0
    cache_write: int = 0
    cache_read: int = 0
    cost: Decimal = Decimal(0)
    unpriced_tokens: int = 0


@dataclass(frozen=True, slots=True)
class HistoryTable:
    """Rows newest first, with every period between the first and the last one filled in."""

    period: str
    rows: tuple[HistoryRow, ...]
    sources: tuple[str, ...]  # every source in the store (filter choices)
    models: tuple[str, ...]
    source: str | None = None  # the filters applied
    model: str | None = None
    build_ms: float = 0.0

    @property
    def total_tokens(self) -> int:
        return sum(r.tokens for r in self.rows)

    @property
    def total_cost(self) -> Decimal:
        return sum((r.cost for r in self.rows), Decimal(0))


def _history_label(period: str, key: str) -> str:
    if period == "day":
        return datetime.strptime(key, "%Y-%m-%d").strftime("%a %d %b %Y")
    if period == "week":
        return datetime.strptime(key, "%Y-%m-%d").strftime("wk %d %b %Y")
    return datetime.strptime(key, "%Y-%m").strftime("%b %Y")


def _fill_keys(period: str, first: str, last: str) -> list[str]:
    """Every period key from ``first`` to ``last`` (days, Monday weeks or months)."""
    if period == "month":
        (y, m), (ly, lm) = map(int, first.split("-")), map(int, last.split("-"))
        out = []
        while (y, m) <= (ly, lm):
            out.append(f"{y:04d}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return out
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    step = 1 if period == "day" else 7
    return [(start + timedelta(days=n)).isoformat() for n in range(0, (end - start).days + 1, step)]


def _offset_ms(tz: ZoneInfo, ms: int) -> int:
    off = datetime.fromtimestamp(ms / 1000, tz).utcoffset()
    return int(off.total_seconds() * 1000) if off else 0


def local_day_sql(tz: ZoneInfo, lo_ms: int, hi_ms: int) -> tuple[str, list[int]]:
    """A SQL expression (and its arguments) giving the local day number (days since
    1970-01-01 in ``tz``) of ``ts_ms``, exact for every instant in ``[lo_ms, hi_ms]``.

    The UTC offset is constant between transitions, so the expression is a CASE over the
    transitions in the range (found by daily steps, then bisection to the quarter hour)."""
    step = 86_400_000
    segments: list[tuple[int, int]] = []  # (from_ms, offset)
    t, off = lo_ms, _offset_ms(tz, lo_ms)
    segments.append((lo_ms, off))
    while t < hi_ms:
        nxt = min(t + step, hi_ms)
        noff = _offset_ms(tz, nxt)
        if noff != off:
            a, b = t, nxt  # offset(a) == off, offset(b) == noff
            while b - a > QUARTER_MS:
                mid = (a + b) // 2
                if _offset_ms(tz, mid) == off:
                    a = mid
                else:
                    b = mid
            b = b // QUARTER_MS * QUARTER_MS if _offset_ms(tz, b // QUARTER_MS * QUARTER_MS) == noff else b
            segments.append((b, noff))
            off = noff
        t = nxt
    if len(segments) == 1:
        return f"(ts_ms + ?) / {step}", [segments[0][1]]
    sql, args = "(ts_ms + CASE", []
    for (_start, o), (nstart, _) in zip(segments, segments[1:]):
        sql += " WHEN ts_ms < ? THEN ?"
        args += [nstart, o]
    sql += f" ELSE ? END) / {step}"
    args.append(segments[-1][1])
    return sql, args


def build_history(conn: sqlite3.Connection, tz: ZoneInfo, period: str, source: str | None = None,
                  model: str | None = None) -> HistoryTable:
    """All stored usage grouped by local day, week (Monday) or month, optionally filtered.

    Groups by local day in SQL (see :func:`local_day_sql`), so a year of history is a few
    hundred rows whatever the number of records."""
    if period not in HISTORY_PERIODS:
        raise ValueError(f"unknown period {period!r}")
    t0 = _time.perf_counter()
    sources = tuple(r[0] for r in conn.execute("SELECT DISTINCT source FROM ledger ORDER BY 1"))
    models = tuple(r[0] for r in conn.execute("SELECT DISTINCT model FROM ledger WHERE model IS NOT NULL "
                                               "AND model != '<synthetic>' ORDER BY 1"))
    # two statements: SQLite answers a lone MIN or MAX from the index, not both at once
    lo = conn.execute("SELECT MIN(ts_ms) FROM ledger").fetchone()[0]
    hi = conn.execute("SELECT MAX(ts_ms) FROM ledger").fetchone()[0]
    if lo is None:
        return HistoryTable(period, (), sources, models, source, model)
    day_sql, args = local_day_sql(tz, lo, hi)
    where, wargs = [], []
    for col, val in (("source", source), ("model", model)):
        if val:
            where.append(f"{col} = ?")
            wargs.append(val)
    sql = (f"SELECT {day_sql} AS d, SUM(input), SUM(output), SUM(cache_write_5m + cache_write_1h), "
           f"SUM(cache_read), SUM(COALESCE(cost_pico, 0)), SUM(CASE WHEN cost_pico IS NULL THEN {_TOT} ELSE 0 END) "
           f"FROM ledger{' WHERE ' + ' AND '.join(where) if where else ''} GROUP BY d")
    acc: dict[str, list[int]] = {}
    epoch = date(1970, 1, 1).toordinal()
    for d, *sums in conn.execute(sql, args + wargs):
        key = period_key(date.fromordinal(epoch + d), period)
        a = acc.get(key)
        if a is None:
            acc[key] = sums
        else:
            for n, v in enumerate(sums):
                a[n] += v
    rows: list[HistoryRow] = []
    if acc:
        keys = sorted(acc)
        for k in _fill_keys(period, keys[0], keys[-1]):
            a = acc.get(k)
            if a is None:
                rows.append(HistoryRow(k, _history_label(period, k)))
            else:
                rows.append(HistoryRow(k, _history_label(period, k), a[0] + a[1] + a[2] + a[3], a[0], a[1], a[2],
                                       a[3], _usd(a[4]), a[5]))
        rows.reverse()
    return HistoryTable(period, tuple(rows), sources, models, source, model, (_time.perf_counter() - t0) * 1000)


# --- source statuses ----------------------------------------------------------------------

def source_rows(conn: sqlite3.Connection, settings) -> tuple[SourceRow, ...]:
    """Full statuses: detected paths, keys present, record counts (stats files, reads the keyring)."""
    from tokentui.services.status import source_statuses

    return tuple(SourceRow(s.name, s.kind, s.status, s.message, s.last_sync_ms, s.records, tuple(s.paths),
                           s.skipped_lines, s.duplicates) for s in source_statuses(conn, settings))


def stored_source_rows(conn: sqlite3.Connection) -> tuple[SourceRow, ...]:
    """Statuses from the store alone (no file system, no keyring): what the demo shows."""
    stored = {r[0]: r for r in conn.execute("SELECT source, status, message, last_sync_ms FROM source_status")}
    counts = dict(conn.execute("SELECT source, COUNT(*) FROM ledger GROUP BY source"))
    out = []
    for name in LOCAL_SOURCES + API_SOURCES:
        kind = "local" if name in LOCAL_SOURCES else "api"
        row = stored.get(name)
        if row:
            out.append(SourceRow(name, kind, row[1], row[2], row[3], counts.get(name, 0)))
        elif name in ("gemini-cli", "opencode"):
            out.append(SourceRow(name, kind, "planned", "reader not built yet"))
        else:
            out.append(SourceRow(name, kind, "not configured", "no key: add one on the Sources screen or with "
                                 f"`tokentop keys add {name}`" if kind == "api" else "no logs found"))
    return tuple(out)


def refresh_rows(conn: sqlite3.Connection, rows: tuple[SourceRow, ...]) -> tuple[SourceRow, ...]:
    """``rows`` with status, message and last sync re-read from the store (cheap; for every tick)."""
    stored = {r[0]: r for r in conn.execute("SELECT source, status, message, last_sync_ms FROM source_status")}
    out = []
    for r in rows:
        s = stored.get(r.name)
        if s and r.status not in ("disabled", "planned"):
            r = replace(r, status=s[1], message=s[2], last_sync_ms=s[3])
        out.append(r)
    return tuple(out)

