"""Codex records carry the session's folder as their project (session_meta ``cwd``), and a
store read before that learns it: the reader's revision makes the next sync read the rollouts
again, once, and the same rows (same keys, same totals) get their project."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone

from tests.conftest import LOG_FIXTURES
from tests.unit.ingest_helpers import sync
from tokentui.core.pricing import Pricer
from tokentui.sources import codex, registry
from tokentui.sources.common import MAX_FOLDER, LocalFile
from tokentui.store import ledger

PRICER = Pricer(use_genai=False)


def _line(ts: str, kind: str, payload: dict) -> bytes:
    return json.dumps({"timestamp": ts, "type": kind, "payload": payload}, separators=(",", ":")).encode()


def _usage(total: int, last: int) -> dict:
    def u(n: int) -> dict:
        return {"input_tokens": n, "cached_input_tokens": 0, "output_tokens": 10, "reasoning_output_tokens": 0,
                "total_tokens": n + 10}
    return {"type": "token_count", "info": {"total_token_usage": u(total), "last_token_usage": u(last)}}


def _rollout(meta_cwd, turn_cwd="/elsewhere", turns: int = 2) -> list[bytes]:
    meta = {"id": "0199a000-0000-7000-8000-00000000000a", "timestamp": "2026-11-20T10:00:00.000Z"}
    if meta_cwd is not ...:
        meta["cwd"] = meta_cwd
    lines = [_line("2026-11-20T10:00:00.000Z", "session_meta", meta)]
    for i in range(turns):
        lines.append(_line(f"2026-11-20T10:0{i + 1}:00.000Z", "turn_context", {"cwd": turn_cwd, "model": "gpt-5"}))
        lines.append(_line(f"2026-11-20T10:0{i + 1}:05.000Z", "event_msg", _usage(100 * (i + 1), 100)))
    return lines


def _projects(lines: list[bytes], state=None) -> tuple[list, dict]:
    f = LocalFile("/c/sessions/r.jsonl", codex.SOURCE, None, "r", "r.jsonl")
    parser = codex.CodexParser(f, PRICER, state)
    return [r.project for r in parser.records(lines)], parser.state


def test_the_project_is_the_folder_the_session_started_in() -> None:
    got, _ = _projects(_rollout("/home/u/api"))
    assert got == ["/home/u/api", "/home/u/api"]  # not the later turn_context's folder


def test_a_fork_keeps_its_own_folder_over_the_parent_lines_it_copies() -> None:
    lines = _rollout("/home/u/fork")
    lines.insert(1, _line("2026-11-19T09:00:00.000Z", "session_meta", {"id": "parent", "cwd": "/home/u/parent"}))
    got, _ = _projects(lines)
    assert set(got) == {"/home/u/fork"}


def test_without_a_folder_in_session_meta_the_first_turn_names_it() -> None:
    got, _ = _projects(_rollout(..., turn_cwd="/home/u/from-turn"))
    assert got == ["/home/u/from-turn", "/home/u/from-turn"]


def test_a_cwd_that_is_no_folder_name_is_not_a_project() -> None:
    for bad in (None, "", "   ", 42, ["/a"], {"p": "/a"}, "/" + "x" * MAX_FOLDER):
        got, _ = _projects(_rollout(bad, turn_cwd=bad))
        assert got == [None, None], bad


def test_lines_read_later_from_the_cursor_keep_the_project() -> None:
    lines = _rollout("/home/u/api", turns=3)
    first, state = _projects(lines[:3])
    # the cursor's state is stored as JSON and read back by the next sync
    later, _ = _projects(lines[3:], json.loads(json.dumps(state)))
    assert first == ["/home/u/api"] and later == ["/home/u/api", "/home/u/api"]


def _codex_rows(conn) -> list[tuple]:
    return conn.execute("SELECT key, input, output, cache_read, reasoning, cost_pico, project FROM ledger "
                        "WHERE source = 'codex' ORDER BY key").fetchall()


def test_the_fixtures_sessions_are_recorded_under_their_folders(monkeypatch, tmp_path, fixture_price_table) -> None:
    monkeypatch.setenv("CODEX_HOME", str(LOG_FIXTURES / "codex"))
    conn, res = sync(tmp_path / "h.db", Pricer(table=fixture_price_table, use_genai=False), sources=("codex",))
    assert res["codex"].records == 6
    by_project = dict(conn.execute("SELECT COALESCE(project, '-'), COUNT(*) FROM ledger WHERE source = 'codex' "
                                   "GROUP BY project").fetchall())
    # the 2025 rollout ran in /home/u/old; the 2026 session and its fork in /home/u/proj
    assert by_project == {"/home/u/old": 2, "/home/u/proj": 4}


def _cursors(conn) -> list[tuple]:
    return conn.execute("SELECT path, offset, records, duplicates, skipped FROM files WHERE source = 'codex' "
                        "ORDER BY path").fetchall()


def test_a_store_read_before_projects_learns_them_once(monkeypatch, tmp_path, fixture_price_table) -> None:
    home = tmp_path / "codex"
    shutil.copytree(LOG_FIXTURES / "codex", home)
    monkeypatch.setenv("CODEX_HOME", str(home))
    pricer = Pricer(table=fixture_price_table, use_genai=False)
    conn, _ = sync(tmp_path / "h.db", pricer, sources=("codex",))
    now, cursors = _codex_rows(conn), _cursors(conn)
    # the store as the previous reader left it: no project, no revision recorded
    conn.execute("UPDATE ledger SET project = NULL WHERE source = 'codex'")
    conn.execute("DELETE FROM meta WHERE key = 'reader_revision:codex'")
    conn.commit()
    assert ledger.read_revision(conn, "codex") == 1
    conn.close()

    conn, res = sync(tmp_path / "h.db", pricer, sources=("codex",))
    assert res["codex"].files_read == len(cursors)  # every rollout read again
    assert res["codex"].records == 0  # and nothing counted as new
    assert _codex_rows(conn) == now  # the same rows, totals and costs, now with their projects
    assert _cursors(conn) == cursors
    assert ledger.read_revision(conn, "codex") == registry.reader("codex").revision
    conn.close()

    conn, res = sync(tmp_path / "h.db", pricer, sources=("codex",))
    assert res["codex"].files_read == 0 and res["codex"].bytes_read == 0  # once only
    assert _codex_rows(conn) == now
    conn.close()


def test_a_line_written_since_the_last_sync_is_new_when_the_rollouts_are_read_again(
        monkeypatch, tmp_path, fixture_price_table) -> None:
    home = tmp_path / "codex"
    shutil.copytree(LOG_FIXTURES / "codex", home)
    monkeypatch.setenv("CODEX_HOME", str(home))
    pricer = Pricer(table=fixture_price_table, use_genai=False)
    conn, _ = sync(tmp_path / "h.db", pricer, sources=("codex",))
    before = len(_codex_rows(conn))
    conn.execute("DELETE FROM meta WHERE key = 'reader_revision:codex'")
    conn.commit()
    conn.close()
    rollout = sorted(home.glob("sessions/2026/11/20/rollout-*T09-14-03-*.jsonl"))[0]
    last = [json.loads(x) for x in rollout.read_bytes().splitlines() if b'"total_token_usage"' in x][-1]
    total = last["payload"]["info"]["total_token_usage"]
    grown = {**total, "input_tokens": total["input_tokens"] + 500, "total_tokens": total["total_tokens"] + 500}
    with open(rollout, "ab") as fh:
        fh.write(_line("2026-11-20T09:59:00.000Z", "event_msg", {"type": "token_count", "info": {
            "total_token_usage": grown, "last_token_usage": {**grown, "input_tokens": 500, "cached_input_tokens": 0,
                                                              "output_tokens": 0, "reasoning_output_tokens": 0,
                                                              "total_tokens": 500}}}) + b"\n")
    conn, res = sync(tmp_path / "h.db", pricer, sources=("codex",))
    assert res["codex"].records == 1 and len(_codex_rows(conn)) == before + 1
    at = int(datetime(2026, 11, 20, 9, 59, tzinfo=timezone.utc).timestamp() * 1000)
    assert conn.execute("SELECT input, project FROM ledger WHERE source = 'codex' AND ts_ms = ?",
                        (at,)).fetchall() == [(500, "/home/u/proj")]


def test_renewing_cursors_is_idempotent_and_touches_one_source(tmp_path) -> None:
    from tokentui.store.db import connect, transaction

    conn = connect(tmp_path / "h.db")
    with transaction(conn):
        for src, path in (("codex", "/a.jsonl"), ("claude-code", "/b.jsonl")):
            ledger.put_cursor(conn, ledger.FileCursor(path, src, 1, 2, 3, 4, 3, None, {}))
    with transaction(conn):
        assert ledger.renew_cursors(conn, "codex", 2) is True
    with transaction(conn):
        assert ledger.renew_cursors(conn, "codex", 2) is False  # another sync did it: nothing more
        ledger.put_cursor(conn, ledger.FileCursor("/a.jsonl", "codex", 1, 2, 3, 4, 3, None, {}))
        assert ledger.renew_cursors(conn, "codex", 2) is False
    assert conn.execute("SELECT source FROM files ORDER BY source").fetchall() == [("claude-code",), ("codex",)]


def test_a_reader_with_a_dedupe_hook_is_never_read_again_for_a_revision() -> None:
    """Reading such a source again would count its stored entries' copies as duplicates: its
    revisions only add to the cursors' states, from each file's first bytes."""
    from tokentui.sources.readers import JsonlLog

    for name in registry.names(registry.LOCAL):
        for part in getattr(registry.reader(name), "parts", (registry.reader(name),)):
            if isinstance(part, JsonlLog) and part.dedupe is not None and part.revision > 1:
                assert part.head_state is not None, name
