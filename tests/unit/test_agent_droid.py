"""Droid (spec/agents.md §8): session totals from settings files, labelled estimated; the fixture's
totals in UTC and Los Angeles; growth dated when seen; truncated and corrupt files."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from tests.unit.ingest_helpers import daily, sync, tokens
from tokentui.core.pricing import Pricer
from tokentui.sources import droid

FIX = FIXTURES / "agents" / "droid"
SRC = ("droid",)
NESTED = "sessions/-home-u-proj/0d1c2b3a-4f5e-4d6c-8b7a-9f8e7d6c5b4a.settings.json"


@pytest.fixture
def pricer(fixture_price_table):
    return Pricer(table=fixture_price_table, use_genai=False)


@pytest.fixture
def factory(tmp_path, monkeypatch) -> Path:
    root = tmp_path / ".factory"
    shutil.copytree(FIX, root)
    monkeypatch.setenv("FACTORY_DIR", str(root))
    monkeypatch.delenv("DROID_SESSIONS_DIR", raising=False)
    return root


def test_fixture_totals_utc(factory, pricer, tmp_path) -> None:
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert (res["droid"].records, res["droid"].skipped) == (2, 1)  # the truncated settings file
    d = daily(conn, "droid")
    assert sorted(d) == ["2026-11-20", "2026-11-21"]
    assert tokens(d["2026-11-20"]) == (8400, 7000, 42000, 610000, 667400)
    assert tokens(d["2026-11-21"]) == (31000, 2400, 0, 120000, 153400)
    assert d["2026-11-20"]["estimatedTokens"] == 667400
    assert dict(conn.execute("SELECT model, reasoning FROM ledger WHERE source='droid'")) == {
        "claude-sonnet-4-5-20250929": 1800, "gpt-5.1-codex": 0}


def test_fixture_totals_los_angeles(factory, pricer, tmp_path) -> None:
    conn, _ = sync(tmp_path / "h.db", pricer, sources=SRC)
    d = daily(conn, "droid", "America/Los_Angeles")
    assert sorted(d) == ["2026-11-20"]  # 00:00:02Z on the 21st is 16:00 on the 20th there
    assert tokens(d["2026-11-20"]) == (39400, 9400, 42000, 730000, 820800)


def test_growth_is_dated_when_seen_and_a_completed_file_is_read(factory, pricer, tmp_path) -> None:
    sync(tmp_path / "h.db", pricer, sources=SRC)
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert res["droid"].files_read == 0
    f = factory / NESTED
    doc = json.loads(f.read_text())
    doc["tokenUsage"].update(inputTokens=9400, outputTokens=5700)
    f.write_text(json.dumps(doc))
    seen = 1795370400  # 2026-11-22T18:00Z
    os.utime(f, (seen, seen))
    bad = factory / "sessions/-home-u-proj/7f6e5d4c-3b2a-4190-8f7e-6d5c4b3a2918.settings.json"
    bad.write_text('{"model":"gpt-5.1-codex","providerLockTimestamp":"2026-11-21T07:00:00.000Z",'
                   '"tokenUsage":{"inputTokens":1200,"outputTokens":100}}')
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert res["droid"].skipped == 0
    d = daily(conn, "droid")
    assert tokens(d["2026-11-20"]) == (8400, 7000, 42000, 610000, 667400)
    assert tokens(d["2026-11-21"]) == (32200, 2500, 0, 120000, 154700)
    assert tokens(d["2026-11-22"]) == (1000, 500, 0, 0, 1500)
    os.utime(f, (seen + 60, seen + 60))  # touched, nothing new
    conn, _ = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert sum(r["totalTokens"] for r in daily(conn, "droid").values()) == 667400 + 154700 + 1500
    f.unlink()  # a deleted session keeps its history
    conn, _ = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert daily(conn, "droid")["2026-11-20"]["totalTokens"] == 667400


def test_corrupt_files(tmp_path, pricer, monkeypatch) -> None:
    d = tmp_path / "s"
    d.mkdir()
    (d / "a.settings.json").write_text('{"tokenUsage":{"inputTokens":-1}}')
    (d / "b.settings.json").write_text('[1, 2]')
    (d / "c.settings.json").write_text('{"tokenUsage":{"inputTokens":"x"}}')
    (d / "d.settings.json").write_text('{"model":"m","providerLockTimestamp":"2026-11-22T10:00:00Z",'
                                       '"tokenUsage":{"inputTokens":10,"outputTokens":2}}')
    monkeypatch.setenv("DROID_SESSIONS_DIR", str(d))
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert (res["droid"].records, res["droid"].skipped) == (1, 3)
    assert tokens(daily(conn, "droid")["2026-11-22"]) == (10, 2, 0, 0, 12)


def test_model_ids_and_locations(tmp_path, monkeypatch) -> None:
    assert droid.model_id("custom:GPT-5.1-Codex-[OpenAI]-7") == "gpt-5.1-codex"
    assert droid.model_id("claude-opus-4-5") == "claude-opus-4-5"
    for n in droid.ENV:
        monkeypatch.delenv(n, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".factory" / "sessions").mkdir(parents=True)
    assert droid.session_dirs() == [tmp_path / ".factory" / "sessions"]
    monkeypatch.setenv("DROID_SESSIONS_DIR", str(tmp_path / "none"))
    assert droid.session_dirs() == [] and "DROID_SESSIONS_DIR" in droid.where()[1]


def test_sources_status_counts_the_skipped_file(factory, pricer, tmp_path) -> None:
    conn, _ = sync(tmp_path / "h.db", pricer, sources=SRC)
    for _ in range(2):  # and says it again after a sync that had nothing to read
        detail = json.loads(conn.execute("SELECT detail FROM source_status WHERE source='droid'").fetchone()[0])
        assert detail["skipped_lines"] == 1
        conn, _ = sync(tmp_path / "h.db", pricer, sources=SRC)
