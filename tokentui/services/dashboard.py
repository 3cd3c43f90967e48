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
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Iterable
from zoneinfo import ZoneInfo

from tokentui.core.figures import Burn, PeriodTotal, Share
from tokentui.core.overlap import left_out
from tokentui.core.records import PICO
from tokentui.core.source_status import DeviceContact, SourceStatus
from tokentui.core.totals import Totals
from tokentui.sources import registry
from tokentui.store import figures
from tokentui.store.queries import period_bounds, utc_ms

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
QUARTER_MS = 900_000
TOP_DAYS = 7
AVG_DAYS = 28



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
    sources: tuple[SourceStatus, ...]
    tokens_per_week: int  # average over the last AVG_DAYS days
    cache_hit_ratio: float | None  # cache reads / all input, last TOP_DAYS days
    #: (local date, tokens) for the last AVG_DAYS days including today, oldest first
    daily: tuple[tuple[str, int], ...] = ()
    build_ms: float = 0.0
    #: plan limits (:class:`tokentui.services.quota.QuotaView`), None until a refresh reads them
    quotas: object = None
    #: your devices, when a share folder merges them (``tokentop devices``); else empty
    devices: tuple[DeviceContact, ...] = ()

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
    for m, w, tok in figures.minute_tokens(conn, since, now_ms):
        h = m * MINUTE_MS // HOUR_MS - (end_hour - 23)
        if 0 <= h < 24:
            hours[h] += tok
        if w:
            minutes[m] = minutes.get(m, 0) + tok
    spark_hour = tuple(minutes.get(m, 0) for m in range(end_min - 59, end_min + 1))
    t5, c5, t60, c60 = figures.recent_rates(conn, now_ms)
    by_source, by_model = [], []
    for col, out in (("source", by_source), ("model", by_model)):
        for name, tok in figures.recent_tokens_by(conn, col, now_ms - HOUR_MS, now_ms):
            if tok:
                out.append((name or "unknown model", tok / 60))
    burn = Burn(t5 / 5, _usd(c5) * 12, t60 / 60, _usd(c60), tuple(by_source),
                tuple(by_model))
    return burn, spark_hour, tuple(hours)


@lru_cache(maxsize=50_000)
def _local_date(quarter: int, tz: ZoneInfo) -> date:
    return datetime.fromtimestamp(quarter * QUARTER_MS / 1000, tz).date()


def _period_totals(conn: sqlite3.Connection, now: datetime, tz: ZoneInfo, cells_of=figures.quarter_hour_cells):
    bounds = [("today", *period_bounds("day", now, tz)), ("week", *period_bounds("week", now, tz)),
              ("month", *period_bounds("month", now, tz)), ("quarter", *period_bounds("quarter", now, tz))]
    ranges = [(n, utc_ms(a), utc_ms(b), a) for n, a, b in bounds]
    now_ms = utc_ms(now)
    top_since = now_ms - TOP_DAYS * 86_400_000
    avg_since = now_ms - AVG_DAYS * 86_400_000
    lo = min([r[1] for r in ranges] + [avg_since])
    hi = max(r[2] for r in ranges)
    sums = {n: [0] * 9 for n, *_ in ranges}
    models: dict[str, list[int]] = {}
    sources: dict[str, list[int]] = {}
    avg_tokens = 0
    today = now.astimezone(tz).date()
    days = [(today - timedelta(days=n)).isoformat() for n in range(AVG_DAYS - 1, -1, -1)]
    daily = dict.fromkeys(days, 0)
    cache = [0, 0]  # cache reads, all input
    cells = list(cells_of(conn, lo, hi))
    # one view per provider per local day (core.overlap, as the reports count): where an agent's
    # logs and its provider's usage API saw the same day, the smaller view is left out of the
    # totals, the 28-day average, the daily bars and the top models (the sources box shows both)
    views: dict[tuple[str, str], Totals] = {}
    for q, source, _m, i, o, cw, cr, cost, *_rest in cells:
        t = views.setdefault((_local_date(q, tz).isoformat(), source), Totals())
        t.input += i + o + cw + cr
        t.cost_pico += cost
    skip = left_out(views, registry.local_provider())
    for q, source, model, i, o, cw, cr, cost, billed, unpriced, est in cells:
        ts = q * QUARTER_MS
        tok = i + o + cw + cr
        if ts >= top_since - QUARTER_MS and ts <= now_ms:  # each source's own share, both views
            cur = sources.setdefault(source, [0, 0, 0])
            cur[0] += tok
            cur[1] += cost
            cur[2] += unpriced
        if skip and (_local_date(q, tz).isoformat(), source) in skip:
            continue
        for name, a, b, _ in ranges:
            if a <= ts < b:
                s = sums[name]
                for k, v in enumerate((tok, i, o, cw, cr, cost, billed, unpriced, est)):
                    s[k] += v
        if ts >= avg_since and ts <= now_ms:
            avg_tokens += tok
        if ts >= avg_since - 86_400_000:
            key = _local_date(q, tz).isoformat()
            if key in daily:
                daily[key] += tok
        if ts >= top_since - QUARTER_MS and ts <= now_ms:
            cur = models.setdefault(model or "unknown model", [0, 0, 0])
            cur[0] += tok
            cur[1] += cost
            cur[2] += unpriced
            cache[0] += cr
            cache[1] += i + cw + cr
    periods = tuple(PeriodTotal(n, _label(n, start), a, b, s[0], s[1], s[2], s[3], s[4], _usd(s[5]), _usd(s[6]),
                                s[7], s[8]) for (n, a, b, start), s in ((r, sums[r[0]]) for r in ranges))

    def shares(table: dict[str, list[int]]) -> tuple[Share, ...]:
        total = sum(v[0] for v in table.values()) or 1
        ranked = sorted(table.items(), key=lambda kv: (-kv[1][0], kv[0]))
        return tuple(Share(k, v[0], _usd(v[1]), v[0] / total, v[2]) for k, v in ranked if v[0])

    ratio = cache[0] / cache[1] if cache[1] else None
    return (periods, shares(models), shares(sources), avg_tokens * 7 // AVG_DAYS, ratio,
            tuple(daily.items()))


def build_snapshot(conn: sqlite3.Connection, now: datetime, tz: ZoneInfo,
                   sources: Iterable[SourceStatus] = (), cells: figures.QuarterCells | None = None) -> Snapshot:
    """The dashboard's figures at ``now`` (aware). ``sources`` are passed through unchanged.
    ``cells``: the store's quarter-hour totals kept between calls (a dashboard refreshing every
    few seconds reads the quarter's records again only when the ledger changed)."""
    t0 = _time.perf_counter()
    now_ms = utc_ms(now)
    burn, spark_hour, spark_day = _burn_and_sparks(conn, now_ms)
    periods, top_models, top_sources, per_week, ratio, daily = _period_totals(
        conn, now, tz, cells or figures.quarter_hour_cells)
    return Snapshot(now_ms, str(tz), burn, spark_hour, spark_day, periods, top_models, top_sources, TOP_DAYS,
                    tuple(sources), per_week, ratio, daily, (_time.perf_counter() - t0) * 1000)


# --- budgets and leverage: the figures that change slowly -----------------------------------

@dataclass(frozen=True, slots=True)
class BudgetsView:
    """Every budget evaluated at one instant, or why the budgets could not be read."""

    results: tuple = ()  # of services.budgets.BudgetResult
    problem: str | None = None  # the [budgets] config is invalid: file, line and key
    config_path: str = ""

    def get(self, name: str):
        return next((r for r in self.results if r.budget.name == name), None)


@dataclass(frozen=True, slots=True)
class Figures:
    """Budgets, the thresholds they crossed for the first time, and the leverage report."""

    budgets: BudgetsView
    alerts: tuple  # of services.budgets.BudgetAlert
    leverage: object  # services.leverage.LeverageReport


def build_figures(conn: sqlite3.Connection, settings, now: datetime, tz: ZoneInfo, channel: str = "tui") -> Figures:
    """Evaluate every budget and build the leverage report. ``conn`` must be writable: the
    alerts announced on ``channel`` are remembered there, so each threshold is announced once
    per period; when ``[budgets] notify_desktop`` is on, new alerts also go to the desktop."""
    from tokentui.errors import TokentopError
    from tokentui.services import budgets as svc
    from tokentui.services.leverage import build_report

    alerts: tuple = ()
    try:
        view = BudgetsView(svc.evaluate_all(conn, settings, now=now, tz=tz), None, str(settings.path))
    except TokentopError as exc:
        view = BudgetsView((), str(exc), str(settings.path))
    if view.results:
        alerts = svc.new_alerts(conn, view.results, channel=channel)
        if alerts:
            svc.notify_desktop(alerts, svc.load_budgets(settings).notify_desktop)
    return Figures(view, alerts, build_report(conn, settings, now=now))


# --- when each API source is polled next ----------------------------------------------------

class PollSchedule:
    """Per API source: due again ``interval`` seconds after a poll; after errors 2×, 4×, …
    the interval (at most ``max_backoff``); ``retry`` seconds after a skipped poll (another
    process was polling). Times are monotonic seconds handed in; used by one thread."""

    def __init__(self, min_gap: float = 60.0, max_backoff: float = 3600.0, retry: float = 30.0) -> None:
        self.min_gap, self.max_backoff, self.retry = min_gap, max_backoff, retry
        self.due: dict[str, float] = {}
        self.polled_at: dict[str, float] = {}
        self.failures: dict[str, int] = {}

    def due_now(self, sources: Iterable[str], now: float, force: bool = False) -> tuple[str, ...]:
        """The sources to poll now; ``force`` adds those not polled for ``min_gap`` seconds."""
        return tuple(s for s in sources if self.due.get(s, 0.0) <= now
                     or (force and now - self.polled_at.get(s, now - self.min_gap) >= self.min_gap))

    def polled(self, source: str, status: str, now: float, interval: float) -> None:
        """Record one source's poll result (ok | error | not configured | skipped)."""
        self.polled_at[source] = now
        if status == "error":
            n = self.failures[source] = self.failures.get(source, 0) + 1
            self.due[source] = now + min(self.max_backoff, interval * 2 ** n)
        elif status == "skipped":
            self.due[source] = now + self.retry
        else:
            self.failures.pop(source, None)
            self.due[source] = now + interval

    def next_at(self, sources: Iterable[str], now: float) -> float:
        """When the next poll is due (``now`` + 300 s when no source is)."""
        return min((self.due.get(s, now) for s in sources), default=now + 300.0)
