"""Budget projection: where a period's usage lands and when a budget runs out.

Pure and deterministic: a daily series (local day → USD or tokens) and the period's dates in,
numbers out. No I/O, no clock (the caller says what "today" is), a fixed seed.

Method, in short (``Projection.method`` states it for each result):

* **Window.** The last 28 complete days (fewer if history is younger; history starts at the
  first day with usage). Days without usage inside the window count as zero.
* **Spikes.** Rare days above Tukey's far fence (Q3 + 3·IQR of active days) are capped at the
  fence for the rate, so one spike does not set the pace (they still count in what was
  spent, and in the band).
* **Rhythm.** Separate weekday and weekend means (each needs 2+ days in the window), so a
  weekday-only user is not projected to work weekends.
* **Trend.** A least-squares slope of the de-seasonalised daily value, shrunk by its
  significance (t²/(t²+4): noise-sized slopes vanish, clear ones stay) and damped day by day
  (φ = 0.985), so a month's trend does not compound for a year.
* **Band.** 500 seeded paths: each re-fits the model on the window resampled within weekday
  and weekend days, draws each future day's ratio to the fit from the observed ratios (so
  zero days and spikes recur at their observed frequency; half a pseudo-count keeps an
  unseen 5× day possible) and lets the level drift as a random walk. P10/P90 of the paths' totals and exhaustion days form the bands. The drift
  scale is calibrated by the back-test in ``tests/unit/test_projection.py`` (≈80 % coverage).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Mapping, Sequence

WINDOW_DAYS = 28
SPIKE_FACTOR = 5.0
DAMPING = 0.985
#: slope shrinkage t²/(t²+SHRINK): a slope at t = √SHRINK keeps half its size
SHRINK = 4.0
#: pseudo-count of an unseen heavy day (SPIKE_FACTOR × the fit) in each day class's ratio pool
HEAVY_PSEUDO = 0.5
SAMPLES = 500
SEED = 20261122
#: log-level random-walk step per week of the band's paths (calibrated by the back-test)
DRIFT_PER_WEEK = 0.10
#: extra log-level spread when the window holds fewer than a week of days
FEW_DAYS_SPREAD = 0.35
QUARTER_DAYS = 365.25 / 4
#: runway extrapolation stops here (≈ 10 years): beyond it a budget "won't run out"
MAX_RUNWAY_DAYS = 3653


@dataclass(frozen=True, slots=True)
class Fit:
    """Weekday/weekend factors, de-seasonalised level at the last observed day, daily slope."""

    weekday: float = 1.0
    weekend: float = 1.0
    level: float = 0.0
    slope: float = 0.0
    rhythm: bool = False  # weekday and weekend factors were estimated (2+ days of each)

    def trend_per_week(self) -> float:
        """Relative change of the level over a week (0.05 = +5 %/week). The level cannot fall
        below zero, so a falling trend bottoms out at −1 (−100 %: nothing left in a week)."""
        if self.level <= 0:
            return 0.0
        return max(0.0, self.level + 7 * self.slope) / self.level - 1

    def expected(self, d: date, ahead: int) -> float:
        """Expected value of day ``d``, ``ahead`` days after the last observed day."""
        trend = self.slope * DAMPING * (1 - DAMPING ** ahead) / (1 - DAMPING)
        return (self.weekend if d.weekday() >= 5 else self.weekday) * max(0.0, self.level + trend)


@dataclass(frozen=True, slots=True)
class BurnupPoint:
    """One day of the burn-up chart: cumulative actual (to today) and projected cumulatives."""

    day: date
    actual: float | None
    expected: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True, slots=True)
class Projection:
    """Everything the gauges, the burn-up chart and ``budget check`` show for one period."""

    period_start: date
    period_end: date  # exclusive
    today: date
    spent: float
    budget: float | None
    elapsed_fraction: float
    used_fraction: float | None
    pace: float | None  # used_fraction / elapsed_fraction: 1.0 = on track, 2.0 = twice too fast
    daily_rate: float  # expected mean per day over the next 7 days (rhythm and trend included)
    weekday_rate: float
    weekend_rate: float
    trend_per_week: float  # relative change of the level per week (0.05 = +5 %/week)
    projected: float  # expected period total
    projected_low: float  # P10
    projected_high: float  # P90
    exhaustion: date | None  # day the budget runs out within the period (expected); None: not within
    exhaustion_early: date | None  # P10 of the paths' exhaustion days
    exhaustion_late: date | None  # P90; None: not within the period
    runs_out: date | None  # expected run-out day, extrapolated past the period end; None: never
    runway_days: float | None  # period start → run-out, at this pace; None: never / beyond the limit
    window_start: date | None
    window_days: int
    method: str
    burnup: tuple[BurnupPoint, ...]

    @property
    def runway_quarters(self) -> float | None:
        """How many quarters the budget lasts from the period start at this pace."""
        return None if self.runway_days is None else self.runway_days / QUARTER_DAYS

    @property
    def over(self) -> bool:
        """The budget is already used up."""
        return self.budget is not None and self.spent >= self.budget

    @property
    def projected_over(self) -> bool:
        """At this pace the budget runs out before the period ends (or already has)."""
        return self.budget is not None and self.projected >= self.budget


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


def quantile(xs: Sequence[float], q: float) -> float:
    """Linear-interpolated quantile of ``xs`` (``q`` in [0, 1])."""
    s = sorted(xs)
    pos = q * (len(s) - 1)
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def spike_fence(values: Sequence[float]) -> float:
    """The value above which a day is a spike, capped for the rate (``inf``: no spikes).

    Tukey's far fence over active days (Q3 + 3·IQR, at least twice the median), and only
    when such days are rare (at most one in ten), so a regular heavy day is never capped.
    """
    positive = [v for v in values if v > 0]
    if len(positive) < 5:
        return math.inf
    q1, q3 = quantile(positive, 0.25), quantile(positive, 0.75)
    fence = max(q3 + 3 * (q3 - q1), 2 * quantile(positive, 0.5))
    above = sum(1 for v in positive if v > fence)
    return fence if above <= max(1, len(values) // 10) else math.inf


def fit(points: Sequence[tuple[int, bool, float]], t_last: int, trend: bool = True) -> Fit:
    """Fit rhythm, level and slope to ``(day index, is weekend, value)`` points."""
    if not points:
        return Fit()
    wd = [v for _, we, v in points if not we]
    we_ = [v for _, we, v in points if we]
    rhythm = len(wd) >= 2 and len(we_) >= 2
    if rhythm:
        m_wd, m_we = _mean(wd), _mean(we_)
    else:
        m_wd = m_we = _mean([v for _, _, v in points])
    base = (5 * m_wd + 2 * m_we) / 7
    if base <= 0:
        return Fit(rhythm=rhythm)
    s_wd, s_we = m_wd / base, m_we / base
    ys = [(t, v / (s_we if we else s_wd)) for t, we, v in points if (s_we if we else s_wd) > 0]
    tbar = _mean([t for t, _ in ys])
    ybar = _mean([y for _, y in ys])
    slope = 0.0
    if trend and len(ys) >= 10:
        sxx = sum((t - tbar) ** 2 for t, _ in ys)
        if sxx > 0:
            b = sum((t - tbar) * (y - ybar) for t, y in ys) / sxx
            ssr = sum((y - ybar - b * (t - tbar)) ** 2 for t, y in ys)
            se = math.sqrt(ssr / (len(ys) - 2) / sxx)
            tstat2 = (b / se) ** 2 if se > 1e-12 * max(1.0, abs(b)) else math.inf
            slope = b if math.isinf(tstat2) else b * tstat2 / (tstat2 + SHRINK)
    level = max(0.0, ybar + slope * (t_last - tbar))
    return Fit(s_wd, s_we, level, slope, rhythm)


def _observed(series: Mapping[date, float], today: date, today_fraction: float, history_start: date | None,
              window: int) -> tuple[list[date], date]:
    """The window's days and the last complete (observed) day."""
    last = today if today_fraction >= 1 else today - timedelta(days=1)
    first = history_start
    if first is None:
        used = [d for d, v in series.items() if v > 0 and d <= last]
        first = min(used) if used else None
    if first is None or first > last:
        return [], last
    start = max(first, last - timedelta(days=window - 1))
    return [start + timedelta(days=i) for i in range((last - start).days + 1)], last


def project(series: Mapping[date, float], period_start: date, period_end: date, today: date,
            budget: float | None = None, *, today_fraction: float = 1.0, history_start: date | None = None,
            window: int = WINDOW_DAYS, samples: int = SAMPLES, seed: int = SEED) -> Projection:
    """Project the period ``[period_start, period_end)`` from daily usage ``series``.

    ``today`` lies in the period; ``today_fraction`` is how much of it has passed (1.0: the day
    is complete and counts as history). ``budget`` (same unit as the series) adds the used
    fraction, pace, exhaustion dates and runway. ``history_start`` is the first day the
    series is known for (default: its first day with usage).
    """
    if not period_start <= today < period_end:
        raise ValueError("today must lie inside the period")
    today_fraction = min(1.0, max(0.0, today_fraction))
    spent = sum(v for d, v in series.items() if period_start <= d <= today)
    days, last = _observed(series, today, today_fraction, history_start, window)
    values = [float(series.get(d, 0.0)) for d in days]
    note = ""
    if not days and series.get(today, 0) > 0 and today_fraction < 1:
        # first day of history: scale today's partial usage to a whole day, with a wide band
        days, values = [today], [series[today] / max(today_fraction, 0.25)]
        last = today - timedelta(days=1)
        note = "only today's usage so far, scaled to a whole day"
    t_last = (last - period_start).days
    points = [((d - period_start).days, d.weekday() >= 5, v) for d, v in zip(days, values)]
    cap = spike_fence(values)
    capped = [(t, we, min(v, cap)) for t, we, v in points]
    main = fit(capped, t_last, trend=len(points) >= 14)

    # future days: the rest of today (if partial), then every day to the period end
    future: list[tuple[date, int, float]] = []
    if today_fraction < 1:
        future.append((today, 1, 1 - today_fraction))
    d = today + timedelta(days=1)
    while d < period_end:
        future.append((d, (d - last).days, 1.0))
        d += timedelta(days=1)
    expected_days = [main.expected(day, k) * w for day, k, w in future]
    projected = spent + sum(expected_days)

    paths = _simulate(points, capped, main, t_last, future, spent, samples, seed)
    totals = [p[-1] if p else spent for p in paths]
    low, high = quantile(totals, 0.1), quantile(totals, 0.9)
    low, high = min(low, projected), max(high, projected)

    exhaustion = early = late = runs_out = runway = None
    if budget is not None:
        crossed = _crossing(series, period_start, today, budget)
        if crossed is not None:
            exhaustion = early = late = runs_out = crossed[0]
            runway = crossed[1]
        else:
            runway, runs_out = _runway(main, spent, budget, period_start, future, last)
            exhaustion = runs_out if runs_out is not None and runs_out < period_end else None
            early, late = _exhaustion_band(paths, future, budget)
            if exhaustion is not None:
                early = min(early or exhaustion, exhaustion)
                late = max(late, exhaustion) if late else None
    total_days = (period_end - period_start).days
    elapsed = ((today - period_start).days + today_fraction) / total_days
    used = spent / budget if budget else None
    pace = used / elapsed if used is not None and elapsed > 0 else None
    upcoming = [main.expected(last + timedelta(days=k), k) for k in range(1, 8)]
    burnup = _burnup(series, period_start, today, future, expected_days, paths, spent)
    return Projection(
        period_start=period_start, period_end=period_end, today=today, spent=spent, budget=budget,
        elapsed_fraction=elapsed, used_fraction=used, pace=pace, daily_rate=_mean(upcoming),
        weekday_rate=main.weekday * main.level, weekend_rate=main.weekend * main.level,
        trend_per_week=main.trend_per_week(),
        projected=projected, projected_low=low, projected_high=high, exhaustion=exhaustion,
        exhaustion_early=early, exhaustion_late=late, runs_out=runs_out, runway_days=runway,
        window_start=days[0] if days else None, window_days=len(days),
        method=describe(main, days, values, cap, note, samples), burnup=burnup)


def _simulate(points, capped, main: Fit, t_last: int, future, spent: float, samples: int,
              seed: int) -> list[list[float]]:
    """Cumulative totals per future day for each seeded path (see the module docstring)."""
    if not future:
        return [[]]
    if not points:
        return [[spent] * len(future)]
    rng = random.Random(seed)
    ratios: dict[bool, list[float]] = {False: [], True: []}
    for (t, we, v) in points:
        f = (main.weekend if we else main.weekday) * max(0.0, main.level + main.slope * (t - t_last))
        if f > 0:
            ratios[we].append(v / f)
    by_class = {False: [p for p in capped if not p[1]], True: [p for p in capped if p[1]]}
    few = FEW_DAYS_SPREAD * max(0, 7 - len(points)) / 6
    trend = len(points) >= 14
    # per future day: weekend?, damped trend multiplier, weight, drift step (weekly random walk)
    damp = [DAMPING * (1 - DAMPING ** ahead) / (1 - DAMPING) for _, ahead, _ in future]
    weekend = [day.weekday() >= 5 for day, _, _ in future]
    weights = [w for _, _, w in future]
    steps = [i for i, (_, ahead, _) in enumerate(future) if i == 0 or ahead % 7 == 0]
    n_we = sum(weekend)
    paths = []
    for _ in range(samples):
        sample = [p for cls in (False, True) for p in
                  (rng.choices(by_class[cls], k=len(by_class[cls])) if by_class[cls] else [])]
        pf = fit(sample, t_last, trend)
        draws = {False: iter(_draw(rng, ratios[False], len(future) - n_we)),
                 True: iter(_draw(rng, ratios[True], n_we))}
        walk = rng.gauss(0.0, few) if few else 0.0
        drift = math.exp(walk)
        step_at = set(steps)
        cum, total = [], spent
        for i in range(len(future)):
            if i in step_at:
                walk += rng.gauss(0.0, DRIFT_PER_WEEK)
                drift = math.exp(walk)
            we = weekend[i]
            r = next(draws[we], 0.0)
            level = pf.level + pf.slope * damp[i]
            if level > 0 and r:
                total += (pf.weekend if we else pf.weekday) * level * drift * r * weights[i]
            cum.append(total)
        paths.append(cum)
    return paths


def _draw(rng: random.Random, pool: list[float], k: int) -> list[float]:
    """``k`` day ratios from ``pool``; an unseen heavy day (half a pseudo-count) stays possible."""
    if not pool:
        return []
    out = rng.choices(pool, k=k)
    p_heavy = HEAVY_PSEUDO / (len(pool) + HEAVY_PSEUDO)
    for i in range(k):
        if rng.random() < p_heavy:
            out[i] = max(out[i], SPIKE_FACTOR)
    return out


def _exhaustion_band(paths: Sequence[Sequence[float]], future, budget: float) -> tuple[date | None, date | None]:
    """P10 and P90 of the paths' run-out days (``None``: not within the period)."""
    firsts = sorted(next((i for i, v in enumerate(p) if v >= budget), math.inf) for p in paths)
    e10, e90 = firsts[int(0.1 * (len(firsts) - 1))], firsts[math.ceil(0.9 * (len(firsts) - 1))]
    return (None if e10 == math.inf else future[e10][0], None if e90 == math.inf else future[e90][0])


def _crossing(series: Mapping[date, float], period_start: date, today: date,
              budget: float) -> tuple[date, float] | None:
    """The day (and runway in days) the actual usage reached ``budget``, if it has."""
    total = 0.0
    for i in range((today - period_start).days + 1):
        d = period_start + timedelta(days=i)
        v = float(series.get(d, 0.0))
        if total + v >= budget and v > 0:
            return d, i + (budget - total) / v
        total += v
    return None


def _runway(main: Fit, spent: float, budget: float, period_start: date, future, last: date
            ) -> tuple[float | None, date | None]:
    """Expected run-out day, continuing the fitted pace past the period end if needed."""
    total = spent
    for day, ahead, weight in future:
        e = main.expected(day, ahead) * weight
        if e > 0 and total + e >= budget:
            start = 1 - weight  # a partial today starts part-way through the day
            return (day - period_start).days + start + weight * (budget - total) / e, day
        total += e
    day = (future[-1][0] if future else last) + timedelta(days=1)
    if main.level <= 0 or main.level + main.slope * DAMPING / (1 - DAMPING) <= 0:
        return None, None
    while (day - period_start).days < MAX_RUNWAY_DAYS:
        e = main.expected(day, (day - last).days)
        if e > 0 and total + e >= budget:
            return (day - period_start).days + (budget - total) / e, day
        total += e
        day += timedelta(days=1)
    return None, None


def _burnup(series, period_start, today, future, expected_days, paths, spent) -> tuple[BurnupPoint, ...]:
    out, total = [], 0.0
    for i in range((today - period_start).days + 1):
        d = period_start + timedelta(days=i)
        total += float(series.get(d, 0.0))
        out.append(BurnupPoint(d, total, *([spent] * 3 if d == today else [None] * 3)))
    cum = spent
    for j, (day, _, _) in enumerate(future):
        cum += expected_days[j]
        col = [p[j] for p in paths]
        # a partial today: its end-of-day projection joins today's actual point
        point = BurnupPoint(day, spent if day == today else None, cum, quantile(col, 0.1), quantile(col, 0.9))
        if day == today:
            out[-1] = point
        else:
            out.append(point)
    return tuple(out)


def describe(main: Fit, days: Sequence[date], values: Sequence[float], cap: float, note: str = "",
             samples: int = SAMPLES) -> str:
    """One paragraph saying which method and window produced a projection."""
    if not days:
        return "No usage in the history yet: nothing to project, the projection is what was spent."
    parts = [f"Daily rate from {len(days)} day(s) of history, {days[0].isoformat()} to {days[-1].isoformat()}"
             + (f" ({note})" if note else "") + "."]
    if main.rhythm:
        ratio = main.weekend / main.weekday if main.weekday else math.inf
        parts.append(f"Weekday/weekend rhythm: a weekend day runs at {ratio:.0%} of a weekday."
                     if math.isfinite(ratio) else "Weekday/weekend rhythm: weekend use only.")
    else:
        parts.append("No weekday/weekend rhythm (needs 2+ days of each in the window).")
    if len(days) >= 14:
        rel = main.trend_per_week()
        parts.append(f"Trend {rel:+.1%}/week (least squares, shrunk by its significance, damped "
                     f"{DAMPING}/day).")
    else:
        parts.append("No trend (needs 14+ days).")
    spikes = sum(1 for v in values if v > cap)
    if spikes:
        parts.append(f"{spikes} spike day(s) capped at {cap:,.2f} for the rate (Tukey's far fence).")
    parts.append(f"P10–P90 band from {samples} seeded paths (resampled days, observed day-to-day variation, "
                 f"level drift {DRIFT_PER_WEEK:.0%}/√week).")
    return " ".join(parts)
