"""pi / Oh My Pi (spec/agents.md §6): the fixture's hand-checked totals through a real sync, in UTC
and Los Angeles; branch copies once, the Google path's input, corrupt and half-written lines."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from tests.unit.ingest_helpers import daily, sync, tokens
from tokentui.core.pricing import Pricer
from tokentui.services import report
from tokentui.sources import pi

FIX = FIXTURES / "agents" / "pi"
SRC = ("pi",)
PICO = 10**12


@pytest.fixture
def pricer(fixture_price_table):
    return Pricer(table=fixture_price_table, use_genai=False)


@pytest.fixture
def agent_dir(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "pi-agent"
    shutil.copytree(FIX, root)
    monkeypatch.setenv("PI_CODING_AGENT_DIR", str(root))
    monkeypatch.setenv("OMP_CODING_AGENT_DIR", str(tmp_path / "no-omp"))
    monkeypatch.delenv("PI_AGENT_DIR", raising=False)
    return root


@pytest.mark.parametrize("tz", ["UTC", "America/Los_Angeles"])  # every record is on the same day in both
def test_fixture_totals(agent_dir, pricer, tmp_path, tz) -> None:
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert (res["pi"].files, res["pi"].skipped) == (3, 0)  # the half-written last line is not read yet
    d = daily(conn, "pi", tz)
    assert sorted(d) == ["2026-11-20", "2026-11-21"]
    assert tokens(d["2026-11-20"]) == (2210, 1642, 14800, 25976, 44628)
    assert tokens(d["2026-11-21"]) == (2962, 550, 900, 16848, 21260)
    assert conn.execute("SELECT COUNT(*) FROM ledger WHERE source='pi'").fetchone()[0] == 5
    sessions = {s["sessionId"]: s["projectPath"]
                for s in report.build(conn, report.ReportRequest("session", sources=SRC))["session"]}
    assert sessions["8c9d0e1f-2a3b-4c4d-9e5f-6a7b8c9d0e1f"] == "proj"
    assert sessions["0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d"] == "old"


def test_stored_costs_in_auto_mode(agent_dir, pricer, tmp_path) -> None:
    conn, _ = sync(tmp_path / "h.db", pricer, mode="auto", sources=SRC)
    logged = dict(conn.execute("SELECT substr(datetime(ts_ms/1000,'unixepoch'),1,10), SUM(logged_cost_pico) "
                               "FROM ledger WHERE source='pi' GROUP BY 1"))
    assert logged["2026-11-20"] / PICO == pytest.approx(0.131422, abs=1e-9)
    # v1's stored cost priced the cache as input (the Google path): not used; b1's is
    assert logged["2026-11-21"] / PICO == pytest.approx(0.021575, abs=1e-9)


def test_resync_adds_nothing_and_a_completed_line_is_read(agent_dir, pricer, tmp_path) -> None:
    sync(tmp_path / "h.db", pricer, sources=SRC)
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert res["pi"].files_read == 0
    main = next(agent_dir.glob("sessions/--home-u-proj--/2026-11-20*.jsonl"))
    with main.open("a") as fh:
        fh.write("\n")  # the half-written user line is complete: it has no usage
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert res["pi"].skipped == 1  # it was cut mid-string: corrupt once complete, and counted
    assert daily(conn, "pi")["2026-11-20"]["totalTokens"] == 44628


def _msg(eid, req_ms: int, inp) -> str:
    m = {"role": "assistant", "provider": "anthropic", "model": "claude-opus-4-5", "timestamp": req_ms,
         "usage": {"input": inp, "output": 10, "cacheRead": 0, "cacheWrite": 0}}
    e = {"type": "message", "timestamp": "2026-11-22T10:00:00.000Z", "message": m}
    if eid:
        e["id"] = eid
    return json.dumps(e)


def test_corrupt_entries_and_a_partial_last_line(tmp_path, pricer, monkeypatch) -> None:
    d = tmp_path / "omp" / "sessions" / "--home-u-x--"
    d.mkdir(parents=True)
    f = d / "2026-11-22T10-00-00-000Z_abc.jsonl"
    last = _msg("e3", 1795398000000, 300)
    f.write_text(_msg("e1", 1795398000000, 100) + "\n{not json\n" + _msg("e2", 1795398000000, "many") + "\n"
                 + '{"type":"message","id":"e4","message":{"role":"assistant","usage":[1]}}\n'
                 + '{"type":"message","id":"e5","message":"x"}\n' + last[:40])
    monkeypatch.setenv("PI_CODING_AGENT_DIR", str(tmp_path / "none"))
    monkeypatch.setenv("OMP_CODING_AGENT_DIR", str(tmp_path / "omp"))
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert (res["pi"].records, res["pi"].skipped) == (1, 4)
    with f.open("a") as fh:
        fh.write(last[40:] + "\n" + _msg("e1", 1795398000000, 100) + "\n")  # and a late copy of e1
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    row = daily(conn, "pi")["2026-11-22"]
    assert (row["inputTokens"], row["outputTokens"]) == (400, 20)
    assert res["pi"].skipped == 0
    sessions = {s["projectPath"] for s in report.build(conn, report.ReportRequest("session", sources=SRC))["session"]}
    assert sessions == {"x"}  # from the folder name, the header line being absent


def test_locations(tmp_path, monkeypatch) -> None:
    (tmp_path / "home" / ".pi" / "agent" / "sessions").mkdir(parents=True)
    (tmp_path / "home" / ".omp" / "agent" / "sessions").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for n in pi.ENV:
        monkeypatch.delenv(n, raising=False)
    found, problem = pi.session_dirs()
    assert [p.parent.parent.name for p in found] == [".pi", ".omp"] and problem is None
    monkeypatch.setenv("PI_CODING_AGENT_DIR", str(tmp_path / "none"))
    found, problem = pi.session_dirs()
    assert [p.parent.parent.name for p in found] == [".omp"] and "PI_CODING_AGENT_DIR" in problem


def test_a_copied_entry_stays_in_the_session_that_wrote_it_first(agent_dir, pricer, tmp_path) -> None:
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert res["pi"].duplicates == 2  # the branch file's copies of e3 and e5
    sessions = {s["sessionId"]: s["totalTokens"]
                for s in report.build(conn, report.ReportRequest("session", sources=SRC))["session"]}
    assert sessions["8c9d0e1f-2a3b-4c4d-9e5f-6a7b8c9d0e1f"] == 14716 + 15036 + 14876  # e3, e5, e8
    assert sessions["1f0e9d8c-7b6a-4594-8382-716f5e4d3c2b"] == 16050  # b1 only
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)  # and so it stays
    assert sessions == {s["sessionId"]: s["totalTokens"]
                        for s in report.build(conn, report.ReportRequest("session", sources=SRC))["session"]}


def test_oh_my_pi_sub_agent_transcripts_are_read(tmp_path, pricer, monkeypatch) -> None:
    d = tmp_path / "omp" / "sessions" / "--home-u-x--" / "2026-11-22T10-00-00-000Z_s1"
    d.mkdir(parents=True)
    (d / "explore.jsonl").write_text(
        '{"type":"title","title":"explore"}\n'
        '{"type":"session","version":3,"id":"sub-1","timestamp":"2026-11-22T10:00:00.000Z","cwd":"/home/u/x"}\n'
        + _msg("s1", 1795398000000, 70) + "\n")
    monkeypatch.setenv("PI_CODING_AGENT_DIR", str(tmp_path / "none"))
    monkeypatch.setenv("OMP_CODING_AGENT_DIR", str(tmp_path / "omp"))
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert (res["pi"].files, res["pi"].records) == (1, 1)
    assert tokens(daily(conn, "pi")["2026-11-22"]) == (70, 10, 0, 0, 80)
