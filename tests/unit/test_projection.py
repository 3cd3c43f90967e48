"""The projection engine on constructed series with known answers, and a calibration back-test."""

from __future__ import annotations

import math
import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokentui.core import projection as P
from tokentui.core.projection import project, quantile, spike_fence
from tokentui.store.queries import period_bounds

D = date.fromisoformat
NOV, DEC = D("2026-11-01"), D("2026-12-01")
TODAY = D("2026-11-25")  # a Wednesday; Nov 26–30 = Thu, Fri, Sat, Sun, Mon


def days(start: str, n: int, value=10.0) -> dict[date, float]:
    d0 = D(start)
    return {d0 + timedelta(days=i): (value(d0 + timedelta(days=i), i) if callable(value) else value)
            for i in range(n)}


def test_constant_rate_projects_rate_times_remaining_days():
    s = days("2026-10-01", 56)  # to 2026-11-25
    p = project(s, NOV, DEC, TODAY, budget=1000)
    assert p.spent == 250
    assert p.projected == pytest.approx(300)
    assert p.daily_rate == pytest.approx(10)
    assert p.projected_low <= 300 <= p.projected_high
    assert p.projected_high - p.projected_low < 60  # a steady user gets a narrow band
    assert p.elapsed_fraction == pytest.approx(25 / 30)
    assert p.used_fraction == pytest.approx(0.25)
    assert p.pace == pytest.approx(0.25 / (25 / 30))
    assert p.exhaustion is None and not p.projected_over and not p.over
    # 750 left at 10/day: 75 days after Nov 25 → runway 100 days from Nov 1
    assert p.runway_days == pytest.approx(100)
    assert p.runs_out == D("2027-02-08")
    assert p.runway_quarters == pytest.approx(100 / (365.25 / 4))
    assert "28 day(s) of history, 2026-10-29 to 2026-11-25" in p.method


def test_annual_budget_headline_numbers():
    # fiscal year from 2026-11-01, $40/day: a $4,210 budget lasts 105.25 days ≈ 1.15 quarters
    s = days("2026-10-01", 56, 40.0)
    p = project(s, NOV, D("2027-11-01"), TODAY, budget=4210)
    assert p.runway_days == pytest.approx(105.25)
    assert round(p.runway_quarters, 1) == 1.2  # "lasts 1.2 quarters (runs out 2027-02-14)"
    assert p.runs_out == D("2027-02-14")
    assert p.exhaustion == D("2027-02-14")  # within the year
    assert p.exhaustion_early <= p.exhaustion <= p.exhaustion_late
    assert p.projected_over


def test_weekday_only_usage_is_not_projected_on_weekends():
    s = days("2026-10-01", 56, lambda d, i: 10.0 if d.weekday() < 5 else 0.0)
    p = project(s, NOV, DEC, TODAY, budget=1000)
    # Nov 26 Thu, 27 Fri, 30 Mon are weekdays; 28–29 weekend
    assert p.projected == pytest.approx(p.spent + 30)
    assert p.weekend_rate == 0 and p.weekday_rate == pytest.approx(10)
    assert "weekend day runs at 0% of a weekday" in p.method


def test_linear_growth_is_extrapolated():
    s = days("2026-10-01", 56, lambda d, i: 10.0 + i)  # 65 on Nov 25
    p = project(s, NOV, DEC, TODAY)
    linear = p.spent + sum(65 + k for k in range(1, 6))
    flat = p.spent + 5 * 65
    assert flat < p.projected <= linear
    assert p.projected == pytest.approx(linear, rel=0.005)
    assert p.trend_per_week == pytest.approx(7 / 65, rel=0.05)
    assert "Trend +10" in p.method


def test_trend_is_damped_over_long_horizons():
    s = days("2026-10-01", 56, lambda d, i: 10.0 + i)
    p = project(s, NOV, D("2027-11-01"), TODAY)
    straight_line = p.spent + sum(65 + k for k in range(1, 341))
    assert p.projected < 0.6 * straight_line  # a month's trend does not compound for a year
    assert p.projected > p.spent + 340 * 65  # but it still counts


def test_single_spike_does_not_set_the_pace():
    s = days("2026-10-01", 56)
    s[D("2026-11-20")] = 500.0
    p = project(s, NOV, DEC, TODAY, budget=1000)
    assert p.spent == 740
    assert p.projected == pytest.approx(790, abs=5)  # ≈ 10/day, not the 27/day a mean would give
    assert p.projected_high > p.projected + 50  # the band keeps the risk of another spike
    assert "1 spike day(s) capped" in p.method


def test_spike_fence_leaves_regular_heavy_days_alone():
    steady = [10.0] * 27 + [500.0]
    assert spike_fence(steady) < 500
    regular = [10.0] * 20 + [30.0] * 8  # heavy twice a week is a rhythm, not a spike
    assert max(regular) <= spike_fence(regular)
    frequent = [10.0] * 22 + [30.0] * 6  # above the fence, but too often to be spikes
    assert spike_fence(frequent) == math.inf
    assert spike_fence([1.0, 2.0]) == math.inf


def test_no_usage():
    p = project({}, NOV, DEC, TODAY, budget=100)
    assert p.spent == p.projected == p.projected_low == p.projected_high == 0
    assert p.daily_rate == 0 and p.runway_days is None and p.runs_out is None and p.exhaustion is None
    assert p.pace == 0
    assert "No usage" in p.method
    assert [b.actual for b in p.burnup[:3]] == [0, 0, 0]


def test_zero_usage_lately_projects_nothing_more():
    s = days("2026-09-01", 30)  # usage stopped 2026-09-30
    s.update(days("2026-10-01", 56, 0.0))
    p = project(s, NOV, DEC, TODAY, budget=100)
    assert p.projected == 0 and p.runs_out is None


def test_few_days_of_history_widen_the_band():
    s = {D("2026-11-23"): 5.0, D("2026-11-24"): 7.0, D("2026-11-25"): 6.0}
    p = project(s, NOV, DEC, TODAY, budget=100)
    assert p.window_days == 3 and p.window_start == D("2026-11-23")
    assert p.projected == pytest.approx(18 + 5 * 6)
    assert p.projected_low < 40 and p.projected_high > 60
    assert "No trend (needs 14+ days)" in p.method and "No weekday/weekend rhythm" in p.method


def test_first_day_partial_usage_is_scaled_to_a_whole_day():
    p = project({TODAY: 3.0}, NOV, DEC, TODAY, budget=100, today_fraction=0.5)
    assert p.daily_rate == pytest.approx(6)
    assert p.projected == pytest.approx(3 + 0.5 * 6 + 5 * 6)
    assert "scaled to a whole day" in p.method


def test_gaps_count_as_days_without_usage():
    s = days("2026-10-01", 56, lambda d, i: 20.0 if i % 2 == 0 else 0.0)
    p = project(s, NOV, DEC, TODAY)
    assert p.daily_rate == pytest.approx(10, rel=0.1)
    assert p.projected == pytest.approx(p.spent + 50, rel=0.05)
    # missing keys behave exactly like explicit zeros
    sparse = {d: v for d, v in s.items() if v}
    q = project(sparse, NOV, DEC, TODAY)
    assert (q.projected, q.projected_low, q.projected_high) == (p.projected, p.projected_low, p.projected_high)


def test_already_over_reports_the_day_it_ran_out():
    s = days("2026-10-01", 56)
    p = project(s, NOV, DEC, TODAY, budget=95)
    assert p.over and p.projected_over
    assert p.exhaustion == p.runs_out == D("2026-11-10")
    assert p.runway_days == pytest.approx(9.5)


def test_partial_today_adds_only_the_rest_of_the_day():
    s = days("2026-10-01", 55)  # complete days to Nov 24
    s[TODAY] = 4.0  # so far today
    p = project(s, NOV, DEC, TODAY, today_fraction=0.25)
    assert p.spent == 244
    assert p.projected == pytest.approx(244 + 0.75 * 10 + 5 * 10)
    assert p.window_start == D("2026-10-28") and p.window_days == 28  # today is not history yet


def test_burnup_has_actuals_to_today_and_a_band_after():
    s = days("2026-10-01", 56)
    p = project(s, NOV, DEC, TODAY, budget=1000)
    assert len(p.burnup) == 30
    assert [b.day for b in p.burnup] == [NOV + timedelta(days=i) for i in range(30)]
    assert p.burnup[24].actual == 250 and p.burnup[24].expected == 250
    assert p.burnup[25].actual is None
    for b in p.burnup[25:]:
        assert b.low <= b.expected <= b.high or b.low <= b.high
    assert p.burnup[-1].expected == pytest.approx(p.projected)


def test_deterministic():
    s = days("2026-10-01", 56, lambda d, i: 5 + (i * 7919) % 13)
    a = project(s, NOV, D("2027-11-01"), TODAY, budget=5000)
    b = project(s, NOV, D("2027-11-01"), TODAY, budget=5000)
    assert a == b


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(st.one_of(st.just(0.0), st.floats(0, 1e6)), min_size=0, max_size=60),
       offset=st.integers(0, 29), fraction=st.floats(0.01, 1.0), budget=st.floats(1, 1e7),
       period=st.sampled_from(["2026-11-01..2026-12-01", "2026-10-01..2027-01-01", "2026-04-01..2027-04-01"]))
def test_invariants_on_arbitrary_series(values, offset, fraction, budget, period):
    start, end = (D(x) for x in period.split(".."))
    today = start + timedelta(days=offset)
    first = today - timedelta(days=len(values) - 1)
    s = {first + timedelta(days=i): v for i, v in enumerate(values)}
    p = project(s, start, end, today, budget, today_fraction=fraction, samples=60)
    assert p.spent == pytest.approx(sum(v for d, v in s.items() if start <= d <= today))
    assert p.spent <= p.projected_low * (1 + 1e-9) + 1e-9
    assert p.projected_low <= p.projected <= p.projected_high
    cum = [b.actual for b in p.burnup if b.actual is not None] + [b.expected for b in p.burnup[(today - start).days + 1:]]
    assert all(a <= b * (1 + 1e-9) + 1e-9 for a, b in zip(cum, cum[1:]))  # burn-up never goes down
    assert len(p.burnup) == (end - start).days
    if p.exhaustion is not None:
        assert start <= p.exhaustion < end and p.projected_over
    if p.exhaustion_early and p.exhaustion:
        assert p.exhaustion_early <= p.exhaustion
    if p.exhaustion_late and p.exhaustion:
        assert p.exhaustion <= p.exhaustion_late
    assert p.over == (p.spent >= budget)
    assert p == project(s, start, end, today, budget, today_fraction=fraction, samples=60)


def test_today_outside_the_period_is_refused():
    with pytest.raises(ValueError):
        project({}, NOV, DEC, DEC)


# --- back-test -------------------------------------------------------------------------------

def synthetic_history(rng: random.Random, start: date, n: int) -> dict[date, float]:
    """A developer's daily usage: weekly rhythm, lognormal noise, idle days, rare spikes, and a
    level that trends and wanders (log-level random walk with drift)."""
    level = math.exp(rng.uniform(0, math.log(200)))
    weekend = rng.choice([0.0, rng.uniform(0.05, 0.6), 1.0])
    sigma, p_idle = rng.uniform(0.2, 0.8), rng.uniform(0, 0.1)
    drift, wander = rng.uniform(-0.02, 0.04), rng.uniform(0.02, 0.08)  # per week, in log level
    log_level, out = 0.0, {}
    for i in range(n):
        d = start + timedelta(days=i)
        log_level += drift / 7 + rng.gauss(0, wander / math.sqrt(7))
        v = level * math.exp(log_level) * (weekend if d.weekday() >= 5 else 1.0)
        v *= math.exp(rng.gauss(-sigma ** 2 / 2, sigma))
        if rng.random() < p_idle:
            v = 0.0
        if rng.random() < 0.01:
            v *= rng.uniform(4, 10)
        out[d] = v
    return out


def backtest(histories: int, seed: int = 7, samples: int = 200) -> tuple[float, dict[str, float], int]:
    rng = random.Random(seed)
    hits: dict[str, int] = {}
    runs: dict[str, int] = {}
    utc = ZoneInfo("UTC")
    for _ in range(histories):
        start = D("2024-01-01") + timedelta(days=rng.randrange(365))
        series = synthetic_history(rng, start, 560)
        for period in ("month", "quarter", "year"):
            first = start + timedelta(days=rng.randrange(30))
            as_of = first + timedelta(days=rng.choice([5, 10, 28, 60, 120]) + rng.randrange(60))
            a, b = (x.date() for x in period_bounds(period, datetime.combine(as_of, datetime.min.time()), utc))
            if (b - as_of).days < 7 or b > start + timedelta(days=559):
                continue
            known = {d: v for d, v in series.items() if first <= d <= as_of}
            p = project(known, a, b, as_of, samples=samples)
            realised = sum(v for d, v in series.items() if a <= d < b and d >= first)
            hits[period] = hits.get(period, 0) + (p.projected_low <= realised <= p.projected_high)
            runs[period] = runs.get(period, 0) + 1
    total = sum(runs.values())
    return sum(hits.values()) / total, {k: hits[k] / runs[k] for k in runs}, total


def test_backtest_band_coverage():
    """How often the P10–P90 band holds the realised period total (target ≈ 80 %)."""
    coverage, by_period, n = backtest(histories=120)
    print(f"\nP10–P90 coverage over {n} windows: {coverage:.1%} "
          + ", ".join(f"{k} {v:.1%}" for k, v in sorted(by_period.items())))
    assert 0.7 <= coverage <= 0.95
    for value in by_period.values():
        assert 0.6 <= value <= 0.97


@pytest.mark.soak
def test_backtest_band_coverage_soak():
    coverage, by_period, n = backtest(histories=600, seed=11)
    print(f"\nP10–P90 coverage over {n} windows: {coverage:.1%} "
          + ", ".join(f"{k} {v:.1%}" for k, v in sorted(by_period.items())))
    assert 0.72 <= coverage <= 0.9


def test_quantile():
    assert quantile([1, 2, 3, 4], 0.5) == 2.5
    assert quantile([5], 0.9) == 5
    assert P.QUARTER_DAYS == pytest.approx(91.3125)


@pytest.mark.parametrize("drop", [1.0, 2.5, 3.0, 3.7])
def test_a_falling_trend_never_reads_below_minus_100_percent_a_week(drop):
    """Use falling to nothing within a week is −100 %/week: the level cannot fall below zero, so
    a figure like "−979.5 %/week" is impossible (it divided a linear slope by a small level)."""
    s = days("2026-10-29", 28, lambda d, i: max(0.5, 100.0 - drop * i))
    p = project(s, NOV, DEC, TODAY, budget=1000)
    assert -1.0 <= p.trend_per_week < 0
    figure = float(p.method.split("Trend ", 1)[1].split("%/week", 1)[0])
    assert -100.0 <= figure < 0 and figure == pytest.approx(p.trend_per_week * 100, abs=0.05)
