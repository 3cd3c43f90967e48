"""OpenClaw (spec/agents.md §1): the fixture's hand-checked totals through a real sync, in UTC
and Los Angeles, and the corrupt-entry / partial-write / copy cases."""

from __future__ import annotations

import runpy
import shutil
from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from tests.unit.ingest_helpers import daily, sync, tokens
from tokentui.core.pricing import Pricer
from tokentui.sources import openclaw

FIX = FIXTURES / "agents" / "openclaw"
SRC = ("openclaw",)
PICO = 10**12


@pytest.fixture
def pricer(fixture_price_table):
    return Pricer(table=fixture_price_table, use_genai=False)


@pytest.fixture
def state(tmp_path, monkeypatch) -> Path:
    """A copy of the fixture state dir with its SQLite store built, named by OPENCLAW_STATE_DIR."""
    root = tmp_path / "openclaw"
    shutil.copytree(FIX, root, ignore=shutil.ignore_patterns("make_fixture.py"))
    runpy.run_path(str(FIX / "make_fixture.py"))["build"](str(root))
    monkeypatch.setenv("OPENCLAW_STATE_DIR", str(root))
    return root


def _row(d: dict) -> tuple:
    return (*tokens(d),)


def test_fixture_totals_utc(state, pricer, tmp_path) -> None:
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    r = res["openclaw"]
    assert (r.records, r.skipped) == (6, 2)  # the corrupt line after A2 and SQLite seq 4
    d = daily(conn, "openclaw")
    assert sorted(d) == ["2026-11-20", "2026-11-21"]
    assert _row(d["2026-11-20"]) == (2420, 1315, 9450, 21800, 34985)
    assert _row(d["2026-11-21"]) == (2450, 505, 0, 10496, 13451)
    logged = dict(conn.execute(
        "SELECT substr(datetime(ts_ms/1000,'unixepoch'),1,10), SUM(logged_cost_pico) FROM ledger "
        "WHERE source='openclaw' GROUP BY 1"))
    assert logged["2026-11-20"] / PICO == pytest.approx(0.0471975, abs=1e-9)
    assert logged["2026-11-21"] / PICO == pytest.approx(0.0094245, abs=1e-9)
    models = {m["modelName"] for m in d["2026-11-20"]["modelBreakdowns"]}
    assert models == {"claude-sonnet-4-5", "gpt-5.1-codex", "claude-haiku-4-5"}  # A3 from the model-snapshot


def test_fixture_totals_los_angeles(state, pricer, tmp_path) -> None:
    conn, _ = sync(tmp_path / "h.db", pricer, sources=SRC)
    d = daily(conn, "openclaw", "America/Los_Angeles")
    assert sorted(d) == ["2026-11-19", "2026-11-20", "2026-11-21"]
    assert _row(d["2026-11-19"]) == (900, 75, 0, 0, 975)  # L1, 22:30 the evening before
    assert _row(d["2026-11-20"]) == (1520, 1240, 9450, 21800, 34010)
    assert _row(d["2026-11-21"]) == (2450, 505, 0, 10496, 13451)


def test_resync_reads_nothing_and_adds_nothing(state, pricer, tmp_path) -> None:
    sync(tmp_path / "h.db", pricer, sources=SRC)
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert res["openclaw"].files_read == 0
    assert daily(conn, "openclaw")["2026-11-20"]["totalTokens"] == 34985


def _line(eid: str, ts_ms: int, inp: int) -> str:
    return ('{"type":"message","id":"%s","timestamp":"2026-11-22T10:00:00.000Z","message":{"role":"assistant",'
            '"model":"claude-sonnet-4-5","usage":{"input":%d,"output":10,"cacheRead":0,"cacheWrite":0},'
            '"timestamp":%d}}' % (eid, inp, ts_ms))


def test_corrupt_entries_and_a_partial_last_line(tmp_path, pricer, monkeypatch) -> None:
    root = tmp_path / "oc"
    sessions = root / "agents" / "work" / "sessions"
    sessions.mkdir(parents=True)
    f = sessions / "abc.jsonl"
    partial = _line("0003", 1795341600000, 300)
    f.write_text('{"type":"session","version":3,"id":"abc"}\n' + _line("0001", 1795341600000, 100) + "\n"
                 '{"type":"message","id":"x", "message":\n'  # corrupt
                 '{"type":"message","id":"0002","message":{"role":"assistant","usage":{"input":"many"}}}\n'
                 '{"type":"message","id":"0004","message":{"role":"assistant","usage":[1]}}\n'
                 + partial[:40])  # still being written
    (sessions / "abc.trajectory.jsonl").write_text(_line("0009", 1795341600000, 7) + "\n")
    (sessions / "abc.jsonl.bak.2026-11-22T10-00-00.000Z").write_text(_line("0008", 1795341600000, 7) + "\n")
    monkeypatch.setenv("OPENCLAW_STATE_DIR", str(root))
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert (res["openclaw"].records, res["openclaw"].skipped) == (1, 3)
    with f.open("a") as fh:
        fh.write(partial[40:] + "\n")
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    d = daily(conn, "openclaw")["2026-11-22"]
    assert (d["inputTokens"], d["outputTokens"]) == (400, 20)
    assert res["openclaw"].skipped == 0  # the completed line is not a corrupt one (only it was read) ...
    import json as _json

    from tokentui.store import ledger
    assert _json.loads(ledger.statuses(conn)["openclaw"][4])["skipped_lines"] == 3  # ... and the source still has 3


def test_only_total_counts_as_output_and_negative_input_is_clamped() -> None:
    assert openclaw._usage({"input": 0, "output": 0, "totalTokens": 500}) == (0, 500, 0, 0)
    assert openclaw._usage({"input": -40, "output": 9, "cacheRead": 100}) == (0, 9, 0, 100)
    assert openclaw._usage({"input_tokens": 0, "prompt_tokens": 7, "completion_tokens": 3}) == (7, 3, 0, 0)


def test_default_locations(tmp_path, monkeypatch) -> None:
    home = tmp_path / "home"
    (home / ".moltbot").mkdir(parents=True)
    monkeypatch.setenv("OPENCLAW_HOME", str(home))
    assert openclaw.state_dirs() == [home / ".moltbot"]
    (home / ".openclaw").mkdir()
    assert openclaw.state_dirs() == [home / ".openclaw"]
    monkeypatch.setenv("CLAWDBOT_STATE_DIR", str(home / ".moltbot"))
    assert openclaw.state_dirs() == [home / ".moltbot"]
    monkeypatch.setenv("OPENCLAW_STATE_DIR", str(tmp_path / "missing"))
    assert openclaw.state_dirs() == []
    assert openclaw.where()[1] is not None


def test_an_appended_entry_is_read_by_cursor_alone(state, pricer, tmp_path) -> None:
    """The transcripts are tailed (spec §1.5): a sync after an append reads only the new bytes,
    keeps the session's model (set by an earlier line) and adds exactly the new tokens; the
    store is read from its watermark: a new row adds exactly its entry."""
    import sqlite3

    sync(tmp_path / "h.db", pricer, sources=SRC)
    primary = state / "agents" / "main" / "sessions" / "3f6c2a90-5d1e-4b7a-9c0e-2a1b3c4d5e6f.jsonl"
    line = ('{"type":"message","id":"a1b2c3d4","parentId":"8293a4b5","timestamp":"2026-11-21T10:00:00.000Z",'
            '"message":{"role":"assistant","usage":{"input":70,"output":30,"cacheRead":0,"cacheWrite":0},'
            '"timestamp":1795255200000}}\n')
    with primary.open("a") as fh:
        fh.write(line)
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    r = res["openclaw"]
    assert (r.files_read, r.bytes_read, r.records) == (1, len(line), 1)
    d = daily(conn, "openclaw")
    assert _row(d["2026-11-21"]) == (2450 + 70, 505 + 30, 0, 10496, 13451 + 100)
    assert conn.execute("SELECT model FROM ledger WHERE key LIKE '%|a1b2c3d4'").fetchone()[0] == "gpt-5.1-codex"
    db = state / "agents" / "main" / "agent" / "openclaw-agent.sqlite"
    con = sqlite3.connect(db)
    sid, seq = con.execute("SELECT session_id, MAX(seq) FROM transcript_events GROUP BY session_id").fetchone()
    con.execute("INSERT INTO transcript_events (session_id, seq, event_json, created_at) VALUES (?,?,?,?)",
                (sid, seq + 1, '{"type":"message","id":"db000001","timestamp":"2026-11-21T11:00:00.000Z","message":'
                 '{"role":"assistant","usage":{"input":5,"output":6},"timestamp":1795258800000}}', 1795258800000))
    con.commit()
    con.close()
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert res["openclaw"].records == 1
    assert daily(conn, "openclaw")["2026-11-21"]["totalTokens"] == 13451 + 100 + 11
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert (res["openclaw"].files_read, res["openclaw"].records) == (0, 0)
