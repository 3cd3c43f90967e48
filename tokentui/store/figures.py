"""Reads for the live dashboard, the History table and the leverage figures.

The expressions every read shares live here and in :mod:`tokentui.store.queries`: the token
sum (:data:`TOKENS`) and money summed exactly (:func:`money_sums` / :func:`joined`): SQLite's
SUM of integers fails past 2**63 picodollars (about $9.2 million), which one organisation's
provider costs can reach, so money is summed as whole micro-dollars and the picodollar
remainder, recombined in Python.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Iterator
from zoneinfo import ZoneInfo

from tokentui.store.queries import BILLED, QUARTER_MS, TOKENS, joined, money_sums

MINUTE_MS = 60_000
DAY_MS = 86_400_000


# --- dashboard ---------------------------------------------------------------------------------

def minute_tokens(conn: sqlite3.Connection, since_ms: int, until_ms: int) -> Iterator[tuple[int, bool, int]]:
    """``(epoch minute, from a record at most a minute wide, tokens)`` for records in
    ``[since_ms, until_ms]`` at most an hour wide."""
    yield from conn.execute(f"SELECT ts_ms / {MINUTE_MS}, width_s <= 60, SUM({TOKENS}) FROM ledger "
                            "WHERE ts_ms >= ? AND ts_ms <= ? AND width_s <= 3600 GROUP BY 1, 2", (since_ms, until_ms))


def recent_rates(conn: sqlite3.Connection, now_ms: int) -> tuple[int, int, int, int]:
    """(tokens, picodollars) of the last 5 minutes, then of the last hour, ending at ``now_ms``
    (records at most a minute wide: exact windows, never a partial minute counted whole)."""
    five, hour = now_ms - 5 * MINUTE_MS, now_ms - 60 * MINUTE_MS
    recent = "CASE WHEN ts_ms > ? THEN COALESCE(cost_pico, 0) ELSE 0 END"
    t5, c5_hi, c5_lo, t60, c60_hi, c60_lo = conn.execute(
        f"SELECT SUM(CASE WHEN ts_ms > ? THEN {TOKENS} ELSE 0 END), {money_sums(recent)}, "
        f"SUM({TOKENS}), {money_sums('COALESCE(cost_pico, 0)')} FROM ledger "
        "WHERE ts_ms > ? AND ts_ms <= ? AND width_s <= 60", (five, five, five, hour, now_ms)).fetchone()
    return t5 or 0, joined(c5_hi, c5_lo), t60 or 0, joined(c60_hi, c60_lo)


def recent_tokens_by(conn: sqlite3.Connection, column: str, since_ms: int, until_ms: int) -> list[tuple]:
    """``(source or model, tokens)`` in ``(since_ms, until_ms]``, most first (records at most a
    minute wide)."""
    if column not in ("source", "model"):
        raise ValueError(column)
    return conn.execute(f"SELECT {column}, SUM({TOKENS}) FROM ledger WHERE ts_ms > ? AND ts_ms <= ? "
                        f"AND width_s <= 60 GROUP BY {column} ORDER BY 2 DESC, 1", (since_ms, until_ms)).fetchall()


def quarter_hour_cells(conn: sqlite3.Connection, lo_ms: int, hi_ms: int) -> Iterator[tuple]:
    """Per 15-minute UTC bucket, source and model in ``[lo_ms, hi_ms)``: ``(quarter, source,
    model, input, output, cache writes, cache reads, cost pico, billed pico, unpriced tokens,
    tokens whose counts are estimates)``."""
    sql = (f"SELECT ts_ms / {QUARTER_MS}, source, model, SUM(input), SUM(output), "
           "SUM(cache_write_5m + cache_write_1h), SUM(cache_read), "
           f"{money_sums('COALESCE(cost_pico, 0)')}, {money_sums(BILLED)}, "
           f"SUM(CASE WHEN cost_pico IS NULL THEN {TOKENS} ELSE 0 END), "
           f"SUM(CASE WHEN token_label = 'estimated' THEN {TOKENS} ELSE 0 END) "
           "FROM ledger WHERE ts_ms >= ? AND ts_ms < ? GROUP BY 1, 2, 3")
    for q, source, model, i, o, cw, cr, c_hi, c_lo, b_hi, b_lo, unpriced, est in conn.execute(sql, (lo_ms, hi_ms)):
        yield q, source, model, i, o, cw, cr, joined(c_hi, c_lo), joined(b_hi, b_lo), unpriced, est


class QuarterCells:
    """:func:`quarter_hour_cells` for a dashboard that asks every few seconds: the cells from
    the first whole quarter on are kept while the ledger is unchanged (:func:`ledger.change_token`)
    and the range is the same; only the part-quarter before it is read each time (at most 15
    minutes of records). The same cells as :func:`quarter_hour_cells`, in another order."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._conn: sqlite3.Connection | None = None  # held, so no other connection can take its id
        self._cells: tuple = ()

    def __call__(self, conn: sqlite3.Connection, lo_ms: int, hi_ms: int) -> list[tuple]:
        from tokentui.store.ledger import change_token

        whole = min(-(-lo_ms // QUARTER_MS) * QUARTER_MS, hi_ms)  # the first quarter boundary from lo_ms
        key = (change_token(conn), whole, hi_ms)
        if conn is not self._conn or key != self._key:
            self._cells = tuple(quarter_hour_cells(conn, whole, hi_ms))
            self._conn, self._key = conn, key
        part = list(quarter_hour_cells(conn, lo_ms, whole)) if lo_ms < whole else []
        return part + list(self._cells)


# --- history -------------------------------------------------------------------------------------

def distinct_sources(conn: sqlite3.Connection) -> tuple[str, ...]:
    return tuple(r[0] for r in conn.execute("SELECT DISTINCT source FROM ledger ORDER BY 1"))


def distinct_devices(conn: sqlite3.Connection) -> tuple[str, ...]:
    """Every device name in the history (more than one: a history merged through a share folder)."""
    return tuple(r[0] for r in conn.execute("SELECT DISTINCT device FROM ledger ORDER BY 1"))


def distinct_models(conn: sqlite3.Connection) -> tuple[str, ...]:
    return tuple(r[0] for r in conn.execute("SELECT DISTINCT model FROM ledger WHERE model IS NOT NULL "
                                            "AND model != '<synthetic>' ORDER BY 1"))


def time_range(conn: sqlite3.Connection) -> tuple[int | None, int | None]:
    """The first and last record's ``ts_ms`` (None, None for an empty store)."""
    # two statements: SQLite answers a lone MIN or MAX from the index, not both at once
    lo = conn.execute("SELECT MIN(ts_ms) FROM ledger").fetchone()[0]
    hi = conn.execute("SELECT MAX(ts_ms) FROM ledger").fetchone()[0]
    return lo, hi


def daily_sums(conn: sqlite3.Connection, tz: ZoneInfo, lo_ms: int, hi_ms: int, source: str | None = None,
               model: str | None = None, device: str | None = None) -> Iterator[tuple[int, int, int, int, int, int, int]]:
    """Per local day in ``tz`` (days since 1970-01-01) of records in ``[lo_ms, hi_ms]``: ``(day,
    input, output, cache writes, cache reads, cost pico, unpriced tokens)``."""
    day_sql, args = local_day_sql(tz, lo_ms, hi_ms)
    where, wargs = [], []
    for col, val in (("source", source), ("model", model), ("device", device)):
        if val:
            where.append(f"{col} = ?")
            wargs.append(val)
    sql = (f"SELECT {day_sql} AS d, SUM(input), SUM(output), SUM(cache_write_5m + cache_write_1h), "
           f"SUM(cache_read), {money_sums('COALESCE(cost_pico, 0)')}, "
           f"SUM(CASE WHEN cost_pico IS NULL THEN {TOKENS} ELSE 0 END) "
           f"FROM ledger{' WHERE ' + ' AND '.join(where) if where else ''} GROUP BY d")
    for d, i, o, cw, cr, c_hi, c_lo, unpriced in conn.execute(sql, args + wargs):
        yield d, i, o, cw, cr, joined(c_hi, c_lo), unpriced


def _offset_ms(tz: ZoneInfo, ms: int) -> int:
    off = datetime.fromtimestamp(ms / 1000, tz).utcoffset()
    return int(off.total_seconds() * 1000) if off else 0


def local_day_sql(tz: ZoneInfo, lo_ms: int, hi_ms: int) -> tuple[str, list[int]]:
    """A SQL expression (and its arguments) giving the local day number (days since
    1970-01-01 in ``tz``) of ``ts_ms``, exact for every instant in ``[lo_ms, hi_ms]``.

    The UTC offset is constant between transitions, so the expression is a CASE over the
    transitions in the range (found by daily steps, then bisection to the quarter hour)."""
    step = DAY_MS
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


# --- leverage ------------------------------------------------------------------------------------

def active_minute_numbers(conn: sqlite3.Connection, start_ms: int, end_ms: int) -> list[int]:
    """The distinct epoch minutes with a timed (not bucketed) record in ``[start_ms, end_ms)``."""
    return [m for (m,) in conn.execute(f"SELECT DISTINCT ts_ms / {MINUTE_MS} FROM ledger WHERE ts_ms >= ? "
                                       "AND ts_ms < ? AND width_s = 0", (start_ms, end_ms))]


def timed_tokens(conn: sqlite3.Connection, start_ms: int, end_ms: int) -> int:
    """Tokens of timed (not bucketed) records in ``[start_ms, end_ms)``."""
    return conn.execute(f"SELECT COALESCE(SUM({TOKENS}), 0) FROM ledger WHERE ts_ms >= ? AND ts_ms < ? "
                        "AND width_s = 0", (start_ms, end_ms)).fetchone()[0]


# --- snapshot ------------------------------------------------------------------------------------

def project_sums(conn: sqlite3.Connection, since_ms: int | None, until_ms: int | None
                 ) -> Iterator[tuple[str, int, int]]:
    """``(project, tokens, cost pico)`` of records with a project in ``[since_ms, until_ms)``."""
    sql = (f"SELECT project, SUM({TOKENS}), {money_sums('COALESCE(cost_pico, 0)')} FROM ledger "
           "WHERE ts_ms >= ? AND ts_ms < ? AND project IS NOT NULL GROUP BY project")
    for project, tokens, c_hi, c_lo in conn.execute(sql, (since_ms, until_ms)):
        yield project, tokens or 0, joined(c_hi, c_lo)
