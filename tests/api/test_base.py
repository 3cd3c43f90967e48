"""Windows, field readers and the cost estimate (pure functions)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tokentui.core.pricing import Pricer
from tokentui.sources.api.base import (Window, count, decimal, dims, estimate, floor_day, parse_time, plan_window,
                                       text)
from tokentui.sources.api.http import Malformed

TODAY = date(2025, 9, 8)


def test_first_poll_backfills_configured_days():
    assert plan_window(TODAY, 90, None, None) == Window(date(2025, 6, 11), TODAY)
    assert plan_window(TODAY, 90, None, None).days == 90


def test_later_polls_refetch_three_days_or_the_gap():
    covered = date(2025, 6, 11)
    assert plan_window(TODAY, 90, covered, TODAY) == Window(date(2025, 9, 6), TODAY)
    assert plan_window(TODAY, 90, covered, date(2025, 8, 30)) == Window(date(2025, 8, 28), TODAY)
    assert plan_window(TODAY, 5, date(2025, 9, 4), date(2025, 5, 1)) == Window(date(2025, 9, 4), TODAY)


def test_larger_backfill_setting_backfills_again():
    assert plan_window(TODAY, 120, date(2025, 6, 11), TODAY).start == date(2025, 5, 12)


def test_window_bounds_are_utc_midnights():
    w = Window(date(2025, 9, 1), date(2025, 9, 2))
    assert (w.start_ts, w.end_ts, w.days) == (1756684800, 1756857600, 2)
    assert floor_day(1756716699) == 1756684800


def test_readers_accept_missing_and_null_reject_wrong_types():
    assert count({}, "x", "w") == 0 and count({"x": None}, "x", "w") == 0 and count({"x": 3.0}, "x", "w") == 3
    for bad in ("3", True, 1.5, -1, [1]):
        with pytest.raises(Malformed):
            count({"x": bad}, "x", "w")
    assert text({"b": True}, "b", "w") == "true" and text({}, "b", "w") is None
    with pytest.raises(Malformed):
        text({"b": {}}, "b", "w")


def test_money_is_exact_decimal():
    assert decimal(0.13080438340307526, "w") == Decimal("0.13080438340307526")
    assert decimal("116.3715", "w") == Decimal("116.3715")
    for bad in (True, None, "NaN", "1e999999999999", float("inf"), "12,5"):
        with pytest.raises(Malformed):
            decimal(bad, "w")


def test_times():
    assert parse_time("2025-09-01T00:00:00Z", "w") == 1756684800
    assert parse_time("2025-09-01", "w") == 1756684800
    assert parse_time("2025-09-01T02:00:00+02:00", "w") == 1756684800
    with pytest.raises(Malformed):
        parse_time(1756684800, "w")


def test_dims_escape_the_separator():
    assert dims([("line_item", "assistants api | file search"), ("project_id", None)]) == \
        "line_item=assistants api %7C file search|project_id="


def test_estimate_rules():
    table = {"m": {"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6,
                   "input_cost_per_token_above_200k_tokens": 4e-6}}
    p = Pricer(table=table, use_genai=False)
    # 10 requests averaging 30k input: base tier; 1 request of 300k: long-context tier
    assert estimate(p, "m", 300_000, 0, requests=10) == (300_000 * 10**6, "estimated", "per-request estimate")
    assert estimate(p, "m", 300_000, 0, requests=1)[0] == 300_000 * 4 * 10**6
    assert estimate(p, "m", 300_000, 0)[2] == "base-tier estimate"
    assert estimate(p, "unknown", 5, 5) == (None, "unpriced", "no price known")
    assert estimate(None, "m", 5, 5)[1] == "unpriced"
