"""Codebuff (spec/agents.md §13): the hand-written fixture's totals (its README) through a real
sync in UTC and Los Angeles; one usage variant per message; a chat caught mid-write; corrupt
messages; the channel folders found with no set-up."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from tests.unit.ingest_helpers import daily, sync, tokens
from tokentui.core.pricing import Pricer
from tokentui.sources import codebuff
from tokentui.sources.common import LocalFile
from tokentui.store import queries

FIX = FIXTURES / "agents" / "codebuff"
SRC = ("codebuff",)
CHAT1 = "manicode/projects/webapp/chats/2026-11-20T09-15-00.000Z/chat-messages.json"


@pytest.fixture
def pricer(fixture_price_table):
    return Pricer(table=fixture_price_table, use_genai=False)


@pytest.fixture
def data(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "cb"
    shutil.copytree(FIX, root)
    monkeypatch.setenv("CODEBUFF_DATA_DIR", f"{root / 'manicode'},{root / 'manicode-dev'}")
    return root


def test_fixture_totals_utc(data, pricer, tmp_path) -> None:
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    r = res["codebuff"]
    assert (r.files, r.records, r.skipped) == (2, 5, 1)
    d = daily(conn, "codebuff")
    assert {day: row["totalTokens"] for day, row in d.items()} == {"2026-11-20": 2007, "2026-11-21": 130}
    # 2026-11-20: m1 (100, 50, 200 write, 1000 read) + m2 (500 prompt - 300 cached, 80, 0, 300) + m6 (0, 77)
    assert tokens(d["2026-11-20"]) == (300, 207, 200, 1300, 2007)
    models = {m["modelName"] for m in d["2026-11-20"]["modelBreakdowns"]}
    assert models == {"claude-sonnet-4-5", "gpt-5"}
    assert {m["modelName"] for m in d["2026-11-21"]["modelBreakdowns"]} == {"claude-haiku-4-5", "claude-opus-4-5"}
    sessions = {row[0] for row in conn.execute("SELECT DISTINCT session FROM ledger")}
    assert sessions == {"manicode/webapp/2026-11-20T09-15-00.000Z", "manicode-dev/cli-tool/2026-11-21T22-10-00.000Z"}


def test_fixture_totals_los_angeles(data, pricer, tmp_path) -> None:
    conn, _ = sync(tmp_path / "h.db", pricer, sources=SRC)
    d = daily(conn, "codebuff", "America/Los_Angeles")
    assert {day: row["totalTokens"] for day, row in d.items()} == {"2026-11-20": 2107, "2026-11-21": 30}


def test_rewrite_replaces_and_resync_adds_nothing(data, pricer, tmp_path) -> None:
    db = tmp_path / "h.db"
    conn, _ = sync(db, pricer, sources=SRC)
    before = queries.totals(conn, queries.Filter())
    conn, res = sync(db, pricer, sources=SRC)
    after = queries.totals(conn, queries.Filter())
    assert res["codebuff"].files_read == 0 and (after.total, after.records) == (before.total, before.records)

    chat = data / CHAT1
    doc = json.loads(chat.read_text())
    good = chat.read_bytes()
    chat.write_bytes(good[: len(good) // 2])  # Codebuff caught rewriting the chat
    conn, res = sync(db, pricer, sources=SRC)
    assert res["codebuff"].skipped == 1
    assert queries.totals(conn, queries.Filter()).total == before.total  # the history is kept
    doc.append({"id": "m7", "variant": "ai", "timestamp": "2026-11-20T11:00:00Z",
                "metadata": {"model": "claude-sonnet-4-5", "usage": {"inputTokens": 5, "outputTokens": 6}}})
    chat.write_text(json.dumps(doc))
    conn, res = sync(db, pricer, sources=SRC)
    assert queries.totals(conn, queries.Filter()).total == before.total + 11


@pytest.mark.parametrize("usage", [
    {"inputTokens": "many"}, {"inputTokens": 1.5}, {"outputTokens": -1}, {"inputTokens": True},
    {"prompt_tokens": 10, "prompt_tokens_details": {"cached_tokens": 11}},  # more cached than prompt
])
def test_corrupt_usage_is_skipped_not_fatal(pricer, usage) -> None:
    doc = [{"id": "x", "variant": "ai", "timestamp": "2026-11-20T10:00:00Z",
            "metadata": {"model": "claude-sonnet-4-5", "usage": usage}},
           {"id": "y", "variant": "ai", "timestamp": "2026-11-20T10:00:00Z",
            "metadata": {"model": "claude-sonnet-4-5", "usage": {"inputTokens": 1, "outputTokens": 2}}}]
    f = LocalFile("/x/chat-messages.json", "codebuff", "p", "manicode/p/c", "manicode/p/c")
    recs, skipped = codebuff.parse_file(json.dumps(doc).encode(), f, pricer)
    assert skipped == 1 and [(r.key, r.input, r.output) for r in recs] == [("manicode/p/c|y", 1, 2)]


@pytest.mark.parametrize("data", [b"", b"{}", b"[1, \"x\", null]", b"\xef\xbb\xbf[]", b"[{\"variant\": \"ai\"}]"])
def test_odd_files_never_raise(pricer, data) -> None:
    f = LocalFile("/x/chat-messages.json", "codebuff", "p", "manicode/p/c", "manicode/p/c")
    recs, skipped = codebuff.parse_file(data, f, pricer)
    assert recs == [] and skipped in (0, 1)


def test_undated_messages_fall_back_to_the_chat_start_then_the_mtime(pricer) -> None:
    doc = [{"variant": "ai", "metadata": {"model": "m", "usage": {"inputTokens": 1}}}]
    f = LocalFile("/x", "codebuff", "p", "manicode/p/2026-11-21T22-10-00.000Z", "r")
    assert codebuff.parse_file(json.dumps(doc).encode(), f, pricer)[0][0].ts_ms == codebuff.chat_start_ms(
        "2026-11-21T22-10-00.000Z") == 1795299000000  # 2026-11-21 22:10 UTC
    f = LocalFile("/x", "codebuff", "p", "manicode/p/not-a-date", "r")
    assert codebuff.parse_file(json.dumps(doc).encode(), f, pricer, 1795000000000)[0][0].ts_ms == 1795000000000


def test_channels_are_found_with_no_set_up(tmp_path) -> None:
    home = Path(os.environ["HOME"])
    for channel in ("manicode", "manicode-staging"):
        shutil.copytree(FIX / "manicode" / "projects", home / ".config" / channel / "projects")
    files, problem = codebuff.discover()
    assert problem is None
    assert sorted({f.session.split("/")[0] for f in files}) == ["manicode", "manicode-staging"]
    assert all(f.project == "webapp" for f in files)


def test_a_bad_override_says_so(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CODEBUFF_DATA_DIR", str(tmp_path / "nowhere"))
    assert codebuff.roots()[1] == f"no Codebuff projects folder in CODEBUFF_DATA_DIR ({tmp_path / 'nowhere'})"
