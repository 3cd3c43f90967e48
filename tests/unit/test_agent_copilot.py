"""GitHub Copilot CLI (spec/agents.md §3): the fixture's hand-checked totals through a real sync,
in UTC and Los Angeles; re-exported spans, rollup legs, corrupt and partial lines."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from tests.unit.ingest_helpers import daily, sync, tokens
from tokentui.core.pricing import Pricer
from tokentui.sources import copilot

FIX = FIXTURES / "agents" / "copilot"
SRC = ("copilot",)


@pytest.fixture
def pricer(fixture_price_table):
    return Pricer(table=fixture_price_table, use_genai=False)


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "copilot"
    shutil.copytree(FIX, root)
    monkeypatch.setenv("COPILOT_HOME", str(root))
    return root


def _reasoning(conn) -> dict:
    return dict(conn.execute("SELECT substr(datetime(ts_ms/1000,'unixepoch'),1,10), SUM(reasoning) FROM ledger "
                             "WHERE source='copilot' GROUP BY 1"))


def test_fixture_totals_utc(home, pricer, tmp_path) -> None:
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    r = res["copilot"]
    assert (r.files, r.records, r.duplicates, r.skipped) == (3, 9, 1, 1)  # S2's re-export; the truncated line
    d = daily(conn, "copilot")
    assert sorted(d) == ["2026-11-20", "2026-11-21"]
    assert tokens(d["2026-11-20"]) == (10119, 3030, 12000, 95881, 121030)
    assert tokens(d["2026-11-21"]) == (10200, 2340, 2000, 35000, 49540)
    assert _reasoning(conn) == {"2026-11-20": 576, "2026-11-21": 528}
    assert "claude-sonnet-4-5" in d["2026-11-20"]["modelsUsed"]  # dotted Claude name as a LiteLLM id


def test_fixture_totals_los_angeles(home, pricer, tmp_path) -> None:
    conn, _ = sync(tmp_path / "h.db", pricer, sources=SRC)
    d = daily(conn, "copilot", "America/Los_Angeles")
    assert sorted(d) == ["2026-11-20", "2026-11-21"]
    assert tokens(d["2026-11-20"]) == (14119, 3280, 12000, 95881, 125280)
    assert tokens(d["2026-11-21"]) == (6200, 2090, 2000, 35000, 45290)


def test_exporter_path_env_and_resync(tmp_path, pricer, monkeypatch) -> None:
    exported = tmp_path / "elsewhere" / "spans.jsonl"
    exported.parent.mkdir()
    shutil.copy(FIX / "otel" / "copilot-otel.jsonl", exported)
    monkeypatch.setenv("COPILOT_OTEL_FILE_EXPORTER_PATH", str(exported))
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert res["copilot"].records == 4
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert res["copilot"].files_read == 0
    with exported.open("a") as fh:  # the CLI exports S2 once more, in a later sync
        fh.write(next(ln for ln in (FIX / "otel" / "copilot-otel.jsonl").read_text().splitlines()
                      if '"c3c3c3c3c3c3c3c3"' in ln).replace("c3c3c3c3c3c3c3c3", "f6f6f6f6f6f6f6f6") + "\n")
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert (res["copilot"].records, res["copilot"].duplicates) == (0, 1)
    assert daily(conn, "copilot")["2026-11-20"]["inputTokens"] == 1000 + 3000 + 119


def _span(span_id: str, conv: str, inp: int) -> str:
    return json.dumps({"type": "span", "traceId": "t" * 32, "spanId": span_id, "name": "chat gpt-5.1",
                       "endTime": [1795341600, 0], "attributes": {
                           "gen_ai.operation.name": "chat", "gen_ai.response.model": "gpt-5.1",
                           "gen_ai.conversation.id": conv, "gen_ai.usage.input_tokens": inp,
                           "gen_ai.usage.output_tokens": 5}})


def _shutdown(eid: str, inp: int) -> str:
    return json.dumps({"type": "session.shutdown", "id": eid, "timestamp": "2026-11-22T12:00:00Z",
                       "data": {"modelMetrics": {"gpt-5.1": {"usage": {"inputTokens": inp, "outputTokens": 7}}}}})


def test_corrupt_and_partial_lines(tmp_path, pricer, monkeypatch) -> None:
    root = tmp_path / "c"
    (root / "otel").mkdir(parents=True)
    (root / "session-state" / "s1").mkdir(parents=True)
    otel = root / "otel" / "a.jsonl"
    last = _span("0003", "x", 300)
    otel.write_text(_span("0001", "x", 100) + "\n" + '{"type":"span",\n'
                    + json.dumps({"type": "span", "name": "chat m", "attributes": {
                        "gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": "many"}}) + "\n"
                    + last[:30])
    journal = root / "session-state" / "s1" / "events.jsonl"
    journal.write_text('{"type":"session.start","data":{"sessionId":"s1"}}\n' + _shutdown("e1", 50) + "\n"
                       + '{"type":"session.shutdown","id":"e2","timestamp":"2026-11-22T12:00:00Z","data":[]}\n'
                       + _shutdown("e3", 80)[:20])
    monkeypatch.setenv("COPILOT_HOME", str(root))
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert (res["copilot"].records, res["copilot"].skipped) == (2, 3)
    with otel.open("a") as fh:
        fh.write(last[30:] + "\n")
    with journal.open("a") as fh:
        fh.write(_shutdown("e3", 80)[20:] + "\n")
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert (res["copilot"].records, res["copilot"].skipped) == (2, 0)
    d = daily(conn, "copilot")["2026-11-22"]
    # spans 100 + 300; journal leg 1 50, leg 2 the increase 80 - 50
    assert (d["inputTokens"], d["outputTokens"]) == (100 + 300 + 50 + 30, 5 + 5 + 7 + 0)


def test_a_session_with_spans_is_not_counted_from_its_rollups(tmp_path, pricer, monkeypatch) -> None:
    root = tmp_path / "c"
    (root / "otel").mkdir(parents=True)
    (root / "session-state" / "s1").mkdir(parents=True)
    (root / "otel" / "a.jsonl").write_text(_span("0001", "s1", 100) + "\n")
    (root / "session-state" / "s1" / "events.jsonl").write_text(
        '{"type":"session.start","data":{"sessionId":"s1"}}\n' + _shutdown("e1", 100) + "\n")
    monkeypatch.setenv("COPILOT_HOME", str(root))
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert res["copilot"].records == 1
    assert daily(conn, "copilot")["2026-11-22"]["inputTokens"] == 100


def test_model_names() -> None:
    assert copilot.normalise_model("claude-opus-4.5-1m-internal") == "claude-opus-4-5"
    assert copilot.normalise_model("gpt-5.1") == "gpt-5.1"


def test_copilot_is_billed_by_github_never_folded_into_a_model_vendors_api(tmp_path) -> None:
    """Copilot's Claude and GPT calls are billed by GitHub (premium requests), so they are its
    provider's (budget ``--provider github``), and the overlap rule never weighs them against
    the user's own Anthropic or OpenAI organisation usage: both are counted."""
    from zoneinfo import ZoneInfo

    from tokentui.core.records import BILLED, ESTIMATED, UsageRecord
    from tokentui.services import report
    from tokentui.sources import registry
    from tokentui.store import db, ledger

    assert registry.get("copilot").provider == "github"
    assert registry.provider_sources()["github"] == ("copilot",)
    day = 1795132800000
    conn = db.connect(tmp_path / "o.db")
    with db.transaction(conn):
        ledger.upsert(conn, [
            UsageRecord("copilot", "t|s", day + 3_600_000, "claude-sonnet-4-5", 100, 50, cost_pico=10**9,
                        cost_label=ESTIMATED),
            UsageRecord("anthropic", "b1", day, "claude-sonnet-4-5", 4000, 1000, kind="api", width_s=86400,
                        cost_pico=5 * 10**9, cost_label=BILLED)], "d")
    totals = report.build(conn, report.ReportRequest("daily", tz=ZoneInfo("UTC")))["totals"]
    assert totals["totalTokens"] == 5150 and totals.get("overlapExcludedTokens", 0) == 0


def _store(home: Path, rows: list[tuple], with_output: bool = True) -> Path:
    import sqlite3

    db = home / "session-store.db"
    con = sqlite3.connect(db)
    out = "output_tokens INTEGER, " if with_output else ""
    con.execute("CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, cwd TEXT, created_at TEXT)")
    con.execute(f"CREATE TABLE IF NOT EXISTS assistant_usage_events (id INTEGER PRIMARY KEY, session_id TEXT, "
                f"model TEXT, input_tokens INTEGER, {out}cache_read_tokens INTEGER, cache_write_tokens INTEGER, "
                "reasoning_tokens INTEGER, initiator TEXT, created_at TEXT)")
    for r in rows:
        if not with_output:
            r = r[:4] + r[5:]
        con.execute("INSERT INTO assistant_usage_events (id, session_id, model, input_tokens, "
                    f"{'output_tokens, ' if with_output else ''}"
                    "cache_read_tokens, cache_write_tokens, reasoning_tokens, initiator, created_at) "
                    f"VALUES ({', '.join('?' * len(r))})", r)
    con.commit()
    con.close()
    return db


D4 = "d4c3b2a1-0f9e-4d8c-b7a6-5f4e3d2c1b0a"
STORE_ROWS = [
    (1, D4, "claude-sonnet-4.5", 12000, 500, 9000, 2000, 0, None, "2026-11-20T13:00:00.000Z"),
    (2, D4, "gpt-5.1", 5000, 300, 3000, 0, 100, None, "2026-11-21T08:00:00.000Z"),
    # a session with OTel chat spans: counted from the spans only
    (3, "c0ffee00-1111-4222-8333-444455556666", "gpt-5.1", 999, 1, 0, 0, 0, None, "2026-11-20T10:30:00.000Z"),
    (4, D4, "claude-sonnet-4.5", "lots", 1, 0, 0, 0, None, "2026-11-20T13:05:00.000Z"),  # corrupt: skipped
]


def test_session_store_is_preferred_to_rollups_never_both(home, pricer, tmp_path) -> None:
    """spec §3.4/3.5: per session, OTel spans, else session-store.db rows, else shutdown rollups."""
    _store(home, STORE_ROWS)
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert res["copilot"].skipped >= 2  # the truncated line and the corrupt store row
    d = daily(conn, "copilot")
    # R1 (61,500) on the 20th and R2 + R3 (44,000) on the 21st give way to the store's two rows
    assert tokens(d["2026-11-20"]) == (10119 - 3000 + 1000, 3030 - 1500 + 500, 12000 - 9000 + 2000,
                                       95881 - 48000 + 9000, 121030 - 61500 + 12500)
    assert d["2026-11-21"]["totalTokens"] == 49540 - 36100 - 7900 + 5300
    assert _reasoning(conn)["2026-11-21"] == 528 - 400 + 100
    # a new row: read from the watermark, exactly its tokens added; a resync adds nothing
    _store(home, [(5, D4, "gpt-5.1", 100, 10, 0, 0, 0, "compaction", "2026-11-21T09:00:00.000Z")])
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert res["copilot"].records == 1
    assert daily(conn, "copilot")["2026-11-21"]["totalTokens"] == 49540 - 36100 - 7900 + 5300 + 110
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert res["copilot"].records == 0
    assert daily(conn, "copilot")["2026-11-21"]["totalTokens"] == 49540 - 36100 - 7900 + 5300 + 110


def test_an_older_store_without_output_tokens_leaves_the_rollups(home, pricer, tmp_path) -> None:
    _store(home, STORE_ROWS[:2], with_output=False)
    conn, _ = sync(tmp_path / "h.db", pricer, sources=SRC)
    d = daily(conn, "copilot")
    assert tokens(d["2026-11-20"])[-1] == 121030 and d["2026-11-21"]["totalTokens"] == 49540


def test_records_carry_the_folder_their_session_ran_in(home, pricer, tmp_path) -> None:
    """A journal's session.start names the folder (``context.cwd``); the session store keeps it
    per session; a chat span takes its session's from the session's journal."""
    # the spans' session gets a journal that only starts (its usage is the spans')
    conv = "c0ffee00-1111-4222-8333-444455556666"
    (home / "session-state" / conv).mkdir()
    (home / "session-state" / conv / "events.jsonl").write_text(json.dumps(
        {"type": "session.start", "data": {"sessionId": conv, "context": {"cwd": "/home/u/spans"}},
         "id": "e1", "timestamp": "2026-11-20T10:29:00.000Z", "parentId": None}) + "\n")
    conn, _ = sync(tmp_path / "h.db", pricer, sources=SRC)
    got = dict(conn.execute("SELECT COALESCE(session, '-') || ' ' || COALESCE(project, '-'), COUNT(*) FROM ledger "
                            "WHERE source = 'copilot' GROUP BY 1").fetchall())
    assert got == {f"{conv} /home/u/spans": 3, "f00dbabe-2222-4333-8444-555566667777 -": 1,
                   f"{D4} /home/u/proj": 3, "e5f60718-293a-4b4c-9d5e-6f708192a3b4 /home/u/scratch": 2}


def test_session_store_rows_carry_the_sessions_folder(home, pricer, tmp_path) -> None:
    import sqlite3

    db = _store(home, STORE_ROWS[:2])
    con = sqlite3.connect(db)
    con.execute("INSERT INTO sessions (id, cwd, created_at) VALUES (?, ?, ?)", (D4, "/home/u/from-store", "x"))
    con.commit()
    con.close()
    conn, _ = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert conn.execute("SELECT DISTINCT project FROM ledger WHERE key LIKE 'store|%'").fetchall() == [
        ("/home/u/from-store",)]


def test_a_start_without_a_folder_names_none() -> None:
    for data in ({}, {"context": None}, {"context": {"cwd": ""}}, {"context": {"cwd": 5}}, None, "x"):
        assert copilot.start_folder(data) is None
    assert copilot.start_folder({"context": {"cwd": "/a"}}) == "/a"
