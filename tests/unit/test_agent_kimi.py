"""Kimi CLI / Kimi Code (spec/agents.md §5): the fixture's hand-checked totals through a real sync,
in UTC and Los Angeles; sub-agent wires, fork copies and mirrors counted once; corrupt and
partial lines; Kimi Code's usage.record lines."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from tests.unit.ingest_helpers import daily, sync, tokens
from tokentui.core.pricing import Pricer
from tokentui.services import report
from tokentui.sources import kimi

FIX = FIXTURES / "agents" / "kimi"
SRC = ("kimi",)


@pytest.fixture
def pricer(fixture_price_table):
    return Pricer(table=fixture_price_table, use_genai=False)


@pytest.fixture
def share(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "kimi"
    shutil.copytree(FIX, root)
    monkeypatch.setenv("KIMI_SHARE_DIR", str(root))
    monkeypatch.setenv("KIMI_CODE_HOME", str(tmp_path / "no-kimi-code"))
    monkeypatch.delenv("KIMI_MODEL_NAME", raising=False)
    return root


@pytest.mark.parametrize("tz", ["UTC", "America/Los_Angeles"])  # every record is on the same day in both
def test_fixture_totals(share, pricer, tmp_path, tz) -> None:
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    r = res["kimi"]
    assert r.files == 4 and r.skipped == 1  # the truncated StatusUpdate
    d = daily(conn, "kimi", tz)
    assert sorted(d) == ["2026-11-20", "2026-11-21"]
    assert tokens(d["2026-11-20"]) == (5840, 1110, 512, 44032, 51494)
    assert tokens(d["2026-11-21"]) == (2900, 155, 0, 8192, 11247)
    assert conn.execute("SELECT COUNT(*) FROM ledger WHERE source='kimi'").fetchone()[0] == 6
    rows = {m["modelName"] for m in d["2026-11-20"]["modelBreakdowns"]}
    assert rows == {"kimi-for-coding"}  # from config.toml: an attribution, listed as a fallback
    assert d["2026-11-20"].get("fallbackModels") == ["kimi-for-coding"]
    projects = {s["projectPath"] for s in report.build(conn, report.ReportRequest("session", sources=SRC))["session"]}
    assert projects == {"proj", "scratch"}  # work dirs named from kimi.json's md5s


def test_resync_adds_nothing_and_model_env(share, pricer, tmp_path, monkeypatch) -> None:
    sync(tmp_path / "h.db", pricer, sources=SRC)
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert res["kimi"].files_read == 0
    assert daily(conn, "kimi")["2026-11-20"]["totalTokens"] == 51494
    monkeypatch.setenv("KIMI_MODEL_NAME", "kimi-k2-turbo")
    conn, _ = sync(tmp_path / "h2.db", pricer, sources=SRC)
    assert {m["modelName"] for m in daily(conn, "kimi")["2026-11-21"]["modelBreakdowns"]} == {"kimi-k2-turbo"}


def _status(ts: float, mid: str | None, inp) -> str:
    p = {"token_usage": {"input_other": inp, "output": 10, "input_cache_read": 0}}
    if mid:
        p["message_id"] = mid
    return json.dumps({"timestamp": ts, "message": {"type": "StatusUpdate", "payload": p}})


def test_corrupt_and_partial_lines(tmp_path, pricer, monkeypatch) -> None:
    wire = tmp_path / "k" / "sessions" / "abc" / "s1" / "wire.jsonl"
    wire.parent.mkdir(parents=True)
    monkeypatch.setenv("KIMI_SHARE_DIR", str(tmp_path / "k"))
    monkeypatch.setenv("KIMI_CODE_HOME", str(tmp_path / "none"))
    last = _status(1795350000.5, "m3", 300)
    wire.write_text(_status(1795350000.0, "m1", 100) + "\n{oops\n" + _status(1795350000.1, "m2", "many") + "\n"
                    + '{"timestamp":1795350000.2,"message":{"type":"StatusUpdate","payload":[1]}}\n'
                    + '[1,2]\n' + last[:30])
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert (res["kimi"].records, res["kimi"].skipped) == (1, 4)
    with wire.open("a") as fh:
        fh.write(last[30:] + "\n" + _status(1795350000.0, "m1", 100) + "\n")  # and a late copy of m1
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    d = daily(conn, "kimi")["2026-11-22"]
    assert (d["inputTokens"], d["outputTokens"]) == (400, 20)
    assert res["kimi"].skipped == 0


def test_kimi_code_usage_records(tmp_path, pricer, monkeypatch) -> None:
    home = tmp_path / "kc"
    wire = home / "sessions" / "ws1" / "sess1" / "agents" / "main" / "wire.jsonl"
    sub = home / "sessions" / "ws1" / "sess1" / "agents" / "sub-1" / "wire.jsonl"
    wire.parent.mkdir(parents=True)
    sub.parent.mkdir(parents=True)
    t0 = 1795350000000

    def rec(t, scope, inp, out, cr=0, cw=0):
        return json.dumps({"type": "usage.record", "model": "kimi-code", "usageScope": scope, "time": t,
                           "usage": {"inputOther": inp, "output": out, "inputCacheRead": cr,
                                     "inputCacheCreation": cw}})

    wire.write_text("\n".join([
        json.dumps({"type": "llm.request", "model": "kimi-k2.6", "turnStep": 1}),
        rec(t0, "turn", 1000, 100, 5000, 10),
        json.dumps({"type": "step.end", "usage.record": {"usage": {"inputOther": 1000, "output": 100}}}),
        rec(t0 + 5000, "session", 300, 50),
        "{broken",
    ]) + "\n")
    sub.write_text(rec(t0 + 1000, "turn", 200, 20) + "\n")
    (home / "sessions" / "ws1" / "sess1" / "state.json").write_text('{"workDir": "/home/u/kproj"}')
    monkeypatch.setenv("KIMI_CODE_HOME", str(home))
    monkeypatch.setenv("KIMI_SHARE_DIR", str(tmp_path / "none"))
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert (res["kimi"].files, res["kimi"].skipped) == (2, 1)
    d = daily(conn, "kimi")["2026-11-22"]
    assert tokens(d) == (1500, 170, 10, 5000, 6680)  # both scopes, sub-agent included, step.end not again
    assert {m["modelName"] for m in d["modelBreakdowns"]} == {"kimi-k2.6", "kimi-code"}
    sessions = {s["sessionId"] for s in report.build(conn, report.ReportRequest("session", sources=SRC))["session"]}
    assert sessions == {"sess1", "sess1 (session scope)"}  # compaction-like usage reported apart
    projects = {s["projectPath"] for s in report.build(conn, report.ReportRequest("session", sources=SRC))["session"]}
    assert projects == {"kproj"}  # state.json's workDir, by folder name


def test_locations(tmp_path, monkeypatch) -> None:
    (tmp_path / "home" / ".kimi").mkdir(parents=True)
    (tmp_path / "home" / ".kimi-code").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for n in ("KIMI_SHARE_DIR", "KIMI_DATA_DIR", "KIMI_CODE_HOME"):
        monkeypatch.delenv(n, raising=False)
    found, problem = kimi.homes()
    assert [(p.name, k) for p, k in found] == [(".kimi", "cli"), (".kimi-code", "code")] and problem is None
    monkeypatch.setenv("KIMI_SHARE_DIR", str(tmp_path / "none"))
    found, problem = kimi.homes()
    assert [p.name for p, _ in found] == [".kimi-code"] and "KIMI_SHARE_DIR" in problem


def test_kimi_and_the_moonshot_api_count_once_per_day(share, pricer, tmp_path) -> None:
    """Kimi bills through Moonshot: if the moonshot API source ever reports usage for a day, the
    overlap rule keeps the larger of the two views, as for Claude Code and Anthropic."""
    from tokentui.core.records import UsageRecord
    from tokentui.store import ledger
    from tokentui.store.db import transaction

    conn, _ = sync(tmp_path / "h.db", pricer, sources=SRC)
    with transaction(conn):
        ledger.upsert(conn, [UsageRecord("moonshot", "usage|2026-11-20", 1795132800000, "kimi-for-coding",
                                         60000, 2000, kind="api", width_s=86400)], "dev")
    d = daily(conn, "kimi")["2026-11-20"]
    row = report.build(conn, report.ReportRequest("daily"))["daily"][0]
    assert row["totalTokens"] == 62000 and row["overlapExcludedTokens"] == d["totalTokens"] == 51494


def test_legacy_lines_of_a_session_and_its_sub_agent_at_one_time_are_two_records(tmp_path, pricer, monkeypatch) -> None:
    main = tmp_path / "k" / "sessions" / "abc" / "s1" / "wire.jsonl"
    sub = main.parent / "subagents" / "a1" / "wire.jsonl"
    sub.parent.mkdir(parents=True)
    main.write_text(_status(1795350000.0, None, 100) + "\n")
    sub.write_text(_status(1795350000.0, None, 50) + "\n")
    monkeypatch.setenv("KIMI_SHARE_DIR", str(tmp_path / "k"))
    monkeypatch.setenv("KIMI_CODE_HOME", str(tmp_path / "none"))
    conn, _ = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert daily(conn, "kimi")["2026-11-22"]["inputTokens"] == 150


def test_a_forked_step_stays_in_the_session_that_wrote_it_first(share, pricer, tmp_path) -> None:
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert res["kimi"].duplicates == 2  # the repeated update in main, the fork's copy of s1
    by_session = {s["sessionId"]: s["totalTokens"]
                  for s in report.build(conn, report.ReportRequest("session", sources=SRC))["session"]}
    assert by_session["6e5d4c3b-2a19-4f8e-9d7c-6b5a49382716"] == 2100 + 95 + 8192  # f1 only
