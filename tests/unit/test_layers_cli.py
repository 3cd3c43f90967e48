"""The import-layer rule and the CLI end to end (subprocesses, like a user)."""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import tokentui
from tests.conftest import LOG_FIXTURES

TUI_PREFIXES = ("tokentui.tui",)


def _core_modules() -> list[str]:
    names = []
    for m in pkgutil.walk_packages(tokentui.__path__, "tokentui."):
        if not m.name.startswith(TUI_PREFIXES) and m.name != "tokentui.__main__":
            names.append(m.name)
    return names


def _loaded_after_import(mods: list[str], prefixes: tuple[str, ...]) -> list[str]:
    code = ("import importlib, sys, json\n"
            f"for m in {mods!r}:\n"
            "    importlib.import_module(m)\n"
            f"print(json.dumps(sorted(n for n in sys.modules if n.split('.')[0] in {prefixes!r})))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def test_core_modules_never_load_textual_or_rich() -> None:
    """Every module outside the TUI, each imported in one process: neither Textual nor Rich is
    loaded, directly or through another module (lint-imports checks the same statically)."""
    mods = _core_modules()
    assert "tokentui.store.db" in mods and "tokentui.cli" in mods and "tokentui.services.ingest" in mods
    assert "tokentui.sources.registry" in mods and "tokentui.sources.api.openai" in mods
    assert _loaded_after_import(mods, ("textual", "rich")) == []


def test_cli_start_path_loads_no_ui_or_http_library() -> None:
    """`tokentop report` and friends start fast: no Textual, Rich or httpx on the way."""
    mods = ["tokentui.cli", "tokentui.services.report", "tokentui.services.sync", "tokentui.services.status",
            "tokentui.store.queries", "tokentui.core.pricing"]
    assert _loaded_after_import(mods, ("textual", "rich", "httpx")) == []


def _run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tokentui", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=60)


def test_subcommands_do_not_import_textual() -> None:
    code = ("import sys; from tokentui.cli import main\n"
            "main(['report', 'daily', '--no-sync', '--json']); main(['sources'])\n"
            "assert 'textual' not in sys.modules, 'textual was imported'\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_version_help_and_locate(isolated: Path) -> None:
    assert _run("--version").stdout.strip() == f"tokentop {tokentui.__version__}"
    helptext = _run("--help").stdout
    for cmd in ("sync", "report", "sources", "locate"):
        assert cmd in helptext
    assert _run("locate", "data").stdout.strip() == str(isolated / "data")
    assert _run("locate", "config").stdout.strip() == str(isolated / "config" / "config.toml")
    assert _run("report", "--help").returncode == 0


def test_report_json_end_to_end_matches_fixture(isolated: Path) -> None:
    env = {"CLAUDE_CONFIG_DIR": f"{LOG_FIXTURES}/claude,{LOG_FIXTURES}/claude-config",
           "CODEX_HOME": str(LOG_FIXTURES / "codex")}
    cfg = isolated / "config" / "config.toml"
    cfg.parent.mkdir()
    cfg.write_text(f'[pricing]\nmode = "calculate"\ntable = "{LOG_FIXTURES}/pricing/litellm-fixture.json"\n')
    proc = _run("report", "daily", "--json", "--source", "claude-code", "--timezone", "America/Los_Angeles",
                env=env)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    day = {r["date"]: r for r in data["daily"]}["2026-11-20"]
    assert day["totalTokens"] == 88985 and day["totalCost"] == pytest.approx(0.12524, abs=1e-9)
    assert set(day) >= {"date", "period", "inputTokens", "outputTokens", "cacheCreationTokens", "cacheReadTokens",
                        "totalTokens", "totalCost", "modelsUsed", "modelBreakdowns", "sources", "unpricedTokens"}
    assert set(day["sources"]) == {"claude-code"}
    proc = _run("report", "daily", "--since", "2026-11-21", "--until", "20261121", "--no-sync")
    assert proc.returncode == 0 and "2026-11-21" in proc.stdout and "2026-11-20" not in proc.stdout
    assert max(len(line) for line in proc.stdout.splitlines()) <= 80
    proc = _run("sources", env=env)
    assert "claude-code" in proc.stdout and "3 duplicate line(s) dropped" in proc.stdout


def test_bad_arguments_are_one_line_errors(isolated: Path) -> None:
    proc = _run("report", "daily", "--since", "yesterday", "--no-sync")
    assert proc.returncode == 2 and proc.stderr.startswith("tokentop: error: --since 'yesterday' is not a date")
    assert "2026-11-20 or 20261120" in proc.stderr
    proc = _run("report", "daily", "--since", "2026-01-01", "--until", "2026-13-01", "--no-sync")
    assert proc.returncode == 2 and proc.stderr.startswith("tokentop: error: --until '2026-13-01' is not a date")
    proc = _run("report", "daily", "--timezone", "Mars/Base", "--no-sync")
    assert proc.returncode == 2 and "unknown timezone" in proc.stderr and "Traceback" not in proc.stderr


def test_empty_store_says_what_to_do(isolated: Path) -> None:
    proc = _run("report", "daily", "--no-sync")
    assert proc.returncode == 0 and "tokentop sources" in proc.stdout


def test_quiet_sync_that_fails_still_says_why(isolated: Path) -> None:
    proc = _run("sync", "-q", env={"CLAUDE_CONFIG_DIR": str(isolated / "missing")})
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.startswith("tokentop: error: claude-code: no valid Claude data directory")


def test_sync_summary_is_a_table_that_fits_80_columns(isolated: Path) -> None:
    env = {"CLAUDE_CONFIG_DIR": str(LOG_FIXTURES / "claude"), "CODEX_HOME": str(LOG_FIXTURES / "codex")}
    first = _run("sync", env=env)
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines[0].split() == ["source", "status", "files", "read", "MB", "new", "records", "duplicates"]
    rows = {line.split()[0]: line.split() for line in lines[1:] if line[:1].isalpha()}
    from tokentui.sources import registry

    assert set(rows) == set(registry.names(registry.LOCAL))  # a row per local source, Cline and Zed included
    assert {"claude-code", "codex", "openclaw", "cline", "roo-code", "kilo-code", "zed", "kimi", "pi", "goose",
            "droid", "crush", "hermes", "cursor"} <= set(rows)
    assert int(rows["claude-code"][-2].replace(",", "")) > 0 and int(rows["claude-code"][-1]) > 0
    assert max(len(line) for line in lines) <= 80, first.stdout
    again = _run("sync", env=env)
    assert [line.split()[-2] for line in again.stdout.splitlines()[1:] if line[:1].isalpha()] == ["0"] * len(rows)


def test_sync_without_keys_loads_no_http_library_or_keyring(isolated: Path) -> None:
    """A sync with no API key set (and none known in the keyring) starts fast: it never loads
    httpx, the API clients or the keyring; once a source's status needs updating, it polls."""
    env = {"CLAUDE_CONFIG_DIR": str(LOG_FIXTURES / "claude"), "CODEX_HOME": str(LOG_FIXTURES / "codex")}
    data = isolated / "data"
    code = ("import sys; from tokentui.cli import main\n"
            "rc = main(['sync', '-q'])\n"
            "print(sorted({n.split('.')[0] for n in sys.modules} & {'httpx', 'keyring'}),"
            " 'tokentui.services.poll' in sys.modules, rc)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, **env})
    assert proc.stdout.split() == ["['keyring']", "False", "0"], proc.stderr  # the first run asks the keyring
    assert json.loads((data / "keyring-index.json").read_text()) == dict.fromkeys(
        ["anthropic", "deepseek", "moonshot", "openai", "openrouter"], False)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, **env})
    assert proc.stdout.split() == ["[]", "False", "0"], proc.stderr  # later runs do not
    import sqlite3

    conn = sqlite3.connect(data / "history.db")
    with conn:
        conn.execute("INSERT INTO source_status (source, status, message, last_sync_ms) "
                     "VALUES ('openai', 'ok', 'polled', 1)")  # polled once, key removed since
    conn.close()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, **env})
    assert proc.stdout.split()[-2:] == ["True", "0"], proc.stderr
    conn = sqlite3.connect(data / "history.db")
    assert conn.execute("SELECT status FROM source_status WHERE source = 'openai'").fetchone() == ("not configured",)


def test_sql_lives_in_the_store_only() -> None:
    """No ``.execute`` and no SQL text outside ``tokentui/store`` (the one exception is the
    readers that declare a database strategy — OpenCode, OpenClaw, Copilot's session store,
    Zed, Goose, Crush, Hermes, Cursor — which read the agent's own database, not tokentop's)."""
    import ast
    import re

    from tokentui.sources import registry
    from tokentui.sources.readers import Combined, SessionTotals, SignedDatabase, WatermarkDatabase

    sql = re.compile(r"\b(SELECT\b.+\bFROM|INSERT (OR \w+ )?INTO|UPDATE \w+ SET|DELETE FROM|PRAGMA \w+|"
                     r"CREATE (TABLE|INDEX)|BEGIN IMMEDIATE)\b", re.S)
    root = Path(tokentui.__file__).parent
    allowed = set()
    for name in registry.names(registry.LOCAL):
        reader = registry.reader(name)
        parts = reader.parts if isinstance(reader, Combined) else (reader,)
        for p in parts:  # the modules of a database strategy's functions, and the reader's own
            if isinstance(p, (SignedDatabase, WatermarkDatabase, SessionTotals)):
                read = (p.read_all if isinstance(p, SignedDatabase) else p.read if isinstance(p, SessionTotals)
                        else p.read_since)
                for module in (read.__module__, registry.get(name).reader.split(":")[0]):
                    allowed.add(root.parent / (module.replace(".", "/") + ".py"))
    assert root / "sources" / "opencode.py" in allowed and root / "sources" / "openclaw.py" in allowed
    found = []
    for path in root.rglob("*.py"):
        if root / "store" in path.parents or path in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("execute", "executemany", "executescript"):
                found.append(f"{path.relative_to(root)}:{node.lineno} .{node.attr}")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and sql.search(node.value):
                found.append(f"{path.relative_to(root)}:{node.lineno} {node.value[:40]!r}")
    assert found == []


@pytest.mark.parametrize("args", [(), ("--demo",)])
def test_dashboard_without_a_terminal_says_so_and_exits_2(isolated: Path, args: tuple[str, ...]) -> None:
    """Piped, redirected or from cron: one line pointing at the table, never a hung full-screen app."""
    try:
        proc = subprocess.run([sys.executable, "-m", "tokentui", *args], capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, env=dict(os.environ), timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail("tokentop with stdout not a terminal started the dashboard and hung")
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "needs a terminal" in lines[0]
    assert "tokentop report daily" in proc.stderr and "\x1b" not in proc.stderr


def test_unknown_sources_are_errors_with_a_suggestion(isolated: Path) -> None:
    """`--source claude` or `--source windsurf` used to print "No usage" and exit 0."""
    proc = _run("report", "daily", "--no-sync", "--source", "claude")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("tokentop: error: unknown source 'claude'") and "did you mean 'claude-code'" in proc.stderr
    proc = _run("report", "session", "--no-sync", "--source", "codex", "--source", "windsurf")
    assert proc.returncode == 2 and "unknown source 'windsurf'" in proc.stderr and "claude-code" in proc.stderr
    proc = _run("sync", "--source", "gemini")
    assert proc.returncode == 2 and "did you mean 'gemini-cli'" in proc.stderr
    assert _run("report", "daily", "--no-sync", "--source", "codex").returncode == 0


def test_sources_counts_have_thousands_separators(isolated: Path, capsys, monkeypatch) -> None:
    """`tokentop sources` prints records as 103,158: its line counts read the same way."""
    from tokentui.cli.main import main
    from tokentui.store import ledger
    from tokentui.services.sync import open_store
    from tokentui.store.db import transaction

    (isolated / "claude" / "projects").mkdir(parents=True)
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(isolated / "claude"))
    conn = open_store()
    with transaction(conn):  # what the last sync found
        ledger.set_status(conn, "claude-code", "ok", detail={"duplicates": 151169, "skipped_lines": 12345,
                                                             "implausible_lines": 1234})
    conn.close()
    assert main(["sources"]) == 0
    out = capsys.readouterr().out
    assert "151,169 duplicate line(s) dropped" in out and "12,345 corrupt or invalid line(s) skipped" in out
    assert "1,234 of them quarantined" in out
