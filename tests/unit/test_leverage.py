"""Leverage metrics on constructed histories with known answers (core, store service, CLI)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from tokentui import paths
from tokentui.core import leverage as lv
from tokentui.core.records import ESTIMATED, PICO, UsageRecord
from tokentui.services import leverage as svc
from tokentui.store import ledger
from tokentui.store.db import connect, transaction

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
DAY = 86_400_000


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp() * 1000)


def minutes(*stamps: str) -> int:
    return lv.active_minutes([ms(s) // 60_000 for s in stamps])  # epoch minutes, as the store's SQL gives


# --- active minutes --------------------------------------------------------------------

def test_one_event_is_one_active_minute():
    assert minutes("2026-11-19 10:00:30") == 1
    assert lv.active_minutes([]) == 0


def test_repeats_in_one_minute_count_once_and_order_does_not_matter():
    assert minutes("2026-11-19 10:01:59", "2026-11-19 10:00:10", "2026-11-19 10:00:50", "2026-11-19 10:01:00") == 2


def test_gap_just_under_five_minutes_is_merged():
    # minutes 10:00 and 10:05 → 4 idle minutes between (10:01–10:04) < 5 → 10:00…10:05 = 6 minutes
    assert minutes("2026-11-19 10:00:10", "2026-11-19 10:05:50") == 6


def test_gap_of_exactly_five_minutes_is_not_merged():
    # minutes 10:00 and 10:06 → 5 idle minutes: not "under 5"
    assert minutes("2026-11-19 10:00:00", "2026-11-19 10:06:00") == 2


def test_gap_just_over_five_minutes_is_not_merged():
    assert minutes("2026-11-19 10:00:00", "2026-11-19 10:07:00") == 2


def test_active_stretch_across_midnight_is_not_split():
    # 23:58, 23:59 … 00:02 next day: 3 idle minutes (23:59, 00:00, 00:01) → 5 minutes in one stretch
    assert minutes("2026-11-19 23:58:30", "2026-11-20 00:02:10") == 5


def test_several_sessions():
    stamps = ["2026-11-19 09:00:00", "2026-11-19 09:02:00", "2026-11-19 09:04:00",  # 09:00–09:04 = 5
              "2026-11-19 09:30:00",  # alone = 1
              "2026-11-19 14:00:00", "2026-11-19 14:10:00"]  # 9 idle → 1 + 1
    assert minutes(*stamps) == 8


# --- compute ----------------------------------------------------------------------------

def test_compute_known_answers():
    usage = lv.Usage(input=1_000, output=2_000, cache_write=3_000, cache_read=14_000, cost_pico=56 * PICO)
    lev = lv.compute(usage, window_days=28, start_ms=0, end_ms=28 * DAY, active=240, timed_tokens=10_000,
                     tokens_by_model={"a": 15_000, "b": 5_000, None: 7, "<synthetic>": 9},
                     comp_usd=Decimal("200000"))
    assert lev.tokens_per_week == 20_000 / 4 == 5_000
    assert lev.fresh_tokens_per_week == 6_000 / 4
    assert lev.cost_per_week == Decimal(14)
    assert lev.active_hours_per_week == 1.0  # 4 hours over 4 weeks
    assert lev.tokens_per_active_hour == 10_000 / 4
    assert lev.cache_hit_ratio == 14_000 / 18_000
    assert lev.output_share == 2_000 / 20_000
    assert [(m.model, m.tokens, m.share) for m in lev.model_mix] == [("a", 15_000, 0.75), ("b", 5_000, 0.25)]
    assert lev.annualised_spend == Decimal(56) * 365 / 28
    assert lev.spend_to_comp == pytest.approx(float(Decimal(56) * 365 / 28 / 200_000))
    assert lev.value("cost_per_week") == Decimal(14)
    assert set(lev.values()) == set(lv.METRIC_NAMES)


def test_ratios_without_data_are_none_not_zero():
    lev = lv.compute(lv.Usage(), window_days=7, start_ms=0, end_ms=7 * DAY, active=0, timed_tokens=0)
    assert lev.tokens_per_week == 0 and lev.cost_per_week == 0
    assert lev.tokens_per_active_hour is None and lev.cache_hit_ratio is None and lev.output_share is None
    assert lev.spend_to_comp is None
    assert lv.format_value("cache_hit_ratio", None) == "—"


def test_notes_for_unpriced_usage_short_history_and_no_timestamps():
    lev = lv.compute(lv.Usage(input=10, unpriced_tokens=10), window_days=28, start_ms=0, end_ms=28 * DAY,
                     active=0, timed_tokens=0, history_start_ms=21 * DAY)
    text = " ".join(lev.notes)
    assert "no known price" in text and "last 7 of the 28 days" in text and "active hours unknown" in text


def test_format_value():
    assert lv.format_value("tokens_per_week", 1.23e9) == "1.2B"
    assert lv.format_value("cost_per_week", Decimal("312.5")) == "$312.50"
    assert lv.format_value("active_hours_per_week", 14.54) == "14.5 h"
    assert lv.format_value("cache_hit_ratio", 0.92) == "92%"
    assert lv.format_value("tokens_per_active_hour", 2.5e6) == "2.5M/h"


# --- the store service -----------------------------------------------------------------

def rec(source: str, key: str, ts: int, model: str | None = "claude-sonnet-4-5", *, inp: int = 0, out: int = 0,
        cw: int = 0, cr: int = 0, cost: str | None = "0", width_s: int = 0) -> UsageRecord:
    return UsageRecord(source=source, key=key, ts_ms=ts, model=model, input=inp, output=out, cache_write_5m=cw,
                       cache_read=cr, cost_pico=None if cost is None else int(Decimal(cost) * PICO),
                       cost_label=ESTIMATED if cost is not None else "unpriced",
                       kind="api" if width_s else "local", width_s=width_s)


@pytest.fixture
def store():
    conn = connect(paths.history_db())
    yield conn
    conn.close()


def put(conn, records):
    with transaction(conn):
        ledger.upsert(conn, records, device="test")


def test_measure_on_a_constructed_history(store):
    base = ms("2026-11-18 23:50:00")
    put(store, [
        # one session across UTC midnight: 23:50, 23:53, 23:57, 00:01 → 23:50…00:01 = 12 minutes
        rec("claude-code", "a", base, inp=100, out=200, cw=300, cr=1_400, cost="2"),
        rec("claude-code", "b", base + 3 * 60_000, inp=100, out=200, cr=400, cost="1"),
        rec("claude-code", "c", base + 7 * 60_000, inp=100, out=100, cost="1"),
        rec("codex", "d", base + 11 * 60_000, "gpt-5", inp=500, out=500, cr=1_000, cost="4"),
        # 6 idle minutes later: a new 1-minute stretch
        rec("codex", "e", base + 18 * 60_000, "gpt-5", inp=100, out=100, cost=None),
        # outside the window (29 days ago) and in the future: not counted
        rec("claude-code", "old", ms("2026-10-22 10:00:00"), inp=10**9, cost="1000"),
        rec("claude-code", "new", ms("2026-11-20 12:00:00"), inp=10**9, cost="1000"),
    ])
    lev = svc.measure(store, now=NOW, window_days=28, comp_usd=Decimal("52000"))
    assert lev.usage == lv.Usage(input=900, output=1_100, cache_write=300, cache_read=2_800, cost_pico=8 * PICO,
                                 unpriced_tokens=200)
    assert lev.active_minutes == 12 + 1
    assert lev.tokens_per_week == 5_100 / 4
    assert lev.cost_per_week == Decimal(2)
    assert lev.active_hours_per_week == pytest.approx(13 / 60 / 4)
    assert lev.tokens_per_active_hour == pytest.approx(5_100 / (13 / 60))
    assert lev.cache_hit_ratio == pytest.approx(2_800 / 4_000)
    assert [m.model for m in lev.model_mix] == ["claude-sonnet-4-5", "gpt-5"]
    assert lev.spend_to_comp == pytest.approx(8 * 365 / 28 / 52_000)
    assert not any("history covers" in n for n in lev.notes)  # history began before the window


def test_measure_counts_claude_code_and_the_anthropic_api_once(store):
    day = ms("2026-11-10 00:00:00")
    put(store, [
        rec("claude-code", "l1", day + 3_600_000, inp=1_000, out=1_000, cost="3"),
        rec("anthropic", "messages|x", day, "claude-sonnet-4-5-api", inp=3_000, out=2_000, cost="9", width_s=86_400),
        # another day: only the local view exists, so it counts as it is
        rec("claude-code", "l2", day + 2 * DAY, inp=700, cost="1"),
    ])
    lev = svc.measure(store, now=NOW)
    assert lev.usage.total == 5_000 + 700  # the API view (larger) that day, never the sum
    assert lev.usage.cost_pico == 10 * PICO
    assert {m.model for m in lev.model_mix} == {"claude-sonnet-4-5-api", "claude-sonnet-4-5"}
    # the day bucket has no time of its own: activity and tokens/active hour come from the local entries
    assert lev.active_minutes == 2 and lev.timed_tokens == 2_700


def test_measure_empty_store(store):
    lev = svc.measure(store, now=NOW, window_days=7)
    assert lev.usage.total == 0 and lev.active_minutes == 0 and lev.model_mix == ()


# --- report, config and CLI ------------------------------------------------------------

TEAM = """format = "tokentop-team/1"
name = "Platform"
window_days = 28
generated = "2026-11-20T09:00:00Z"
source = "snapshots"
members = 5
[metrics.tokens_per_week]
n = 5
p10 = 400
p25 = 800
p50 = 1275
p75 = 2000
p90 = 4000
"""


def _config(isolated, text: str):
    cfg = isolated / "config" / "config.toml"
    cfg.parent.mkdir(exist_ok=True)
    cfg.write_text(text)
    return cfg


def test_report_places_against_the_team_file_and_headline(store, isolated):
    from tokentui.config import load_settings

    put(store, [rec("claude-code", "a", ms("2026-11-19 10:00:00"), inp=5_100, cost="8")])
    team = isolated / "team.toml"
    team.write_text(TEAM)
    _config(isolated, f'comp_usd = 100000\n[team]\nfile = "{team}"\n')
    r = svc.build_report(store, load_settings(), now=NOW)
    row = r.row("tokens_per_week")
    assert row.value == 1_275 and row.placement.percentile == 50 and row.placement.multiple_of_median == 1
    assert r.row("cost_per_week").placement is None  # not in the team file
    assert r.row("spend_to_comp").value == pytest.approx(8 * 365 / 28 / 100_000)
    assert r.headline == "1.3k tokens/week · p50 of Platform (1× median) · $2.00/week · cache hits 0.0%"
    data = r.to_json()
    assert data["metrics"]["tokens_per_week"]["team"]["percentile"] == 50
    assert data["team"]["name"] == "Platform" and data["not_a_ranking"]
    assert all(ref["source"] for ref in data["references"])


def test_report_without_comp_has_no_spend_row_and_a_bad_team_file_is_a_problem_not_a_crash(store, isolated):
    from tokentui.config import load_settings

    _config(isolated, f'[team]\nfile = "{isolated / "missing.toml"}"\n')
    r = svc.build_report(store, load_settings(), now=NOW)
    assert r.team is None and "does not exist" in r.team_problem
    assert "spend_to_comp" not in [row.metric for row in r.rows]
    _config(isolated, '[team]\nfil = "x"\n')
    r = svc.build_report(store, load_settings(), now=NOW)
    assert "config.toml:2: team.fil: unknown setting" in r.team_problem


def test_cli_leverage_json_and_text(store, isolated, capsys):
    from tokentui.cli import main

    put(store, [rec("claude-code", "a", ms("2026-11-19 10:00:00"), inp=5_000, out=100, cost="8")])
    assert main(["leverage", "--no-sync", "--json", "--window", "3650"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["window_days"] == 3650 and data["metrics"]["tokens_per_week"]["value"] > 0
    assert main(["leverage", "--no-sync"]) == 0
    text = capsys.readouterr().out
    assert "a ranking of people" in text and "No team file set" in text and "source:" in text
    assert max(len(line) for line in text.splitlines()) <= 80
    assert main(["leverage", "--window", "0"]) == 2


def test_cli_team_use_sets_config_keeping_other_settings(isolated, capsys):
    from tokentui.cli import main
    from tokentui.config import load_settings

    cfg = _config(isolated, 'timezone = "Europe/Berlin"\n')
    team = isolated / "team.toml"
    team.write_text(TEAM)
    assert main(["team", "use", str(team)]) == 0
    assert "Platform" in capsys.readouterr().out
    s = load_settings(cfg)
    assert s.raw["team"] == {"file": str(team.resolve())} and s.timezone == "Europe/Berlin"
    team.write_text(TEAM.replace("p50 = 1275", "p50 = 100"))
    assert main(["team", "use", str(team)]) == 1
    assert "must not decrease" in capsys.readouterr().err


def test_window_covers_exactly_window_days(store):
    start = NOW - timedelta(days=7)
    put(store, [rec("codex", "in", int(start.timestamp() * 1000), "gpt-5", inp=70),
                rec("codex", "before", int(start.timestamp() * 1000) - 1, "gpt-5", inp=10**6)])
    lev = svc.measure(store, now=NOW, window_days=7)
    assert lev.usage.total == 70 and lev.tokens_per_week == 70


def test_snapshot_json_leaves_comp_out_unless_asked():
    lev = lv.compute(lv.Usage(input=7_000, cost_pico=28 * PICO), window_days=28, start_ms=0, end_ms=28 * DAY,
                     active=60, timed_tokens=7_000, comp_usd=Decimal("100000"))
    data = lev.to_json()
    assert "spend_to_comp" not in data and data["cost_per_week"] == "7.00" and data["window_days"] == 28
    assert data["tokens_per_week"] == 1750 and data["tokens_per_active_hour"] == 7000
    assert lev.to_json(include_comp=True)["spend_to_comp"] == pytest.approx(28 * 365 / 28 / 100_000)
    json.dumps(data)  # JSON-ready as it is
