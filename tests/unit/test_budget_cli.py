"""`tokentop budget set|list|remove|check` end to end: config.toml, the store, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import pytest

from tokentui import paths
from tokentui.cli import main
from tokentui.config import update_config
from tokentui.core.records import ESTIMATED, UsageRecord, to_pico
from tokentui.store import ledger
from tokentui.store.db import connect, transaction

ROOT = Path(__file__).resolve().parents[2]
OTHER_SETTINGS = '''timezone = "UTC"
device = "laptop"

[pricing.overrides."my-model"]
input = 3.0
output = 15.0

[sources.codex]
paths = ["~/work/.codex"]
'''


@pytest.fixture
def config() -> Path:
    cfg = paths.config_file()
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(OTHER_SETTINGS)
    return cfg


def today() -> date:
    return datetime.now(timezone.utc).date()


def seed_store(days: int = 19, usd: str = "10.00") -> None:
    """$``usd`` a day at noon UTC for the ``days`` days before today."""
    conn = connect(paths.history_db())
    records = [UsageRecord(source="claude-code", key=f"cli-{i}", model="claude-sonnet-4-5", input=1000,
                           ts_ms=int(datetime.combine(today() - timedelta(days=i), time(12), timezone.utc)
                                     .timestamp() * 1000), cost_pico=to_pico(usd), cost_label=ESTIMATED,
                           logged_cost_pico=to_pico(usd))  # a logged cost survives re-pricing on sync
               for i in range(1, days + 1)]
    with transaction(conn):
        ledger.upsert(conn, records, device="test")
    conn.close()


def fiscal_start() -> str:
    """A year starting 10 days ago: 10 days of the seeded usage ($100) fall in this period."""
    return (today() - timedelta(days=10)).isoformat()


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def set_budget(capsys, name: str, usd: str, *extra: str) -> None:
    code, out, err = run(capsys, "budget", "set", name, "--usd", usd, "--period", "year", "--start", fiscal_start(),
                         *extra)
    assert code == 0, err


# --- set / list / remove -------------------------------------------------------------------

def test_set_list_remove_keep_other_settings(capsys, config):
    code, out, _ = run(capsys, "budget", "set", "work", "--usd", "5000", "--period", "year", "--start",
                       "2026-04-01", "--provider", "anthropic", "--alert", "50%,90%")
    assert code == 0
    assert "budget 'work' added: $5,000.00 per year from 04-01 · providers anthropic" in out
    code, out, _ = run(capsys, "budget", "set", "tok", "--tokens", "2_000_000_000", "--period", "month",
                       "--source", "codex", "--model", "gpt-5")
    assert code == 0
    raw = tomllib.loads(config.read_text())
    assert raw["timezone"] == "UTC" and raw["device"] == "laptop"
    assert raw["pricing"]["overrides"]["my-model"] == {"input": 3.0, "output": 15.0}
    assert raw["sources"]["codex"]["paths"] == ["~/work/.codex"]
    assert raw["budgets"]["work"] == {"usd": 5000, "period": "year", "start": date(2026, 4, 1),
                                      "providers": ["anthropic"], "alerts": [0.5, 0.9]}
    assert raw["budgets"]["tok"] == {"tokens": 2_000_000_000, "period": "month", "sources": ["codex"],
                                     "models": ["gpt-5"]}
    assert oct(config.stat().st_mode & 0o777) == "0o600"

    code, out, _ = run(capsys, "budget", "list")
    assert code == 0
    assert out.splitlines()[0].startswith("work  $5,000.00 per year")
    assert "tok   2.0B tokens per month · sources codex · models gpt-5 · alerts at 50%, 80%, 100%" in out
    code, out, _ = run(capsys, "budget", "list", "--json")
    assert [b["name"] for b in json.loads(out)["budgets"]] == ["work", "tok"]

    # changing one flag keeps the rest
    code, out, _ = run(capsys, "budget", "set", "work", "--usd", "6000.50")
    assert code == 0 and "budget 'work' changed: $6,000.50 per year" in out
    assert tomllib.loads(config.read_text())["budgets"]["work"]["providers"] == ["anthropic"]

    code, out, _ = run(capsys, "budget", "remove", "work")
    assert code == 0 and "removed" in out
    raw = tomllib.loads(config.read_text())
    assert list(raw["budgets"]) == ["tok"] and raw["device"] == "laptop"
    code, _, err = run(capsys, "budget", "remove", "work")
    assert code == 2 and "no budget named 'work'" in err and "budgets: tok" in err


@pytest.mark.parametrize("argv, words", [
    (["--usd", "-5", "--period", "month"], "budget 'x': --usd: must be positive"),
    (["--usd", "0", "--period", "month"], "budget 'x': --usd: must be greater than zero"),
    (["--tokens", "1.5", "--period", "month"], "budget 'x': --tokens: expected a whole number"),
    (["--usd", "5", "--period", "month", "--source", "windsurf"], "budget 'x': --source: unknown source 'windsurf'"),
    (["--usd", "5", "--period", "month", "--provider", "azure"], "--provider: unknown provider 'azure'"),
    (["--usd", "5", "--period", "month", "--alert", "50,80"], "--alert: alert threshold '50' is out of range"),
    (["--usd", "5", "--period", "year", "--start", "2026-02-30"], "--start: expected a date like 2026-04-01"),
    (["--usd", "5"], "give --period month, quarter or year"),
    (["--period", "month"], "give an amount with --usd N or --tokens N"),
])
def test_set_rejects_invalid_budgets(capsys, config, argv, words):
    code, out, err = run(capsys, "budget", "set", "x", *argv)
    assert code == 2 and out == ""
    assert err.startswith("tokentop: error: ") and words in err
    assert "budgets" not in tomllib.loads(config.read_text())


def test_unknown_period_is_refused_by_the_parser(capsys, config):
    with pytest.raises(SystemExit) as info:
        main(["budget", "set", "x", "--usd", "5", "--period", "week"])
    assert info.value.code == 2
    assert "invalid choice: 'week'" in capsys.readouterr().err


# --- check ---------------------------------------------------------------------------------

def test_check_without_budgets(capsys, config):
    code, out, _ = run(capsys, "budget", "check", "--no-sync")
    assert code == 0 and "No budgets yet" in out


@pytest.mark.parametrize("usd, expected, status", [
    ("100000", 0, "ok"),  # $100 spent, ≈ $3,650 projected for the year
    ("1000", 1, "projected_over"),
    ("50", 2, "over"),
])
def test_check_exit_codes(capsys, config, usd, expected, status):
    seed_store()
    set_budget(capsys, "year", usd)
    code, out, err = run(capsys, "budget", "check")  # syncs local sources first (none here)
    assert code == expected, err
    assert "annual budget 'year'" in out and "how this is computed: Daily rate from 19 day(s)" in out
    code, out, _ = run(capsys, "budget", "check", "--json", "--no-sync")
    data = json.loads(out)
    assert code == expected and data["exitCode"] == expected
    (b,) = data["budgets"]
    assert b["status"] == status and b["spent"] == 100.0 and b["periodStart"] == fiscal_start()
    assert b["projected"]["p10"] <= b["projected"]["expected"] <= b["projected"]["p90"]
    assert b["dailyRate"] == 10.0


def test_check_reports_the_worst_budget(capsys, config):
    seed_store()
    set_budget(capsys, "roomy", "100000")
    set_budget(capsys, "tight", "1000")
    code, out, _ = run(capsys, "budget", "check", "--no-sync")
    assert code == 1
    assert "[ok  ] annual budget 'roomy'" in out and "[RISK] annual budget 'tight': at this pace it runs out" in out
    set_budget(capsys, "gone", "50")
    code, out, _ = run(capsys, "budget", "check", "--no-sync")
    assert code == 2 and "[OVER] annual budget 'gone': used up — $100.00 of $50.00" in out


def test_check_with_a_broken_config_exits_3(capsys, config):
    config.write_text(OTHER_SETTINGS + '\n[budgets.bad]\nusd = 10\nperiod = "fortnight"\n')
    code, _, err = run(capsys, "budget", "check")
    assert code == 3
    assert f"{config}:13: budgets.bad.period: unknown period 'fortnight'" in err


def test_check_sends_desktop_notifications_once_when_enabled(capsys, config, tmp_path, monkeypatch):
    seed_store()
    set_budget(capsys, "small", "150")  # $100 of $150: past 50 %
    update_config(config, ["budgets", "notify_desktop"], True)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "notify.log"
    (bindir / "notify-send").write_text(f'#!/bin/sh\necho "$2" >> {log}\n')
    (bindir / "notify-send").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    assert run(capsys, "budget", "check", "--no-sync")[0] == 1
    assert run(capsys, "budget", "check", "--no-sync")[0] == 1
    assert log.read_text().splitlines() == ["tokentop: budget small at 50%"]


def test_check_in_a_real_subprocess(capsys, config):
    seed_store()
    set_budget(capsys, "year", "1000")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "tokentui", "budget", "check"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "annual budget 'year': at this pace it runs out" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "tokentui", "budget", "check", "--json", "--no-sync"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and json.loads(proc.stdout)["budgets"][0]["status"] == "projected_over"


def test_budget_commands_never_import_textual(config):
    code = ("import sys; from tokentui.cli import main; rc = main(['budget', 'check', '--no-sync']); "
            "assert 'textual' not in sys.modules, 'textual imported'; sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_a_budget_whose_scope_matches_nothing_is_warned_about(capsys, config):
    """Set and check both say when a budget's scope matches nothing in the history (a model id
    typed as the provider spells it, a source never used); a matching scope gets no warning."""
    seed_store()
    code, out, err = run(capsys, "budget", "set", "typo", "--usd", "50", "--period", "month", "--model", "sonnet-4.5")
    assert code == 0 and "budget 'typo' added" in out
    assert "warning: nothing in your history matches budget 'typo' (models sonnet-4.5)" in err
    code, out, err = run(capsys, "budget", "set", "fine", "--usd", "50", "--period", "month", "--model",
                         "claude-sonnet-4-5")
    assert code == 0 and "warning" not in err
    code, out, _ = run(capsys, "budget", "check", "--no-sync")
    (typo,) = [block for block in out.split("\n\n") if "budget 'typo'" in block]
    assert "warning: nothing in your history matches this budget's scope (models sonnet-4.5)" in typo
    assert out.count("warning: nothing in your history") == 1
    code, out, _ = run(capsys, "budget", "list")
    (line,) = [x for x in out.splitlines() if "matches nothing in your history" in x]
    assert code == 0 and line.startswith("typo")
