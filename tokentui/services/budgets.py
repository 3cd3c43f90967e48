"""Budgets against the history store: figures, projections, headlines and alerts (UI-free).

The TUI and ``tokentop budget check`` both use this module:

* :func:`load_budgets` reads and validates ``[budgets]`` (errors name file, line and key);
* :func:`evaluate_all` gives one immutable :class:`BudgetResult` per budget (gauges, burn-up
  chart data in ``result.projection.burnup``, headline, JSON);
* :func:`new_alerts` returns the thresholds crossed for the first time and remembers them
  (store table ``sync_state``, source ``budget``), so each fires once per period;
* :func:`notify_desktop` sends those alerts with ``notify-send`` when enabled and present.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Iterable, Sequence
from zoneinfo import ZoneInfo

from tokentui.config import Settings, line_of
from tokentui.sources import registry
from tokentui.core.budgets import PERIOD_ADJECTIVE, Budget, BudgetError, BudgetSettings, parse_budgets
from tokentui.core.projection import QUARTER_DAYS, WINDOW_DAYS, Projection, project
from tokentui.core.overlap import person_totals
from tokentui.core.records import PICO
from tokentui.core.totals import Totals
from tokentui.errors import ConfigError
from tokentui.store import ledger, queries
from tokentui.store.db import transaction

STATE_SOURCE = "budget"
OK, WARNING, PROJECTED_OVER, OVER = "ok", "warning", "projected_over", "over"
EXIT_CODES = {OK: 0, WARNING: 0, PROJECTED_OVER: 1, OVER: 2}
CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class BudgetResult:
    """One budget evaluated at one moment. Amounts are Decimal USD or int tokens."""

    budget: Budget
    period_start: date
    period_end: date  # exclusive
    spent: Decimal | int
    remaining: Decimal | int  # negative once over
    projected: Decimal | int
    projected_low: Decimal | int  # P10
    projected_high: Decimal | int  # P90
    daily_rate: Decimal | int
    unpriced_tokens: int  # usage in scope without a price (not in a USD budget's spend)
    overlap_tokens: int  # seen in both agent logs and a provider API this period, counted once
    crossed: tuple[float, ...]  # alert thresholds reached by what was spent
    status: str  # ok | warning | projected_over | over
    headline: str
    projection: Projection
    #: a scoped budget whose sources, providers or models match no record in the whole history
    #: (a misspelt model id stays "$0.00, on track" forever otherwise)
    unmatched: bool = False

    @property
    def used_fraction(self) -> float:
        return float(self.spent) / float(self.budget.amount)

    @property
    def elapsed_fraction(self) -> float:
        return self.projection.elapsed_fraction

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    def to_json(self) -> dict[str, Any]:
        """The figures as JSON-ready values (money as numbers rounded to cents)."""
        p, b = self.projection, self.budget
        num = _json_num
        return {
            "name": b.name, "unit": b.unit, "amount": num(b.amount), "period": b.period,
            "periodStart": self.period_start.isoformat(), "periodEnd": self.period_end.isoformat(),
            "scope": {"sources": list(b.sources), "providers": list(b.providers), "models": list(b.models),
                      "effectiveSources": list(b.scope_sources()), "includeEstimated": b.include_estimated},
            "spent": num(self.spent), "remaining": num(self.remaining),
            "usedFraction": round(self.used_fraction, 4), "elapsedFraction": round(p.elapsed_fraction, 4),
            "pace": None if p.pace is None else round(p.pace, 3),
            "dailyRate": num(self.daily_rate), "trendPerWeek": round(p.trend_per_week, 4),
            "projected": {"expected": num(self.projected), "p10": num(self.projected_low),
                          "p90": num(self.projected_high)},
            "exhaustion": {"expected": _iso(p.exhaustion), "p10": _iso(p.exhaustion_early),
                           "p90": _iso(p.exhaustion_late), "withinPeriod": p.exhaustion is not None},
            "runsOut": _iso(p.runs_out),
            "runwayQuarters": None if p.runway_quarters is None else round(p.runway_quarters, 2),
            "alerts": list(b.alerts), "crossed": list(self.crossed), "status": self.status,
            "unpricedTokens": self.unpriced_tokens, "overlapExcludedTokens": self.overlap_tokens,
            "headline": self.headline, "method": p.method,
        }


@dataclass(frozen=True, slots=True)
class BudgetAlert:
    """A threshold crossed for the first time this period (``thresholds``: all newly crossed)."""

    budget: str
    threshold: float  # the highest newly crossed
    thresholds: tuple[float, ...]
    used_fraction: float
    period_start: date
    message: str


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def _json_num(v: Decimal | int) -> float | int:
    return float(v) if isinstance(v, Decimal) else v


def load_budgets(settings: Settings) -> BudgetSettings:
    """The validated ``[budgets]`` of ``settings``; errors name the file, line and key."""
    try:
        return parse_budgets(settings.raw.get("budgets", {}), registry.catalog())
    except BudgetError as exc:
        try:
            text = settings.path.read_text(encoding="utf-8")
        except OSError:
            text = ""
        line = line_of(text, exc.key_path) or line_of(text, exc.key_path[:2])
        where = f"{settings.path}:{line}" if line else str(settings.path)
        raise ConfigError(f"{where}: {exc.message}", exc.hint) from None


def _amount(b: Budget, value: float) -> Decimal | int:
    if b.unit == "usd":
        return Decimal(repr(value)).quantize(CENT, rounding=ROUND_HALF_UP)
    return int(round(value))


def daily_series(conn: sqlite3.Connection, budget: Budget, tz: ZoneInfo, since: date, until: date
                 ) -> tuple[dict[date, Decimal | int], dict[date, int], dict[date, int]]:
    """For ``[since, until)`` in the budget's scope: ``{local day: USD or tokens}``,
    ``{day: tokens without a price}`` and ``{day: tokens seen twice, counted once}``.

    Usage seen both in agent logs and the provider's API is counted once per day by the
    overlap rule of :mod:`tokentui.core.overlap` (the larger view), as reports do.
    """
    since_ms, until_ms = queries.local_day_range(since, until - timedelta(days=1), tz)
    f = queries.Filter(since_ms, until_ms, budget.scope_sources(), budget.models,
                       exact_only=not budget.include_estimated)
    cells: dict[tuple[str, str], Totals] = {}
    raw_tokens: dict[str, int] = {}
    for key, by_source_model in queries.grouped(conn, f, tz, "day").items():
        for (source, _model), t in by_source_model.items():
            cells.setdefault((key, source), Totals()).add(t)
            raw_tokens[key] = raw_tokens.get(key, 0) + t.total
    values: dict[date, Decimal | int] = {}
    unpriced: dict[date, int] = {}
    overlap: dict[date, int] = {}
    for key, t in person_totals(cells, registry.local_provider()).periods.items():
        day = date.fromisoformat(key)
        values[day] = Decimal(t.cost_pico) / PICO if budget.unit == "usd" else t.total
        unpriced[day] = t.unpriced_tokens
        overlap[day] = raw_tokens[key] - t.total
    return values, unpriced, overlap


def evaluate(conn: sqlite3.Connection, budget: Budget, tz: ZoneInfo, now: datetime | None = None) -> BudgetResult:
    """Spent, projection and status of ``budget`` for the period containing ``now``."""
    now = (now or datetime.now(timezone.utc)).astimezone(tz)
    a, b = queries.period_bounds(budget.period, now, tz, budget.start)
    start, end, today = a.date(), b.date(), now.date()
    midnight = datetime.combine(today, datetime.min.time(), tz)
    day_len = (datetime.combine(today + timedelta(days=1), datetime.min.time(), tz) - midnight).total_seconds()
    fraction = min(1.0, (now - midnight).total_seconds() / day_len)
    since = min(start, today - timedelta(days=2 * WINDOW_DAYS))
    series, unpriced_by_day, overlap_by_day = daily_series(conn, budget, tz, since, end)
    in_period = [d for d in series if start <= d <= today]
    spent_exact = sum((series[d] for d in in_period), Decimal(0) if budget.unit == "usd" else 0)
    unpriced = sum(unpriced_by_day[d] for d in in_period) if budget.unit == "usd" else 0
    overlap = sum(overlap_by_day[d] for d in in_period)
    p = project({d: float(v) for d, v in series.items()}, start, end, today, float(budget.amount),
                today_fraction=fraction)
    if budget.unit == "usd":
        spent_exact = Decimal(spent_exact).quantize(CENT, rounding=ROUND_HALF_UP)
    used = float(spent_exact) / float(budget.amount)
    crossed = tuple(t for t in budget.alerts if used >= t)
    if spent_exact >= budget.amount:
        status = OVER
    elif p.projected_over:
        status = PROJECTED_OVER
    elif crossed:
        status = WARNING
    else:
        status = OK
    result = BudgetResult(
        budget=budget, period_start=start, period_end=end, spent=spent_exact,
        remaining=budget.amount - spent_exact, projected=_amount(budget, p.projected),
        projected_low=_amount(budget, p.projected_low), projected_high=_amount(budget, p.projected_high),
        daily_rate=_amount(budget, p.daily_rate), unpriced_tokens=unpriced, overlap_tokens=overlap,
        crossed=crossed, status=status,
        headline="", projection=p, unmatched=matches_nothing(conn, budget, series))
    return _with_headline(result)


def matches_nothing(conn: sqlite3.Connection, budget: Budget, series: dict | None = None) -> bool:
    """A scoped budget with no record in its scope in the whole history (``series``: its recent
    daily values, if known: any usage there is a match without another query)."""
    if not (budget.sources or budget.providers or budget.models) or any((series or {}).values()):
        return False  # all usage, or usage in the recent window: it matches
    return queries.totals(conn, queries.Filter(None, None, budget.scope_sources(), budget.models)).records == 0


def evaluate_all(conn: sqlite3.Connection, settings: Settings, now: datetime | None = None,
                 tz: ZoneInfo | None = None, budgets: BudgetSettings | None = None) -> tuple[BudgetResult, ...]:
    """Every configured budget, evaluated in the user's timezone (``tz`` overrides it)."""
    budgets = budgets or load_budgets(settings)
    tz = tz or settings.tz()
    return tuple(evaluate(conn, b, tz, now) for b in budgets.budgets)


def exit_code(results: Iterable[BudgetResult]) -> int:
    """0: every budget within its thresholds; 1: one projected over before its period ends;
    2: one already over."""
    return max((r.exit_code for r in results), default=0)


# --- words ---------------------------------------------------------------------------------

def _plural(n: float, unit: str, decimals: int = 0) -> str:
    text = f"{n:.{decimals}f}"
    return f"{text} {unit}{'' if text == '1' else 's'}"


def span(days: float, period: str) -> str:
    """A stretch of ``days`` in the unit a reader of a ``period`` budget counts in: days for a
    month; weeks for a quarter; weeks, then quarters, for a year (days under two weeks)."""
    if period == "month" or days < 14:
        return _plural(max(1, round(days)), "day")
    if period == "quarter" or days < QUARTER_DAYS:
        return _plural(round(days / 7), "week")
    return _plural(days / QUARTER_DAYS, "quarter", 1)


def headline(r: BudgetResult) -> str:
    """One plain sentence: 'monthly budget 'work': at this pace it runs out 2026-11-29, 2 days
    before the month ends' / 'won't run out this month at this pace (projected $300.00 of
    $1,000.00)' / 'used up — … (ran out 2026-11-20, 20 days into the month)'."""
    p, b = r.projection, r.budget
    head = f"{PERIOD_ADJECTIVE[b.period]} budget {b.name!r}"
    if r.status == OVER:
        when = (f"ran out {p.runs_out.isoformat()}, {span(p.runway_days, b.period)} into the {b.period}"
                if p.runs_out is not None and p.runway_days is not None else "")
        return (f"{head}: used up — {b.format_amount(r.spent)} of {b.format_amount()}"
                + (f" ({when})" if when else ""))
    if p.daily_rate <= 0 and p.runs_out is None:
        return f"{head}: no recent usage — {b.format_amount(r.remaining)} left this {b.period}"
    if p.runs_out is None or p.runs_out >= r.period_end:
        return (f"{head}: won't run out this {b.period} at this pace "
                f"(projected {b.format_amount(r.projected)} of {b.format_amount()})")
    left = (r.period_end - p.runs_out).days
    return (f"{head}: at this pace it runs out {p.runs_out.isoformat()}, "
            f"{span(left, b.period)} before the {b.period} ends")


def details(r: BudgetResult) -> list[str]:
    """The figures behind a headline, as short lines for a terminal."""
    p, b = r.projection, r.budget
    lines = [f"spent {b.format_amount(r.spent)} of {b.format_amount()} ({r.used_fraction:.0%}) · "
             f"{p.elapsed_fraction:.0%} of the {b.period} elapsed"
             + (f" · pace {p.pace:.2f}×" if p.pace is not None else "")
             + f" · {r.period_start.isoformat()} … {(r.period_end - timedelta(days=1)).isoformat()}",
             f"projected {b.period} total {b.format_amount(r.projected)} (P10–P90 "
             f"{b.format_amount(r.projected_low)} – {b.format_amount(r.projected_high)}) · "
             f"rate {b.format_amount(r.daily_rate)}/day"]
    if r.status != OVER:
        if p.exhaustion:
            band = f"{_iso(p.exhaustion_early)} … {_iso(p.exhaustion_late) or 'not within the ' + b.period}"
            lines.append(f"runs out {p.exhaustion.isoformat()} (P10–P90 {band})")
        elif p.exhaustion_early:
            lines.append(f"runs out: not within the {b.period} at this pace (1 in 10 paths by "
                         f"{p.exhaustion_early.isoformat()})")
        else:
            lines.append(f"runs out: not within the {b.period}")
    if b.unit == "usd" and r.unpriced_tokens:
        lines.append(f"{r.unpriced_tokens:,} tokens in scope have no price and are not counted")
    if r.overlap_tokens:
        lines.append(f"{r.overlap_tokens:,} tokens seen both in agent logs and a provider API were counted once "
                     "(the larger view each day)")
    lines.append(f"scope: {b.scope_text()}")
    if r.unmatched:
        lines.insert(0, f"warning: nothing in your history matches this budget's scope ({b.scope_text()}); "
                        "`tokentop report daily --breakdown` shows the names")
    return lines


def _with_headline(r: BudgetResult) -> BudgetResult:
    return replace(r, headline=headline(r))


# --- alerts --------------------------------------------------------------------------------

def _state_key(budget: str, channel: str) -> str:
    return f"alerts:{channel}:{budget}"


def _fingerprint(r: BudgetResult) -> dict[str, str]:
    # a new period, amount or unit starts the announcements afresh
    return {"period": r.period_start.isoformat(), "amount": str(r.budget.amount), "unit": r.budget.unit}


def new_alerts(conn: sqlite3.Connection, results: Sequence[BudgetResult], channel: str = "tui"
               ) -> tuple[BudgetAlert, ...]:
    """Thresholds crossed for the first time (per budget, period and ``channel``), remembered
    in the store so each is announced once. ``conn`` must be writable."""
    alerts: list[BudgetAlert] = []
    with transaction(conn):
        for r in results:
            key = _state_key(r.budget.name, channel)
            stored = ledger.get_sync_state(conn, STATE_SOURCE, key)
            state = json.loads(stored) if stored else {}
            fp = _fingerprint(r)
            announced = set(state.get("announced", [])) if {k: state.get(k) for k in fp} == fp else set()
            fresh = tuple(t for t in r.crossed if t not in announced)
            if not fresh:
                continue
            ledger.set_sync_state(conn, STATE_SOURCE, key,
                                  json.dumps({**fp, "announced": sorted(announced | set(fresh))}))
            top = max(fresh)
            alerts.append(BudgetAlert(r.budget.name, top, fresh, r.used_fraction, r.period_start,
                                      _alert_message(r, top)))
    return tuple(alerts)


def _alert_message(r: BudgetResult, threshold: float) -> str:
    b = r.budget
    return (f"{PERIOD_ADJECTIVE[b.period]} budget {b.name!r} passed {threshold:.0%}: "
            f"{b.format_amount(r.spent)} of {b.format_amount()} spent. {r.headline.split(': ', 1)[-1]}")


def notify_desktop(alerts: Sequence[BudgetAlert], enabled: bool) -> int:
    """Send each alert with ``notify-send`` when ``enabled`` and installed; returns how many."""
    exe = shutil.which("notify-send") if enabled else None
    if not exe:
        return 0
    sent = 0
    for a in alerts:
        try:
            subprocess.run([exe, "--app-name=tokentop", f"tokentop: budget {a.budget} at {a.threshold:.0%}",
                            a.message], check=False, timeout=5, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            sent += 1
        except (OSError, subprocess.SubprocessError):
            break
    return sent
