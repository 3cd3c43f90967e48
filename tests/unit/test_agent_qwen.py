"""Qwen Code (spec/agents.md §4): the fixture's hand-checked totals through a real sync, in UTC
and Los Angeles; cached and thoughts counted once, copies, corrupt and partial lines."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from tests.unit.ingest_helpers import daily, sync, tokens
from tokentui.core.pricing import Pricer
from tokentui.services import report
from tokentui.sources import qwen_code

FIX = FIXTURES / "agents" / "qwen"
SRC = ("qwen-code",)


@pytest.fixture
def pricer(fixture_price_table):
    return Pricer(table=fixture_price_table, use_genai=False)


@pytest.fixture
def runtime(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "qwen"
    shutil.copytree(FIX, root)
    monkeypatch.setenv("QWEN_RUNTIME_DIR", str(root))
    return root


def _reasoning(conn) -> dict:
    return dict(conn.execute("SELECT substr(datetime(ts_ms/1000,'unixepoch'),1,10), SUM(reasoning) FROM ledger "
                             "WHERE source='qwen-code' GROUP BY 1"))


@pytest.mark.parametrize("tz", ["UTC", "America/Los_Angeles"])  # every record is on the same day in both
def test_fixture_totals(runtime, pricer, tmp_path, tz) -> None:
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    r = res["qwen-code"]
    assert (r.files, r.records, r.duplicates, r.skipped) == (3, 5, 1, 1)  # a4's copy; the truncated line
    d = daily(conn, "qwen-code", tz)
    assert sorted(d) == ["2026-11-20", "2026-11-21"]
    assert tokens(d["2026-11-20"]) == (6564, 1005, 0, 26336, 33905)
    assert tokens(d["2026-11-21"]) == (4476, 720, 0, 1024, 6220)
    assert _reasoning(conn) == {"2026-11-20": 328, "2026-11-21": 0}
    sessions = {s["sessionId"]: s["projectPath"]
                for s in report.build(conn, report.ReportRequest("session", sources=SRC))["session"]}
    assert sessions["5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"] == "-home-u-proj"


def test_resync_adds_nothing(runtime, pricer, tmp_path) -> None:
    sync(tmp_path / "h.db", pricer, sources=SRC)
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert res["qwen-code"].files_read == 0
    assert daily(conn, "qwen-code")["2026-11-20"]["totalTokens"] == 33905


def _rec(uuid: str, prompt) -> str:
    return json.dumps({"uuid": uuid, "sessionId": "s", "timestamp": "2026-11-22T10:00:00Z", "type": "assistant",
                       "model": "qwen3-coder-plus", "usageMetadata": {"promptTokenCount": prompt,
                                                                      "candidatesTokenCount": 10}})


def test_corrupt_and_partial_lines(tmp_path, pricer, monkeypatch) -> None:
    chats = tmp_path / "q" / "projects" / "-p" / "chats"
    chats.mkdir(parents=True)
    f = chats / "s.jsonl"
    last = _rec("u3", 300)
    f.write_text(_rec("u1", 100) + "\n{not json\n" + _rec("u2", "lots") + "\n"
                 + '{"type":"assistant","uuid":"u4","usageMetadata":[1]}\n' + last[:25])
    monkeypatch.setenv("QWEN_RUNTIME_DIR", str(tmp_path / "q"))
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert (res["qwen-code"].records, res["qwen-code"].skipped) == (1, 3)
    with f.open("a") as fh:
        fh.write(last[25:] + "\n" + _rec("u1", 100) + "\n")  # and a late copy of u1
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    d = daily(conn, "qwen-code")["2026-11-22"]
    assert (d["inputTokens"], d["outputTokens"]) == (400, 20)
    assert res["qwen-code"].skipped == 0


def test_locations(tmp_path, monkeypatch) -> None:
    (tmp_path / "home" / ".qwen").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert qwen_code.roots() == ([tmp_path / "home" / ".qwen"], None)
    monkeypatch.setenv("QWEN_DATA_DIR", str(tmp_path / "none"))
    assert qwen_code.roots()[0] == [] and "QWEN_DATA_DIR" in qwen_code.roots()[1]
