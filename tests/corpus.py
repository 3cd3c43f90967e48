"""A generated agent-log corpus (bench/gen_agent_logs.py) and its true totals, for tests."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def make_corpus(out: Path, mb: float, seed: int, days: int = 20) -> Path:
    subprocess.run([sys.executable, str(REPO / "bench" / "gen_agent_logs.py"), str(out), "--mb", str(mb),
                    "--days", str(days), "--seed", str(seed)], check=True, capture_output=True)
    return out


def truth(out: Path) -> dict:
    """``{(day, source, model): (input, output, cache write, cache read, entries)}`` from truth.json."""
    data = json.loads((out / "truth.json").read_text())
    exp = {}
    for day, rows in data["days"].items():
        for r in rows:
            if r["source"] == "claude":
                exp[(day, "claude-code", r["model"])] = (r["input"], r["output"], r["cache_write"], r["cache_read"],
                                                         r["entries"])
            else:
                exp[(day, "codex", r["model"])] = (r["input"] - r["cached_input"], r["output"], 0,
                                                   r["cached_input"], r["entries"])
    return exp


def stored(conn: sqlite3.Connection) -> dict:
    return {tuple(r[:3]): tuple(r[3:]) for r in conn.execute(
        "SELECT date(ts_ms / 1000, 'unixepoch'), source, model, SUM(input), SUM(output), "
        "SUM(cache_write_5m + cache_write_1h), SUM(cache_read), COUNT(*) FROM ledger "
        "WHERE kind = 'local' GROUP BY 1, 2, 3")}


def every_agent(root: Path, home: Path) -> dict[str, str]:
    """One fixture set of every agent tokentop reads (tests/fixtures): logs under ``root``, the
    agents found in their default places under ``home`` (which must be ``$HOME``). Returns the
    environment variables that point the other agents at ``root``."""
    import runpy
    import shutil

    fixtures = REPO / "tests" / "fixtures"
    LOG_FIXTURES, AGENTS = fixtures / "logs", fixtures / "agents"
    for name in ("claude", "claude-config", "codex", "gemini"):
        shutil.copytree(LOG_FIXTURES / name, root / name)
    oc = root / "opencode"
    shutil.copytree(LOG_FIXTURES / "opencode" / "storage", oc / "storage")
    db = sqlite3.connect(oc / "opencode.db")
    db.executescript((LOG_FIXTURES / "opencode" / "opencode-db.sql").read_text())
    db.commit()
    db.close()
    for name in ("amp", "copilot", "qwen"):
        shutil.copytree(AGENTS / name, root / name)
    shutil.copytree(AGENTS / "openclaw", root / "openclaw", ignore=shutil.ignore_patterns("make_fixture.py"))
    runpy.run_path(str(AGENTS / "openclaw" / "make_fixture.py"))["build"](str(root / "openclaw"))
    for name in ("kimi", "pi", "droid", "codebuff"):
        shutil.copytree(AGENTS / name, root / name)
    runpy.run_path(str(AGENTS / "goose" / "make_fixture.py"))["build"](str(root / "goose" / "data"))
    runpy.run_path(str(AGENTS / "crush" / "make_fixture.py"))["build"](str(root / "crush"))
    shutil.copytree(AGENTS / "cline-family" / "globalStorage", home / ".config" / "Code" / "User" / "globalStorage")
    shutil.copytree(AGENTS / "cline-family" / "cline-home", home / ".cline")
    runpy.run_path(str(AGENTS / "zed" / "make_fixture.py"))["build"](str(home / ".local" / "share" / "zed"))
    runpy.run_path(str(AGENTS / "hermes" / "make_fixture.py"))["build"](str(home / ".hermes"))
    runpy.run_path(str(AGENTS / "cursor" / "make_fixture.py"))["build"](str(home / ".config" / "Cursor"))
    env = {}
    for var, value in (("CLAUDE_CONFIG_DIR", f"{root / 'claude'},{root / 'claude-config'}"),
                       ("CODEX_HOME", str(root / "codex")), ("GEMINI_DATA_DIR", str(root / "gemini" / "tmp")),
                       ("OPENCODE_DATA_DIR", str(oc)), ("AMP_DATA_DIR", str(root / "amp")),
                       ("OPENCLAW_STATE_DIR", str(root / "openclaw")), ("COPILOT_HOME", str(root / "copilot")),
                       ("QWEN_RUNTIME_DIR", str(root / "qwen")), ("KIMI_SHARE_DIR", str(root / "kimi")),
                       ("KIMI_CODE_HOME", str(root / "no-kimi-code")), ("PI_CODING_AGENT_DIR", str(root / "pi")),
                       ("OMP_CODING_AGENT_DIR", str(root / "no-omp")), ("GOOSE_PATH_ROOT", str(root / "goose")),
                       ("FACTORY_DIR", str(root / "droid")),
                       ("CRUSH_GLOBAL_DATA", str(root / "crush" / "xdg-data" / "crush")),
                       ("CODEBUFF_DATA_DIR", f"{root / 'codebuff' / 'manicode'},{root / 'codebuff' / 'manicode-dev'}")):
        env[var] = value
    return env
