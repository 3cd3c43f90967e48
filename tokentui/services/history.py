"""History tables for the TUI: stored usage grouped by local day, week or month (UI-free).

:func:`build_history` groups in SQL by the local day (see :func:`local_day_sql`), so a year
of history is a few hundred rows whatever the number of records; the result is a frozen
:class:`HistoryTable` the History screen shows as it is.
"""

from __future__ import annotations

import sqlite3
import time as _time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from tokentui.core.records import PICO
from tokentui.store import figures
from tokentui.store.queries import period_key

QUARTER_MS = 900_000


def _usd(pico: int) -> Decimal:
    return Decimal(pico) / PICO


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
    devices: tuple[str, ...] = ()  # every device name in the store (a filter when more than one)
    device: str | None = None

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


def build_history(conn: sqlite3.Connection, tz: ZoneInfo, period: str, source: str | None = None,
                  model: str | None = None, device: str | None = None) -> HistoryTable:
    """All stored usage grouped by local day, week (Monday) or month, optionally filtered.

    Groups by local day in SQL (see :func:`local_day_sql`), so a year of history is a few
    hundred rows whatever the number of records."""
    if period not in HISTORY_PERIODS:
        raise ValueError(f"unknown period {period!r}")
    t0 = _time.perf_counter()
    sources, models = figures.distinct_sources(conn), figures.distinct_models(conn)
    devices = figures.distinct_devices(conn)
    lo, hi = figures.time_range(conn)
    if lo is None or hi is None:
        return HistoryTable(period, (), sources, models, source, model, devices=devices, device=device)
    acc: dict[str, list[int]] = {}
    epoch = date(1970, 1, 1).toordinal()
    for d, *sums in figures.daily_sums(conn, tz, lo, hi, source, model, device):
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
    return HistoryTable(period, tuple(rows), sources, models, source, model, (_time.perf_counter() - t0) * 1000,
                        devices, device)
