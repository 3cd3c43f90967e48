"""Issue 19 item 10: a local source that finds nothing says where it looked (every folder
tried) and which env var moves it; the status words match the facts (never "not configured"
next to a folder it reads and the records it holds)."""

from __future__ import annotations

import json
from pathlib import Path

from tokentui.cli import main
from tokentui.config import load_settings
from tokentui.core.records import ESTIMATED, UsageRecord
from tokentui.services.status import refresh_statuses, source_statuses
from tokentui.services.sync import open_store
from tokentui.sources import registry
from tokentui.store import ledger
from tokentui.store.db import transaction


def _sources_json(capsys) -> dict[str, dict]:
    capsys.readouterr()
    assert main(["sources", "--json"]) == 0
    return {s["name"]: s for s in json.loads(capsys.readouterr().out)}


def _claude_records(n: int) -> list[UsageRecord]:
    return [UsageRecord("claude-code", f"m{i}|r{i}", 1_763_600_000_000 + i * 1000, "claude-sonnet-4-5", 10, 5,
                        cost_label=ESTIMATED, cost_pico=10**9) for i in range(n)]


def test_a_source_that_finds_nothing_names_every_folder_it_tried_and_its_env_var(isolated, capsys):
    home = Path(isolated) / "home"
    rows = _sources_json(capsys)
    claude = rows["claude-code"]
    assert claude["status"] == "not configured" and claude["paths"] == []
    assert claude["looked"] == [str(home / ".config" / "claude" / "projects"), str(home / ".claude" / "projects")]
    assert "CLAUDE_CONFIG_DIR" in claude["message"] and "[sources.claude-code]" in claude["message"]
    assert rows["codex"]["looked"] == [str(home / ".codex")] and "CODEX_HOME" in rows["codex"]["message"]
    assert rows["gemini-cli"]["looked"] == [str(home / ".gemini" / "tmp")]
    for s in registry.all_sources(registry.LOCAL):  # every built-in local source says where it looked
        r = rows[s.name]
        assert r["looked"], s.name
        assert all(e in r["message"] for e in s.env), (s.name, r["message"])
    capsys.readouterr()
    assert main(["sources"]) == 0
    out = capsys.readouterr().out
    assert f"looked in {home / '.claude' / 'projects'} (not found)" in out
    assert f"looked in {home / '.codex'} (not found)" in out
    # nothing was synced from a source that found nothing: it says when it looked
    claude_line = next(line for line in out.splitlines() if line.startswith("claude-code "))
    assert "not configured  looked " in claude_line and "last sync" not in claude_line, claude_line


def test_an_env_var_pointing_nowhere_is_named_with_the_folder_it_named(isolated, capsys, monkeypatch):
    monkeypatch.setenv("CODEX_HOME", str(Path(isolated) / "nowhere"))
    codex = _sources_json(capsys)["codex"]
    assert codex["looked"] == [str(Path(isolated) / "nowhere")] and "CODEX_HOME" in codex["message"]


def test_a_folder_read_with_records_is_never_not_configured(isolated, capsys):
    """The folder exists but its logs are gone (Claude Code's cleanup), and the last sync
    stored "not configured": the source reads that folder and holds 2,133 records."""
    projects = Path(isolated) / "home" / ".claude" / "projects"
    projects.mkdir(parents=True)
    conn = open_store()
    with transaction(conn):
        ledger.upsert(conn, _claude_records(2133), "laptop")
        ledger.set_status(conn, "claude-code", "not configured", None, {})
    rows = _sources_json(capsys)
    claude = rows["claude-code"]
    assert claude["status"] != "not configured", claude
    assert claude["status"] == "ok" and claude["paths"] == [str(projects)] and claude["records"] == 2133
    assert "2,133 records" in claude["message"] and claude["looked"] == []
    capsys.readouterr()
    assert main(["sources"]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("claude-code"))
    assert "not configured" not in line and "2,133" in line
    # the dashboard's cheap refresh keeps those words (the stored row says "not configured")
    full = tuple(source_statuses(conn, load_settings()))
    again = {r.name: r for r in refresh_statuses(conn, full)}
    assert again["claude-code"].status == "ok" and "2,133 records" in again["claude-code"].message
    # and with the folder gone too: no logs now, the history kept
    projects.rmdir()
    claude = _sources_json(capsys)["claude-code"]
    assert claude["status"] == "stale" and "no logs found now" in claude["message"]
    assert "2,133 records" in claude["message"] and str(projects) in claude["looked"]
    conn.close()
