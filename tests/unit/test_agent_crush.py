"""Crush (spec/agents.md §9): cost only (no tokens invented), root sessions only, spread over the
session tree's assistant messages; UTC and Los Angeles; growth; a damaged database."""

from __future__ import annotations

import runpy
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from tests.unit.ingest_helpers import daily, sync, tokens
from tokentui.core.pricing import Pricer
from tokentui.services import report
from tokentui.sources import crush

FIX = FIXTURES / "agents" / "crush"
SRC = ("crush",)
ROOT = "5c0d9e1a-0001-4b2c-8d3e-4f5a6b7c8d01"


@pytest.fixture
def pricer(fixture_price_table):
    return Pricer(table=fixture_price_table, use_genai=False)


@pytest.fixture
def out(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "crush-fixture"
    runpy.run_path(str(FIX / "make_fixture.py"))["build"](str(root))
    monkeypatch.setenv("CRUSH_GLOBAL_DATA", str(root / "xdg-data" / "crush"))
    return root


@pytest.mark.parametrize("mode", ["calculate", "auto"])  # no tokens to price: Crush's cost in both modes
def test_fixture_totals_utc(out, pricer, tmp_path, mode) -> None:
    conn, res = sync(tmp_path / "h.db", pricer, mode=mode, sources=SRC)
    assert (res["crush"].files, res["crush"].skipped) == (1, 0)
    d = daily(conn, "crush")
    assert sorted(d) == ["2026-11-20", "2026-11-21"]
    assert tokens(d["2026-11-20"]) == (0, 0, 0, 0, 0) and tokens(d["2026-11-21"]) == (0, 0, 0, 0, 0)
    assert d["2026-11-20"]["totalCost"] == pytest.approx(0.3372, abs=1e-12)
    assert d["2026-11-21"]["totalCost"] == pytest.approx(0.0843, abs=1e-12)
    assert d["2026-11-20"]["unpricedTokens"] == 0  # never "$0 for unknown": the cost is known
    picos = conn.execute("SELECT SUM(cost_pico) FROM ledger WHERE source='crush'").fetchone()[0]
    assert picos == 421_500_000_000  # the root's cost exactly, the child's 0.0520 not added again
    assert {m["modelName"] for m in d["2026-11-20"]["modelBreakdowns"]} == {"claude-sonnet-4-5-20250929"}
    sessions = report.build(conn, report.ReportRequest("session", sources=SRC))["session"]
    assert [(s["sessionId"], s["projectPath"]) for s in sessions] == [(ROOT, "home-u-proj")]


def test_fixture_totals_los_angeles(out, pricer, tmp_path) -> None:
    conn, _ = sync(tmp_path / "h.db", pricer, sources=SRC)
    d = daily(conn, "crush", "America/Los_Angeles")
    assert sorted(d) == ["2026-11-20"]  # 00:00:25Z on the 21st is the 20th there
    assert d["2026-11-20"]["totalCost"] == pytest.approx(0.4215, abs=1e-12)


def test_growth_is_dated_when_seen(out, pricer, tmp_path) -> None:
    sync(tmp_path / "h.db", pricer, sources=SRC)
    db = sqlite3.connect(out / "home-u-proj" / ".crush" / "crush.db")
    db.execute("UPDATE sessions SET cost = 0.5, updated_at = 1795370400 WHERE id = ?", (ROOT,))  # 22nd 18:00Z
    db.commit()
    db.close()
    conn, _ = sync(tmp_path / "h.db", pricer, sources=SRC)
    d = daily(conn, "crush")
    assert d["2026-11-20"]["totalCost"] == pytest.approx(0.3372, abs=1e-12)
    assert d["2026-11-22"]["totalCost"] == pytest.approx(0.0785, abs=1e-12)
    conn, _ = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert conn.execute("SELECT SUM(cost_pico) FROM ledger WHERE source='crush'").fetchone()[0] == 500_000_000_000


def test_corrupt_rows_and_a_damaged_database(out, pricer, tmp_path) -> None:
    db_path = out / "home-u-proj" / ".crush" / "crush.db"
    db = sqlite3.connect(db_path)
    db.execute("INSERT INTO sessions (id, parent_session_id, title, cost, updated_at, created_at) "
               "VALUES ('bad', NULL, 't', 0.1, 'yesterday', 'x')")
    db.commit()
    db.close()
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert res["crush"].skipped == 1
    assert conn.execute("SELECT SUM(cost_pico) FROM ledger WHERE source='crush'").fetchone()[0] == 421_500_000_000
    db_path.write_bytes(b"not a database at all" * 100)
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert "cannot read" in res["crush"].errors[0]
    assert conn.execute("SELECT SUM(cost_pico) FROM ledger WHERE source='crush'").fetchone()[0] == 421_500_000_000


def test_locations(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("CRUSH_GLOBAL_DATA", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert crush.global_dir() == tmp_path / "xdg" / "crush"
    (tmp_path / "xdg" / "crush").mkdir(parents=True)
    (tmp_path / "p" / ".crush").mkdir(parents=True)
    (tmp_path / "p" / ".crush" / "crush.db").write_bytes(b"")
    (tmp_path / "xdg" / "crush" / "projects.json").write_text(
        '{"projects": {"a": {"path": "%s", "data_dir": ".crush"}}}' % (tmp_path / "p"))
    assert crush.databases() == [tmp_path / "p" / ".crush" / "crush.db"]
    assert crush.databases([str(tmp_path / "p")]) == [tmp_path / "p" / ".crush" / "crush.db"]


def test_a_change_of_pricing_mode_keeps_the_cost(out, pricer, tmp_path) -> None:
    sync(tmp_path / "h.db", pricer, mode="auto", sources=SRC)
    conn, _ = sync(tmp_path / "h.db", pricer, mode="calculate", sources=SRC)  # re-prices stored rows
    assert conn.execute("SELECT SUM(cost_pico), MIN(cost_label) FROM ledger WHERE source='crush'").fetchone() == (
        421_500_000_000, "estimated")
