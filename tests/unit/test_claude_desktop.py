"""Claude Desktop's Cowork and Code-tab transcripts (spec/agents.md §14): Claude Code's own
lines under Desktop's app-data folder, found with no set-up, read by the same parser, and
deduplicated together with the normal Claude roots."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import LOG_FIXTURES
from tests.unit.ingest_helpers import daily, sync, tokens
from tokentui.core.pricing import Pricer
from tokentui.sources import claude_code, claude_desktop
from tokentui.store import queries

CLAUDE = LOG_FIXTURES / "claude"


@pytest.fixture
def pricer(fixture_price_table):
    return Pricer(table=fixture_price_table, use_genai=False)


def _cowork(home: Path, space: str | None = "Quarterly report") -> Path:
    """One Cowork task as Claude Desktop lays it out on Linux, holding the fixture transcripts."""
    workspace = home / ".config" / "Claude" / "local-agent-mode-sessions" / "app-1" / "ws-9"
    root = workspace / "local_abc123" / ".claude"
    shutil.copytree(CLAUDE / "projects", root / "projects")
    if space is not None:
        (workspace / "local_abc123.json").write_text(json.dumps({"spaceId": "sp1", "title": "x"}))
        (workspace / "spaces.json").write_text(json.dumps({"spaces": [{"id": "sp0", "name": "Other"},
                                                                      {"id": "sp1", "name": space}]}))
    return root


def _home() -> Path:
    return Path(os.environ["HOME"])


@pytest.fixture
def cli_only(pricer, tmp_path, monkeypatch):
    """The same transcripts read from a normal Claude Code root: what Desktop's copy must give."""
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(CLAUDE))
    conn, res = sync(tmp_path / "cli.db", pricer, sources=("claude-code",))
    monkeypatch.delenv("CLAUDE_CONFIG_DIR")
    days = {day: (tokens(row), row["totalCost"]) for day, row in daily(conn, "claude-code").items()}
    assert res["claude-code"].records > 0 and len(days) >= 2
    return res["claude-code"].records, days


def test_cowork_transcripts_are_found_with_no_set_up(pricer, tmp_path, monkeypatch, cli_only) -> None:
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "no-claude-here"))
    root = _cowork(_home())
    found = claude_desktop.desktop_roots()
    assert [d.root for d in found] == [root]
    assert found[0].space == "Quarterly report"
    assert str(root / "projects") in claude_code.where()[0]

    conn, res = sync(tmp_path / "h.db", pricer, sources=("claude-code",))
    assert res["claude-code"].records == cli_only[0]
    assert {day: (tokens(row), row["totalCost"]) for day, row in daily(conn, "claude-code").items()} == cli_only[1]
    projects = {r[0] for r in conn.execute("SELECT DISTINCT project FROM ledger")}
    assert projects == {"Quarterly report"}  # the space a user knows the task by, not the sandbox's slug


def test_the_same_request_in_desktop_and_cli_counts_once(pricer, tmp_path, cli_only) -> None:
    shutil.copytree(CLAUDE / "projects", _home() / ".claude" / "projects")
    _cowork(_home())
    code_tab = _home() / ".config" / "Claude" / "claude-code-sessions" / "s1" / "cfg"
    shutil.copytree(CLAUDE / "projects", code_tab / "projects")

    conn, res = sync(tmp_path / "h.db", pricer, sources=("claude-code",))
    assert res["claude-code"].records == cli_only[0]  # three copies of every request: one kept
    assert {day: (tokens(row), row["totalCost"]) for day, row in daily(conn, "claude-code").items()} == cli_only[1]
    before = queries.totals(conn, queries.Filter())
    conn2, res2 = sync(tmp_path / "h.db", pricer, sources=("claude-code",))
    after = queries.totals(conn2, queries.Filter())
    assert (after.total, after.cost_pico) == (before.total, before.cost_pico)
    assert res2["claude-code"].files_read == 0


def test_desktop_search_is_bounded_and_skips_what_it_should(tmp_path, monkeypatch) -> None:
    base = tmp_path / "local-agent-mode-sessions"
    deep = base
    for i in range(claude_desktop.DESKTOP_DEPTH + 2):
        deep = deep / f"d{i}"
    (deep / "projects").mkdir(parents=True)
    (base / "a" / "node_modules" / "x" / "projects").mkdir(parents=True)
    (base / "a" / ".git" / "projects").mkdir(parents=True)
    (base / "ok" / "local_1" / ".claude" / "projects").mkdir(parents=True)
    outside = tmp_path / "outside" / "cfg"
    (outside / "projects").mkdir(parents=True)
    (base / "link").symlink_to(outside.parent)
    errors: list[str] = []
    found = claude_desktop.desktop_roots([base], errors)
    assert [d.root for d in found] == [base / "ok" / "local_1" / ".claude"]
    assert found[0].space is None and found[0].rel.startswith("desktop/local-agent-mode-sessions/ok/")

    monkeypatch.setattr(claude_desktop, "DESKTOP_MAX_ENTRIES", 1)
    errors = []
    claude_desktop.desktop_roots([base], errors)
    assert any("stopped looking" in e for e in errors)


@pytest.mark.parametrize("meta,spaces", [
    ("{not json", '{"spaces": []}'),
    ('{"spaceId": 5}', '{"spaces": [{"id": 5, "name": "n"}]}'),
    ('{"spaceId": "sp1"}', '{"spaces": "nope"}'),
    ('{"spaceId": "sp1"}', "x" * (claude_desktop.DESKTOP_MAX_META + 10)),
])
def test_a_broken_space_file_falls_back_to_the_folder_name(tmp_path, meta, spaces) -> None:
    workspace = tmp_path / "local-agent-mode-sessions" / "app" / "ws"
    (workspace / "local_1" / ".claude" / "projects" / "-sessions-slug").mkdir(parents=True)
    (workspace / "local_1.json").write_text(meta)
    (workspace / "spaces.json").write_text(spaces)
    found = claude_desktop.desktop_roots([tmp_path / "local-agent-mode-sessions"])
    assert len(found) == 1 and found[0].space is None


@pytest.mark.parametrize("platform,expect", [
    ("darwin", "Library/Application Support/Claude"),
    ("linux", ".config/Claude"),
])
def test_app_data_folder_per_os(platform, expect) -> None:
    assert str(claude_desktop.desktop_app_dirs(platform)[0]).endswith(expect)


def test_windows_app_data_includes_the_msix_build(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("APPDATA", str(tmp_path / "Roaming"))
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "Local"))
    (tmp_path / "Local" / "Packages" / "Claude_pzs8sxrjxfjjc").mkdir(parents=True)
    (tmp_path / "Local" / "Packages" / "Other_1").mkdir(parents=True)
    dirs = claude_desktop.desktop_app_dirs("win32")
    assert dirs == [tmp_path / "Roaming" / "Claude",
                    tmp_path / "Local" / "Packages" / "Claude_pzs8sxrjxfjjc" / "LocalCache" / "Roaming" / "Claude"]
