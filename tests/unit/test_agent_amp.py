"""Amp (spec/agents.md §2): the fixture's hand-checked totals through a real sync, in UTC and
Los Angeles; ledger vs messages, a file caught mid-write, corrupt records."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, LOG_FIXTURES
from tests.unit.ingest_helpers import daily, sync, tokens
from tokentui.core.pricing import Pricer
from tokentui.sources import amp
from tokentui.sources.common import LocalFile

FIX = FIXTURES / "agents" / "amp"
SRC = ("amp",)


@pytest.fixture
def pricer(fixture_price_table):
    return Pricer(table=fixture_price_table, use_genai=False)


@pytest.fixture
def data(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "amp"
    shutil.copytree(FIX, root)
    monkeypatch.setenv("AMP_DATA_DIR", str(root))
    return root


def test_fixture_totals_utc(data, pricer, tmp_path) -> None:
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    r = res["amp"]
    assert (r.files, r.records, r.skipped) == (3, 5, 1)  # the truncated thread is skipped, counted
    d = daily(conn, "amp")
    assert sorted(d) == ["2026-11-20", "2026-11-21"]
    assert tokens(d["2026-11-20"]) == (1810, 695, 17000, 15800, 35305)
    assert tokens(d["2026-11-21"]) == (13, 450, 5200, 5000, 10663)
    assert {m["modelName"] for m in d["2026-11-21"]["modelBreakdowns"]} == {"claude-sonnet-4-20250514"}


def test_fixture_totals_los_angeles(data, pricer, tmp_path) -> None:
    conn, _ = sync(tmp_path / "h.db", pricer, sources=SRC)
    d = daily(conn, "amp", "America/Los_Angeles")
    assert sorted(d) == ["2026-11-20"]
    assert tokens(d["2026-11-20"]) == (1823, 1145, 22200, 20800, 45968)


def test_finished_write_is_read_and_resync_adds_nothing(data, pricer, tmp_path) -> None:
    sync(tmp_path / "h.db", pricer, sources=SRC)
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert res["amp"].files_read == 0
    late = data / "threads" / "T-ffffffff-0000-4000-8000-000000000001.json"
    late.write_text(json.dumps({"v": 4, "id": "T-ffffffff-0000-4000-8000-000000000001", "created": 1795252500000,
                                "messages": [{"role": "assistant", "messageId": 1, "usage": {
                                    "model": "claude-haiku-4-5-20251001", "inputTokens": 70, "outputTokens": 30,
                                    "timestamp": "2026-11-21T09:00:00Z"}}]}))
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert (res["amp"].files_read, res["amp"].records, res["amp"].skipped) == (1, 1, 0)
    assert daily(conn, "amp")["2026-11-21"]["totalTokens"] == 10663 + 100


def test_ccusage_fixture_and_cost(pricer, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("AMP_DATA_DIR", str(LOG_FIXTURES / "amp"))
    conn, _ = sync(tmp_path / "h.db", pricer, sources=SRC)
    d = daily(conn, "amp")["2026-11-20"]
    assert tokens(d) == (12, 530, 4100, 22000, 26642)
    assert d["totalCost"] == pytest.approx(0.029961, abs=1e-9)


def test_corrupt_records_are_counted_not_fatal(pricer) -> None:
    doc = {"id": "T-x", "created": 1795170600000, "messages": [
        {"role": "assistant", "messageId": 1, "usage": {"model": "m", "inputTokens": "lots",
                                                        "timestamp": "2026-11-20T10:00:00Z"}},
        {"role": "assistant", "messageId": 2, "usage": [3]},
        {"role": "assistant", "messageId": 3, "usage": {"model": "m", "inputTokens": 5, "outputTokens": 1}},
        {"role": "assistant", "messageId": 4, "usage": {"inputTokens": 5, "timestamp": "2026-11-20T10:00:00Z"}},
        {"role": "assistant", "messageId": 5, "usage": {"model": "m", "outputTokens": 2,
                                                        "timestamp": "2026-11-20T10:00:00Z"}},
    ]}
    f = LocalFile("/x/T-x.json", "amp", None, "T-x", "T-x")
    recs, skipped = amp.parse_file(json.dumps(doc).encode(), f, pricer)
    assert skipped == 3  # a bad count, a non-object usage, no model
    assert [(r.key, r.ts_ms, r.output) for r in recs] == [("T-x|msg:3", 1795170603000, 1), ("T-x|msg:5",
                                                                                              1795168800000, 2)]
    assert amp.parse_file(b'{"id": "T-x", "messages": [', f, pricer) == ([], 1)


def test_default_location_follows_xdg(tmp_path, monkeypatch) -> None:
    (tmp_path / "xdg" / "amp" / "threads").mkdir(parents=True)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert amp.roots()[0] == [tmp_path / "xdg" / "amp" / "threads"]
    monkeypatch.setenv("AMP_DATA_DIR", str(tmp_path / "nowhere"))
    assert amp.roots() == ([], f"no Amp threads folder in AMP_DATA_DIR ({tmp_path / 'nowhere'})")
