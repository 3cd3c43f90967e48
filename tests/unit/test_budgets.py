"""Budgets: validation of [budgets] in config.toml, evaluation against the store, alerts."""

from __future__ import annotations

import os
import stat
import tomllib
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import tomli_w

from tokentui import paths
from tokentui.config import ConfigError, load_settings
from tokentui.core.budgets import (DEFAULT_ALERTS, Budget, BudgetError, parse_alerts, parse_budget,
                                   parse_budgets)
from tokentui.core.records import ESTIMATED, UNPRICED, UsageRecord, to_pico
from tokentui.services import budgets as svc
from tokentui.sources import registry
from tokentui.store import ledger
from tokentui.store.db import connect, transaction

CATALOG = registry.catalog()

UTC = ZoneInfo("UTC")
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


def parse(table: dict, name: str = "work") -> Budget:
    return parse_budget(name, table, CATALOG)


# --- validation ------------------------------------------------------------------------------

def test_full_budget_table():
    b = parse({"usd": "5000.50", "period": "year", "start": date(2026, 4, 1), "sources": ["codex"],
               "providers": ["anthropic"], "models": ["gpt-5", "gpt-5"], "alerts": [1, 0.5]})
    assert b.unit == "usd" and b.amount == Decimal("5000.50") and isinstance(b.amount, Decimal)
    assert b.period == "year" and b.start == date(2026, 4, 1)
    assert b.models == ("gpt-5",) and b.alerts == (0.5, 1.0)
    assert b.scope_sources() == ("codex", "claude-code", "anthropic")
    assert "providers anthropic" in b.scope_text()
    assert b.describe() == ("$5,000.50 per year from 04-01 · sources codex · providers anthropic · models gpt-5 · "
                            "alerts at 50%, 100%")
    assert parse({"usd": 9, "period": "month", "start": "2026-01-15"}).describe().startswith("$9.00 per month from day 15")


def test_defaults_and_token_amounts():
    b = parse({"tokens": 2_000_000_000, "period": "month"})
    assert b.unit == "tokens" and b.amount == 2_000_000_000 and b.alerts == DEFAULT_ALERTS
    assert b.scope_sources() == () and b.scope_text() == "all usage"
    assert parse({"tokens": "2,000,000", "period": "month"}).amount == 2_000_000
    assert parse({"tokens": 2e9, "period": "month"}).amount == 2_000_000_000


@pytest.mark.parametrize("table, key, words", [
    ({"usd": -5, "period": "month"}, "usd", "must be positive"),
    ({"usd": 0, "period": "month"}, "usd", "greater than zero"),
    ({"tokens": 0, "period": "month"}, "tokens", "greater than zero"),
    ({"tokens": 1.5, "period": "month"}, "tokens", "whole number"),
    ({"usd": "lots", "period": "month"}, "usd", "amount in dollars"),
    ({"usd": True, "period": "month"}, "usd", "amount in dollars"),
    ({"usd": "nan", "period": "month"}, "usd", "finite"),
    ({"usd": 5, "period": "week"}, "period", "unknown period 'week'"),
    ({"usd": 5}, "period", "missing"),
    ({"usd": 5, "period": "month", "sources": ["windsurf"]}, "sources", "unknown source 'windsurf'"),
    ({"usd": 5, "period": "month", "sources": "codex"}, "sources", "list of source names"),
    ({"usd": 5, "period": "month", "providers": ["azure"]}, "providers", "unknown provider 'azure'"),
    ({"usd": 5, "period": "month", "models": [""]}, "models", "list of model names"),
    ({"usd": 5, "period": "month", "alerts": [0]}, "alerts", "out of range"),
    ({"usd": 5, "period": "month", "alerts": [80]}, "alerts", "out of range"),
    ({"usd": 5, "period": "month", "alerts": [-0.5]}, "alerts", "out of range"),
    ({"usd": 5, "period": "month", "alerts": ["half"]}, "alerts", "not a number"),
    ({"usd": 5, "period": "month", "alerts": 0.5}, "alerts", "list of fractions"),
    ({"usd": 5, "period": "year", "start": "2026-13-01"}, "start", "expected a date"),
    ({"usd": 5, "period": "year", "start": "April"}, "start", "expected a date"),
    ({"usd": 5, "period": "year", "start": datetime(2026, 4, 1, 9)}, "start", "without a time"),
    ({"usd": 5, "period": "year", "colour": "red"}, "colour", "unknown setting"),
])
def test_invalid_budgets_are_rejected_naming_budget_and_key(table, key, words):
    with pytest.raises(BudgetError) as info:
        parse(table)
    assert info.value.key_path == ["budgets", "work", key]
    assert str(info.value).startswith(f"budgets.work.{key}: ")
    assert words in str(info.value)


@pytest.mark.parametrize("table, words", [
    ({"usd": 5, "tokens": 5, "period": "month"}, "either usd or tokens"),
    ({"period": "month"}, "missing amount"),
])
def test_amount_problems_name_the_budget(table, words):
    with pytest.raises(BudgetError, match=words) as info:
        parse(table)
    assert str(info.value).startswith("budgets.work: ")


def test_budget_names_and_section_settings():
    with pytest.raises(BudgetError, match="budget name"):
        parse({"usd": 5, "period": "month"}, name="has space")
    with pytest.raises(BudgetError, match="setting of \\[budgets\\]"):
        parse({"usd": 5, "period": "month"}, name="notify_desktop")
    settings = parse_budgets({"notify_desktop": True, "a": {"usd": 1, "period": "month"}}, CATALOG)
    assert settings.notify_desktop and [b.name for b in settings.budgets] == ["a"]
    with pytest.raises(BudgetError, match="true or false"):
        parse_budgets({"notify_desktop": "yes"}, CATALOG)
    with pytest.raises(BudgetError, match="expected a table \\[budgets.limit\\]"):
        parse_budgets({"limit": 5}, CATALOG)


def test_alert_strings_from_the_command_line():
    assert parse_alerts("0.5,0.8,1", ["x"]) == (0.5, 0.8, 1.0)
    assert parse_alerts("50%, 80%,100%", ["x"]) == (0.5, 0.8, 1.0)
    assert parse_alerts("1.2,0.9,0.9", ["x"]) == (0.9, 1.2)
    assert parse_alerts([], ["x"]) == ()


def test_providers_map_to_known_sources():
    providers = CATALOG.provider_sources
    for provider, sources in providers.items():
        assert set(sources) <= set(CATALOG.names), provider
    assert providers["anthropic"] == ("claude-code", "anthropic")
    assert providers["openai"] == ("codex", "openai")


@pytest.mark.parametrize("table", [
    {"usd": 5000, "period": "year", "start": date(2026, 4, 1)},
    {"usd": "99.99", "period": "month", "alerts": [0.9]},
    {"usd": "0.1234567890123456789", "period": "month"},
    {"tokens": 10**12, "period": "quarter", "sources": ["codex"], "providers": ["openai"], "models": ["gpt-5"]},
])
def test_to_raw_round_trips_through_toml(table):
    b = parse(table)
    text = tomli_w.dumps({"budgets": {"work": b.to_raw()}})
    again = parse_budgets(tomllib.loads(text)["budgets"], CATALOG).budgets[0]
    assert again == b


def test_config_errors_name_file_line_and_key():
    cfg = paths.config_file()
    cfg.parent.mkdir(parents=True)
    cfg.write_text('timezone = "UTC"\n\n[budgets.work]\nusd = 100\nperiod = "weekly"\n')
    with pytest.raises(ConfigError) as info:
        svc.load_budgets(load_settings())
    assert str(info.value) == f"{cfg}:5: budgets.work.period: unknown period 'weekly' (one of: month, quarter, year)"
    cfg.write_text('[budgets.work]\nperiod = "month"\n')
    with pytest.raises(ConfigError, match=":1: budgets.work: missing amount"):
        svc.load_budgets(load_settings())


# --- evaluation against the store ------------------------------------------------------------

_n = iter(range(10**9))


def record(source: str, when: datetime, usd: str | None = "1.00", tokens: int = 1000, model: str = "m1"
           ) -> UsageRecord:
    return UsageRecord(source=source, key=f"k{next(_n)}", ts_ms=int(when.timestamp() * 1000), model=model,
                       input=tokens, cost_pico=None if usd is None else to_pico(usd),
                       cost_label=UNPRICED if usd is None else ESTIMATED,
                       kind="api" if source in ("openai", "anthropic") else "local")


def daily(source: str, days: int, usd: str | None = "1.00", tokens: int = 1000, model: str = "m1",
          end: datetime = NOW) -> list[UsageRecord]:
    """One record a day at noon UTC for ``days`` days up to and including ``end``'s day."""
    noon = end.replace(hour=12, minute=0)
    return [record(source, noon - timedelta(days=i), usd, tokens, model) for i in range(days)]


@pytest.fixture
def conn():
    c = connect(paths.history_db())
    yield c
    c.close()


def put(conn, records):
    with transaction(conn):
        ledger.upsert(conn, records, device="test")


def budget(**table) -> Budget:
    return parse({"period": "month", **table})


def test_spent_and_projection_in_usd_are_exact_decimals(conn):
    put(conn, daily("claude-code", 56, "2.50"))
    r = svc.evaluate(conn, budget(usd=1000), UTC, NOW)
    assert r.period_start == date(2026, 11, 1) and r.period_end == date(2026, 12, 1)
    assert r.spent == Decimal("62.50") and isinstance(r.spent, Decimal)
    assert r.remaining == Decimal("937.50")
    # half of today has passed: 2.50 already logged today + 0.5 × 2.50 + 5 days × 2.50
    assert r.projected == Decimal("76.25")
    assert r.daily_rate == Decimal("2.50")
    assert r.status == svc.OK and r.crossed == () and r.exit_code == 0
    assert r.headline == "monthly budget 'work': won't run out this month at this pace (projected $76.25 of $1,000.00)"
    data = r.to_json()
    assert data["spent"] == 62.5 and data["projected"]["expected"] == 76.25 and data["status"] == "ok"


def test_token_budgets_count_all_token_kinds(conn):
    records = daily("codex", 30, tokens=400_000)
    for r in records:
        r.output, r.cache_write_5m, r.cache_write_1h, r.cache_read = 100_000, 50_000, 50_000, 400_000
    put(conn, records)
    r = svc.evaluate(conn, budget(tokens=10_000_000_000), UTC, NOW)
    assert r.spent == 25_000_000 and isinstance(r.spent, int)
    assert r.budget.format_amount(r.spent) == "25M tokens"


def test_scope_by_source_provider_and_model(conn):
    put(conn, daily("claude-code", 5, "1.00", model="opus"))
    put(conn, daily("anthropic", 5, "10.00", model="opus"))
    put(conn, daily("codex", 5, "100.00", model="gpt-5"))
    spent = {name: svc.evaluate(conn, b, UTC, NOW).spent for name, b in {
        "all": budget(usd=10**6),
        "source": budget(usd=10**6, sources=["claude-code"]),
        "provider": budget(usd=10**6, providers=["anthropic"]),
        "openai": budget(usd=10**6, providers=["openai"]),
        "model": budget(usd=10**6, models=["gpt-5"]),
        "both": budget(usd=10**6, providers=["anthropic"], models=["gpt-5"]),
    }.items()}
    # claude-code and anthropic saw the same tokens: counted once (the API view on a tie)
    assert spent == {"all": Decimal("550.00"), "source": Decimal("5.00"), "provider": Decimal("50.00"),
                     "openai": Decimal("500.00"), "model": Decimal("500.00"), "both": Decimal("0.00")}


def test_days_follow_the_users_timezone(conn):
    # 23:30 UTC on Oct 31 is already Nov 1 in Berlin
    put(conn, [record("codex", datetime(2026, 10, 31, 23, 30, tzinfo=timezone.utc), "7.00")])
    assert svc.evaluate(conn, budget(usd=100), UTC, NOW).spent == 0
    assert svc.evaluate(conn, budget(usd=100), ZoneInfo("Europe/Berlin"), NOW).spent == Decimal("7.00")


def test_unpriced_usage_is_reported_not_counted(conn):
    put(conn, daily("claude-code", 3, None, tokens=5000))
    r = svc.evaluate(conn, budget(usd=100), UTC, NOW)
    assert r.spent == 0 and r.unpriced_tokens == 15000
    assert any("15,000 tokens in scope have no price" in line for line in svc.details(r))


def test_statuses_and_exit_codes(conn):
    put(conn, daily("codex", 56, "10.00"))  # $245 so far in Nov, $300 by month end
    results = {amount: svc.evaluate(conn, budget(usd=amount), UTC, NOW) for amount in (1000, 400, 290, 200)}
    assert [results[a].status for a in (1000, 400, 290, 200)] == [svc.OK, svc.WARNING, svc.PROJECTED_OVER,
                                                                   svc.OVER]
    assert results[400].crossed == (0.5,)
    assert results[200].crossed == (0.5, 0.8, 1.0)
    assert "used up" in results[200].headline and "ran out 2026-11-20" in results[200].headline
    assert svc.exit_code([results[1000], results[400]]) == 0
    assert svc.exit_code(results.values()) == 2
    assert svc.exit_code([results[1000], results[290]]) == 1
    assert svc.exit_code([]) == 0


def test_evaluate_all_reads_budgets_and_timezone_from_settings(conn):
    cfg = paths.config_file()
    cfg.parent.mkdir(parents=True)
    cfg.write_text('timezone = "UTC"\n[budgets.a]\nusd = 100\nperiod = "month"\n'
                   '[budgets.b]\ntokens = 1000\nperiod = "year"\nstart = 2026-04-01\n')
    results = svc.evaluate_all(conn, load_settings(), NOW)
    assert [r.budget.name for r in results] == ["a", "b"]
    assert results[1].period_start == date(2026, 4, 1) and results[1].period_end == date(2027, 4, 1)
    assert results[0].headline == "monthly budget 'a': no recent usage — $100.00 left this month"


# --- alerts ----------------------------------------------------------------------------------

def test_each_threshold_is_announced_once(conn):
    b = budget(usd=400)
    put(conn, daily("codex", 56, "10.00", end=NOW - timedelta(days=10)))  # $150 by Nov 15
    r = svc.evaluate(conn, b, UTC, NOW)
    assert svc.new_alerts(conn, [r]) == ()  # 37.5 %: nothing crossed
    put(conn, daily("codex", 10, "10.00"))  # $250: past 50 %
    r = svc.evaluate(conn, b, UTC, NOW)
    (alert,) = svc.new_alerts(conn, [r])
    assert alert.budget == "work" and alert.threshold == 0.5 and alert.thresholds == (0.5,)
    assert "passed 50%" in alert.message and "$250.00 of $400.00" in alert.message
    assert svc.new_alerts(conn, [r]) == ()  # announced already
    assert svc.new_alerts(conn, [svc.evaluate(conn, b, UTC, NOW)]) == ()
    # another channel keeps its own memory
    assert [a.threshold for a in svc.new_alerts(conn, [r], channel="desktop")] == [0.5]
    # a big day crosses 80 % and 100 % at once: one alert naming the highest
    put(conn, [record("codex", NOW, "200.00")])
    (alert,) = svc.new_alerts(conn, [svc.evaluate(conn, b, UTC, NOW)])
    assert alert.threshold == 1.0 and alert.thresholds == (0.8, 1.0)
    # the next period starts afresh
    later = svc.evaluate(conn, b, UTC, datetime(2026, 12, 20, tzinfo=timezone.utc))
    assert later.crossed == ()
    assert svc.new_alerts(conn, [later]) == ()


def test_changing_the_amount_resets_announcements(conn):
    put(conn, daily("codex", 25, "10.00"))
    assert len(svc.new_alerts(conn, [svc.evaluate(conn, budget(usd=400), UTC, NOW)])) == 1
    (alert,) = svc.new_alerts(conn, [svc.evaluate(conn, budget(usd=300), UTC, NOW)])
    assert alert.thresholds == (0.5, 0.8)


def test_desktop_notification_only_when_enabled_and_installed(tmp_path, monkeypatch):
    alert = svc.BudgetAlert("work", 0.8, (0.8,), 0.81, date(2026, 11, 1), "monthly budget 'work' passed 80%")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert svc.notify_desktop([alert], enabled=True) == 0
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "notify.log"
    exe = bindir / "notify-send"
    exe.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" >> {log}\n')
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(bindir) + os.pathsep + os.environ.get("PATH", ""))
    assert svc.notify_desktop([alert], enabled=False) == 0 and not log.exists()
    assert svc.notify_desktop([alert], enabled=True) == 1
    assert log.read_text().splitlines() == ["--app-name=tokentop", "tokentop: budget work at 80%",
                                            "monthly budget 'work' passed 80%"]


def test_usage_seen_in_logs_and_api_counts_once(conn):
    # the Anthropic API saw $10/day, Claude Code's logs $1/day of (part of) the same usage
    put(conn, daily("claude-code", 5, "1.00", tokens=1_000))
    api = daily("anthropic", 5, "10.00", tokens=50_000)
    for r in api:
        r.ts_ms, r.width_s, r.cost_label = r.ts_ms - 12 * 3600 * 1000, 86400, "billed"  # UTC day buckets
    put(conn, api)
    put(conn, daily("codex", 5, "2.00"))
    r = svc.evaluate(conn, budget(usd=1000), UTC, NOW)
    assert r.spent == Decimal("60.00")  # the larger (API) view of Anthropic + Codex, never 65
    assert r.overlap_tokens == 5_000
    assert svc.evaluate(conn, budget(usd=1000, providers=["anthropic"]), UTC, NOW).spent == Decimal("50.00")
    assert svc.evaluate(conn, budget(usd=1000, sources=["claude-code"]), UTC, NOW).spent == Decimal("5.00")
    assert any("counted once" in line for line in svc.details(r))


# --- headlines in words a reader checks against a calendar ------------------------------------

@pytest.mark.parametrize("table, expected", [
    # $10 a day at noon since Oct 1: $250 of November by now (noon Nov 25), $305 by its end
    ({"usd": 1000}, "monthly budget 'work': won't run out this month at this pace (projected $305.00 of $1,000.00)"),
    ({"usd": 290}, "monthly budget 'work': at this pace it runs out 2026-11-29, 2 days before the month ends"),
    ({"usd": 200}, "monthly budget 'work': used up — $250.00 of $200.00 (ran out 2026-11-20, 20 days into the "
                   "month)"),
    # the quarter Oct–Dec: $560 by now; $600 lasts to Nov 29, 4.7 weeks before Jan 1
    ({"usd": 600, "period": "quarter"},
     "quarterly budget 'work': at this pace it runs out 2026-11-29, 5 weeks before the quarter ends"),
    ({"usd": 600, "period": "quarter", "start": "2026-11-01"},  # Nov–Jan: $250 so far
     "quarterly budget 'work': at this pace it runs out 2026-12-30, 5 weeks before the quarter ends"),
    # the year from Apr 1: $560 by now (all of it since Oct 1), $1,825 by Mar 31 at this pace
    ({"usd": 1000, "period": "year", "start": "2026-04-01"},
     "annual budget 'work': at this pace it runs out 2027-01-08, 12 weeks before the year ends"),
    ({"usd": 700, "period": "year", "start": "2026-04-01"},
     "annual budget 'work': at this pace it runs out 2026-12-09, 1.2 quarters before the year ends"),
    ({"usd": 300, "period": "year", "start": "2026-04-01"},
     "annual budget 'work': used up — $560.00 of $300.00 (ran out 2026-10-30, 2.3 quarters into the year)"),
    ({"usd": 100_000, "period": "year", "start": "2026-04-01"},
     "annual budget 'work': won't run out this year at this pace (projected $1,825.00 of $100,000.00)"),
])
def test_headlines_use_the_periods_own_units(conn, table, expected):
    """Days for a month, weeks for a quarter, weeks or quarters for a year; a budget that lasts
    past the period end says it won't run out this period, never a date after it or "more
    than 40 quarters"."""
    put(conn, daily("codex", 56, "10.00"))
    r = svc.evaluate(conn, parse({"period": "month", **table}), UTC, NOW)
    assert r.headline == expected


@pytest.mark.parametrize("text, tokens", [("50M", 50_000_000), ("1.5B", 1_500_000_000), ("250k", 250_000),
                                          ("2 T", 2_000_000_000_000), ("12b", 12_000_000_000),
                                          ("2,000,000", 2_000_000)])
def test_token_amounts_accept_the_suffixes_every_screen_prints(text, tokens):
    """`--tokens 50M` (or tokens = "50M" in config) means what the dashboard's "50M" means."""
    assert parse({"tokens": text, "period": "month"}).amount == tokens


@pytest.mark.parametrize("text", ["50X", "M", "0.5k5", "1.0000001k", "-5M", "1e999999999M", "1e999999999"])
def test_token_amounts_with_a_suffix_are_still_whole_and_checked(text):
    with pytest.raises(BudgetError):
        parse({"tokens": text, "period": "month"})


def test_a_scope_that_matches_nothing_in_history_is_said(conn):
    """A budget scoped to a model id (or source) that never occurs stays "$0.00, on track"
    forever unless someone says so: its details carry a warning."""
    put(conn, daily("claude-code", 10, "1.00", model="claude-sonnet-4-5-20250929"))
    never = svc.evaluate(conn, budget(usd=100, models=["claude-sonnet-4.5"]), UTC, NOW)
    assert never.unmatched and never.spent == 0
    assert any(line.startswith("warning: nothing in your history matches this budget's scope (models "
                               "claude-sonnet-4.5)") for line in svc.details(never))
    for b in (budget(usd=100, models=["claude-sonnet-4-5"]), budget(usd=100, sources=["claude-code"]),
              budget(usd=100)):
        r = svc.evaluate(conn, b, UTC, NOW)
        assert not r.unmatched and not any(line.startswith("warning:") for line in svc.details(r))
    # usage long before the projection window still counts as a match
    old = datetime(2025, 1, 15, 12, tzinfo=timezone.utc)
    put(conn, daily("codex", 1, "1.00", model="gpt-5", end=old))
    assert not svc.evaluate(conn, budget(usd=100, models=["gpt-5"]), UTC, NOW).unmatched
