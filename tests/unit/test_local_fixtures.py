"""Every number in log-fixtures/README.md for Claude Code and Codex, in UTC and Los Angeles."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import LOG_FIXTURES
from tests.unit.ingest_helpers import daily, sync, tokens
from tokentui.core.pricing import Pricer
from tokentui.services import report
from tokentui.store import queries

TOL = 1e-9


@pytest.fixture
def claude_env(monkeypatch):
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", f"{LOG_FIXTURES}/claude,{LOG_FIXTURES}/claude-config")


@pytest.fixture
def codex_env(monkeypatch):
    monkeypatch.setenv("CODEX_HOME", str(LOG_FIXTURES / "codex"))


@pytest.fixture
def pricer(fixture_price_table):
    return Pricer(table=fixture_price_table, use_genai=False)


def test_claude_daily_utc_calculate(claude_env, pricer, tmp_path) -> None:
    conn, res = sync(tmp_path / "h.db", pricer)
    r = res["claude-code"]
    assert (r.records, r.duplicates, r.skipped) == (10, 3, 0)
    d = daily(conn, "claude-code")
    assert tokens(d["2025-06-15"]) == (1200, 300, 0, 0, 1500)
    assert tokens(d["2026-11-20"]) == (842, 2020, 15500, 39500, 57862)
    assert tokens(d["2026-11-21"]) == (8, 115, 800, 30200, 31123)
    assert d["2025-06-15"]["totalCost"] == pytest.approx(0.008100, abs=TOL)
    assert d["2026-11-20"]["totalCost"] == pytest.approx(0.111431, abs=TOL)
    assert d["2026-11-21"]["totalCost"] == pytest.approx(0.013809, abs=TOL)
    bd = {m["modelName"]: m["cost"] for m in d["2026-11-20"]["modelBreakdowns"]}
    assert list(bd) == ["claude-sonnet-4-5-20250929", "claude-opus-4-5-20251101", "claude-haiku-4-5-20251001"]
    assert bd["claude-sonnet-4-5-20250929"] == pytest.approx(0.070461, abs=TOL)
    assert bd["claude-opus-4-5-20251101"] == pytest.approx(0.036800, abs=TOL)
    assert bd["claude-haiku-4-5-20251001"] == pytest.approx(0.004170, abs=TOL)
    assert "<synthetic>" not in d["2026-11-20"]["modelsUsed"] and None not in d["2026-11-20"]["modelsUsed"]
    rep = report.build(conn, report.ReportRequest("daily", sources=("claude-code",)))
    assert tokens(rep["totals"]) == (2050, 2435, 16300, 69700, 90485)
    assert rep["totals"]["totalCost"] == pytest.approx(0.133340, abs=TOL)


def test_claude_auto_mode_uses_logged_cost(claude_env, pricer, tmp_path) -> None:
    conn, _ = sync(tmp_path / "h.db", pricer, mode="auto")
    d = daily(conn, "claude-code")
    assert d["2025-06-15"]["totalCost"] == pytest.approx(0.012300, abs=TOL)
    rep = report.build(conn, report.ReportRequest("daily", sources=("claude-code",)))
    assert rep["totals"]["totalCost"] == pytest.approx(0.137540, abs=TOL)


def test_switching_cost_mode_reprices_stored_entries(claude_env, pricer, tmp_path) -> None:
    db = tmp_path / "h.db"
    sync(db, pricer, mode="auto")
    conn, _ = sync(db, pricer, mode="calculate")
    assert daily(conn, "claude-code")["2025-06-15"]["totalCost"] == pytest.approx(0.0081, abs=TOL)


def test_claude_los_angeles(claude_env, pricer, tmp_path) -> None:
    conn, _ = sync(tmp_path / "h.db", pricer)
    d = daily(conn, "claude-code", "America/Los_Angeles")
    assert sorted(d) == ["2025-06-15", "2026-11-20"]
    assert tokens(d["2026-11-20"]) == (850, 2135, 16300, 69700, 88985)
    assert d["2026-11-20"]["totalCost"] == pytest.approx(0.125240, abs=TOL)
    rep = report.build(conn, report.ReportRequest("monthly", tz=__import__("zoneinfo").ZoneInfo(
        "America/Los_Angeles"), sources=("claude-code",)))
    months = {r["month"]: r for r in rep["monthly"]}
    assert months["2025-06"]["totalTokens"] == 1500
    assert months["2026-11"]["totalTokens"] == 88985
    assert months["2026-11"]["totalCost"] == pytest.approx(0.125240, abs=TOL)


def test_claude_weekly_sunday_start(claude_env, pricer, tmp_path) -> None:
    conn, _ = sync(tmp_path / "h.db", pricer)
    rep = report.build(conn, report.ReportRequest("weekly", sources=("claude-code",), week_start=6))
    assert [r["week"] for r in rep["weekly"]] == ["2025-06-15", "2026-11-15"]


def test_claude_sessions(claude_env, pricer, tmp_path) -> None:
    conn, _ = sync(tmp_path / "h.db", pricer)
    rows = report.build(conn, report.ReportRequest("session", sources=("claude-code",)))["session"]
    got = {r["sessionId"]: r for r in rows}
    main = got["5f1c2d3e-8a9b-4c7d-9e0f-1a2b3c4d5e6f"]
    assert tokens(main) == (844, 2060, 15500, 54500, 72904)
    assert main["totalCost"] == pytest.approx(0.116537, abs=TOL)
    assert main["firstActivity"] == "2026-11-20T09:12:09.000Z"
    assert main["lastActivity"] == "2026-11-21T00:30:00.000Z"
    assert main["projectPath"] == "-home-u-proj"
    assert got["9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"]["totalTokens"] == 16081
    assert got["0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e"]["projectPath"] == "-home-u-legacy-app"
    assert [r["sessionId"][:4] for r in rows] == ["5f1c", "9a8b", "0b1c"]  # by cost, descending


def test_codex_daily_utc(codex_env, pricer, tmp_path) -> None:
    conn, res = sync(tmp_path / "h.db", pricer, sources=("codex",))
    assert res["codex"].records == 6
    d = daily(conn, "codex")
    a, b = d["2025-09-08"], d["2026-11-20"]
    assert (a["inputTokens"], a["cacheReadTokens"], a["outputTokens"], a["totalTokens"]) == (7920, 4480, 820, 13220)
    assert a["totalCost"] == pytest.approx(0.01866, abs=TOL)
    assert a["fallbackModels"] == ["gpt-5"]
    assert (b["inputTokens"], b["cacheReadTokens"], b["outputTokens"], b["totalTokens"]) == (11920, 78080, 2350,
                                                                                            92350)
    assert b["totalCost"] == pytest.approx(0.04816, abs=TOL)
    costs = {m["modelName"]: m["cost"] for m in b["modelBreakdowns"]}
    assert costs["gpt-5-codex"] == pytest.approx(0.0119325, abs=TOL)
    assert costs["gpt-5.1-codex"] == pytest.approx(0.0362275, abs=TOL)
    reasoning = conn.execute("SELECT SUM(reasoning) FROM ledger WHERE source='codex' AND ts_ms > 1790000000000")
    assert reasoning.fetchone()[0] == 1300


def test_codex_los_angeles_keeps_days(codex_env, pricer, tmp_path) -> None:
    conn, _ = sync(tmp_path / "h.db", pricer, sources=("codex",))
    d = daily(conn, "codex", "America/Los_Angeles")
    assert sorted(d) == ["2025-09-08", "2026-11-20"]
    assert d["2026-11-20"]["totalTokens"] == 92350 and d["2025-09-08"]["totalTokens"] == 13220


def test_codex_session_invariant_and_ids(codex_env, pricer, tmp_path) -> None:
    conn, _ = sync(tmp_path / "h.db", pricer, sources=("codex",))
    rows = {r["sessionId"]: r for r in report.build(conn, report.ReportRequest("session"))["session"]}
    main = rows["2026/11/20/rollout-2026-11-20T09-14-03-01a1f83b-fd78-7a3c-9d2e-4b5f6a7c8d9e"]
    # sum of counted deltas equals the last total_token_usage (64000 in incl. 55040 cached, 1900 out)
    assert (main["inputTokens"] + main["cacheReadTokens"], main["cacheReadTokens"], main["outputTokens"]) == (
        64000, 55040, 1900)
    fork = rows["2026/11/20/rollout-2026-11-20T11-02-44-01a1f89f-7c84-7b1d-8e3f-5a6b7c8d9e0f"]
    assert fork["totalTokens"] == 26450  # only its own turn; the replayed parent rows are skipped


def test_codex_fork_without_parent_drops_the_replay_burst(codex_env, pricer, tmp_path, monkeypatch) -> None:
    home = tmp_path / "codex"
    shutil.copytree(LOG_FIXTURES / "codex", home)
    for p in home.rglob("*01a1f83b*"):
        p.unlink()  # the parent rollout is gone
    monkeypatch.setenv("CODEX_HOME", str(home))
    conn, _ = sync(tmp_path / "h.db", pricer, sources=("codex",))
    assert daily(conn, "codex")["2026-11-20"]["totalTokens"] == 26450


def test_codex_headless_exec_json_root(pricer, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CODEX_HOME", f"{LOG_FIXTURES}/codex,{LOG_FIXTURES}/codex/exec-json")
    conn, _ = sync(tmp_path / "h.db", pricer, sources=("codex",))
    row = conn.execute("SELECT input, cache_read, output, model, model_fallback FROM ledger "
                       "WHERE key LIKE 'headless/%'").fetchall()
    assert row == [(3120 - 2048, 2048, 96, "gpt-5", 1)]


def test_resync_adds_nothing(claude_env, codex_env, pricer, tmp_path) -> None:
    db = tmp_path / "h.db"
    conn, _ = sync(db, pricer)
    before = queries.totals(conn, queries.Filter())
    conn2, res = sync(db, pricer)
    after = queries.totals(conn2, queries.Filter())
    assert (after.total, after.records, after.cost_pico) == (before.total, before.records, before.cost_pico)
    assert all(r.files_read == 0 for r in res.values())


def test_claude_root_discovery(monkeypatch, tmp_path) -> None:
    from tokentui.sources import claude_code

    monkeypatch.setenv("CLAUDE_CONFIG_DIR", f" {tmp_path}/missing , {LOG_FIXTURES}/claude/projects ,,")
    roots, problem = claude_code.roots()
    assert roots == [Path(f"{LOG_FIXTURES}/claude")] and problem is None
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "missing"))
    assert claude_code.roots()[1].startswith("no valid Claude data directory")
    monkeypatch.delenv("CLAUDE_CONFIG_DIR")
    home = Path(__import__("os").environ["HOME"])
    (home / ".claude" / "projects").mkdir(parents=True)
    (home / ".config" / "claude" / "projects").mkdir(parents=True)
    assert claude_code.roots()[0] == [home / ".config" / "claude", home / ".claude"]


def test_gemini_and_opencode_through_the_ingest(pricer, tmp_path, monkeypatch) -> None:
    import sqlite3

    oc = tmp_path / "opencode"
    shutil.copytree(LOG_FIXTURES / "opencode" / "storage", oc / "storage")
    db = sqlite3.connect(oc / "opencode.db")
    db.executescript((LOG_FIXTURES / "opencode" / "opencode-db.sql").read_text())
    db.commit()
    db.close()
    monkeypatch.setenv("OPENCODE_DATA_DIR", str(oc))
    monkeypatch.setenv("GEMINI_DATA_DIR", str(LOG_FIXTURES / "gemini" / "tmp"))
    conn, res = sync(tmp_path / "h.db", pricer, sources=("gemini-cli", "opencode"))
    assert res["opencode"].records == 3 and res["gemini-cli"].records == 3
    d = daily(conn, "opencode")
    assert d["2026-11-20"]["totalTokens"] == 27940 + 352  # ccusage's total + tokens.reasoning (issue 14 item 2)
    assert d["2026-11-20"]["totalCost"] == pytest.approx(0.0346108, abs=TOL)
    g = daily(conn, "gemini-cli")
    assert g["2026-11-20"]["totalTokens"] == 9272 + 9489
    assert g["2026-11-20"]["totalCost"] == pytest.approx(0.012133 + 0.005314, abs=TOL)
    assert g["2025-10-01"]["totalTokens"] == 1430
    conn, res = sync(tmp_path / "h.db", pricer, sources=("gemini-cli", "opencode"))
    assert res["opencode"].files_read == 0 and res["gemini-cli"].files_read == 0  # nothing changed
    assert daily(conn, "opencode")["2026-11-20"]["totalTokens"] == 27940 + 352
