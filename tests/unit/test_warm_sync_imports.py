"""A warm `tokentop sync` (nothing new to read: cron, and before every report) imports and
does only what it uses. Each assertion names work the sync path once did at every run: the
plan-limit service without a status line, tomllib for Codex's config.toml with no Codex file
to parse, textwrap for the help's epilog, difflib for a --source hint, the key-redaction
rules, and compiling printable()'s patterns when nothing is printed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import LOG_FIXTURES

WORKTREE = str(Path(__file__).resolve().parents[2])

#: run in a new process, as a user runs it; reports what the sync left imported
PROBE = ("import json, re, sys\n"
         "from tokentui.cli import main\n"
         "code = main(['sync', '-q'])\n"
         "from tokentui.core import text\n"
         "p = text._UNSAFE_OR_NEWLINE\n"
         "print(json.dumps({'code': code, 'modules': sorted(sys.modules),\n"
         "                  'printable_compiled': isinstance(p, re.Pattern) or 'search' in vars(p)}))\n")

NOT_ON_THE_WARM_PATH = ("tokentui.services.quota", "tokentui.core.quota_state", "tomllib", "textwrap", "difflib",
                        "tokentui.core.secrets", "tokentui.core.totals", "tokentui.services.poll", "httpx", "signal",
                        # orjson imports dataclasses, inspect and uuid (~10 ms): loaded at the first line parsed;
                        # discovery reads its small metadata files (Kimi's, Crush's, Claude Desktop's) with json
                        "orjson", "dataclasses", "inspect", "uuid")


def _sync(env: dict) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=120,
                         check=True, cwd=env["HOME"])  # not the checkout: PYTHONPATH says which code runs
    return json.loads(out.stdout.strip().splitlines()[-1])


def _env(tmp_path: Path) -> dict:
    codex = tmp_path / "codex"
    shutil.copytree(LOG_FIXTURES / "codex" / "sessions", codex / "sessions")
    (codex / "config.toml").write_text('service_tier = "fast"\n')  # read when a Codex file is parsed
    claude = tmp_path / "claude"
    shutil.copytree(LOG_FIXTURES / "claude" / "projects", claude / "projects")
    return {**os.environ, "PYTHONPATH": WORKTREE, "CODEX_HOME": str(codex), "CLAUDE_CONFIG_DIR": str(claude)}


def test_a_warm_sync_imports_only_what_it_uses(tmp_path: Path) -> None:
    env = _env(tmp_path)
    cold = _sync(env)
    assert cold["code"] == 0 and "tomllib" in cold["modules"]  # the first sync parsed Codex's files
    warm = _sync(env)
    assert warm["code"] == 0
    assert "tokentui.sources.codex" in warm["modules"] and "tokentui.services.ingest" in warm["modules"]
    assert [m for m in NOT_ON_THE_WARM_PATH if m in warm["modules"]] == []
    assert not warm["printable_compiled"]  # -q: nothing printed, nothing to escape


def test_the_status_line_summary_is_still_refreshed_when_the_status_line_is_in_use(tmp_path: Path) -> None:
    env = _env(tmp_path)
    data = Path(env["TOKENTOP_DATA_DIR"])
    data.mkdir(parents=True, exist_ok=True)
    (data / "statusline-state.json").write_text('{"v": 1}')  # `tokentop statusline` has run here
    (data / "quota-spool.jsonl").write_text("")
    warm = _sync(env)
    assert warm["code"] == 0 and "tokentui.services.quota" in warm["modules"]
    assert (data / "statusline-summary.json").exists()


def test_a_warm_sync_of_every_agent_imports_only_what_it_uses(tmp_path: Path) -> None:
    """The same with one fixture set of every agent tokentop reads, found where each agent keeps
    it (the issue's benchmark setting): discovery parses some agents' metadata every time."""
    from tests.corpus import every_agent

    home = tmp_path / "agent-home"
    home.mkdir()
    env = {**os.environ, **every_agent(tmp_path / "agents", home), "HOME": str(home), "PYTHONPATH": WORKTREE}
    cold = _sync(env)
    assert cold["code"] == 0 and "orjson" in cold["modules"]
    warm = _sync(env)
    assert warm["code"] == 0 and "tokentui.sources.kimi" in warm["modules"]
    assert [m for m in NOT_ON_THE_WARM_PATH if m in warm["modules"]] == []


def test_parse_workers_inherit_the_json_parser() -> None:
    """The parser is loaded lazily, but before the parse workers fork: otherwise each worker
    would load it again (orjson with dataclasses, inspect, uuid: ~10 ms of CPU each)."""
    code = ("import sys\nfrom tokentui.services import parse_pool\nfrom tokentui.sources.readers import ParseContext\n"
            "pool = parse_pool.ParsePool(None, ParseContext(None, 'auto', {}), 2)\n"
            "before = 'orjson' in sys.modules\n"
            "pool._executor = None\n"
            "import concurrent.futures\n"
            "class Stop(Exception): pass\n"
            "def no_fork(*a, **k): raise Stop\n"
            "concurrent.futures.ProcessPoolExecutor = no_fork\n"
            "parse_pool.set_cache_size = parse_pool.set_autocheckpoint = lambda conn, n: 0\n"
            "try:\n    pool.start({})\nexcept Stop:\n    pass\n"
            "print(before, 'orjson' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": WORKTREE})
    assert out.stdout.split() == ["False", "True"], out.stderr
