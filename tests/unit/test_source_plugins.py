"""Third-party readers (the ``tokentop.sources`` entry-point group): real distributions on
``sys.path`` (``*.dist-info`` with ``entry_points.txt``), read by ``importlib.metadata`` in a
``tokentop`` subprocess, as an installed package would be. A good plugin's agent is synced and
reported; a plugin that fails to import, names something else or takes a built-in's name is one
plain line in ``tokentop sources`` and breaks nothing else."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tokentui.sources import registry

WORKTREE = Path(__file__).resolve().parents[2]

TOY = textwrap.dedent('''
    """A tokentop reader for Toy Agent: one JSON line per request in $TOY_PLUG_HOME/*.jsonl."""
    import os
    from pathlib import Path

    from tokentui.core.records import UNPRICED, UsageRecord
    from tokentui.sources.common import LocalFile, loads, walk_files
    from tokentui.sources.readers import JsonlLog, LinesParsed
    from tokentui.sources.registry import LOCAL, Source

    def where(extra=()):
        roots = [p for p in [os.environ.get("TOY_PLUG_HOME", ""), *extra] if p and os.path.isdir(p)]
        return roots, None

    def discover(extra=(), errors=None):
        roots, problem = where(extra)
        files = [LocalFile(p, "toy-plug", None, Path(p).stem, Path(p).name)
                 for r in roots for p in walk_files(Path(r), (".jsonl",), errors)]
        return sorted(files, key=lambda f: f.path), problem

    def parse(chunks, file, state, ctx, row_of, mtime_ms=0):
        rows, skipped = [], 0
        for lines, _start in chunks:
            for line in lines:
                try:
                    d = loads(line)
                    rec = UsageRecord("toy-plug", d["id"], d["ms"], d["model"], d["in"], d["out"],
                                      session=file.session, cost_label=UNPRICED)
                except (ValueError, KeyError, TypeError):
                    skipped += 1
                    continue
                row = row_of(rec, False)
                rows.append(row) if row is not None else None
        return LinesParsed(rows, skipped, 0, {})

    SOURCE = Source("toy-plug", LOCAL, "Toy Agent", JsonlLog(where, discover, parse),
                    env=("TOY_PLUG_HOME",), reads="`*.jsonl` under `$TOY_PLUG_HOME`")
    CODEX = Source("codex", LOCAL, "Not Codex", SOURCE.reader)
    NOT_A_SOURCE = 42
    ''')


def _dist(site: Path, name: str, version: str, entry_points: str) -> None:
    info = site / f"{name}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text("[tokentop.sources]\n" + entry_points)


@pytest.fixture
def site(tmp_path) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    (site / "toyplug.py").write_text(TOY)
    (site / "brokenplug.py").write_text("raise ImportError('needs libfoo, which is not installed')\n")
    _dist(site, "toyplug", "1.0", "toy-plug = toyplug:SOURCE\ncodex = toyplug:CODEX\n"
                                  "toy-number = toyplug:NOT_A_SOURCE\n")
    _dist(site, "brokenplug", "0.1", "broken = brokenplug:SOURCE\n")
    return site


def _tokentop(site: Path, tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    full = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{WORKTREE}", **env}
    return subprocess.run([sys.executable, "-m", "tokentui", *args], capture_output=True, text=True, env=full,
                          timeout=120, cwd=tmp_path)


def test_a_plugin_reader_is_synced_reported_and_bad_ones_are_one_line_each(site, tmp_path) -> None:
    home = tmp_path / "toy-home"
    home.mkdir()
    (home / "s1.jsonl").write_text(
        json.dumps({"id": "r1", "ms": 1795161600000, "model": "toy-model", "in": 1200, "out": 34}) + "\n"
        + json.dumps({"id": "r2", "ms": 1795161601000, "model": "toy-model", "in": 800, "out": 66}) + "\n"
        + "not json\n")
    env = {"TOY_PLUG_HOME": str(home)}
    sync = _tokentop(site, tmp_path, "sync", "-q", **env)
    assert sync.returncode == 0, sync.stderr
    assert "Traceback" not in sync.stderr
    rep = _tokentop(site, tmp_path, "report", "daily", "--json", "--no-sync", "--source", "toy-plug", **env)
    assert rep.returncode == 0, rep.stderr
    totals = json.loads(rep.stdout)["totals"]
    assert (totals["inputTokens"], totals["outputTokens"]) == (2000, 100)
    out = _tokentop(site, tmp_path, "sources", **env)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert any(line.startswith("toy-plug ") and " ok " in line for line in lines)
    assert "    from the plugin package toyplug 1.0" in lines
    problems = [line for line in lines if line.startswith("plugin ")]
    assert len(problems) == 3, problems
    assert any("'broken' (brokenplug 0.1): cannot be loaded: ImportError: needs libfoo" in p for p in problems)
    assert any("'codex' (toyplug 1.0): cannot replace the built-in source 'codex'" in p for p in problems)
    assert any("'toy-number' (toyplug 1.0): names a int, not a tokentop Source" in p for p in problems)
    for name in registry.BUILTIN:  # every built-in still listed, codex still the real one
        assert any(line.startswith(f"{name} ") for line in lines), name
    listed = json.loads(_tokentop(site, tmp_path, "sources", "--json", **env).stdout)
    [plugins] = [r for r in listed if r["name"] == "plugins"]  # scripts see the same problems
    assert plugins["status"] == "problems" and sorted(plugins["problems"]) == sorted(problems)
    assert not any("Not Codex" in line for line in lines)


def test_plugins_can_be_turned_off(site, tmp_path) -> None:
    got = _tokentop(site, tmp_path, "report", "daily", "--json", "--no-sync", "--source", "toy-plug",
                    TOKENTOP_NO_PLUGINS="1")
    assert got.returncode == 2 and "toy-plug" in got.stderr and "Traceback" not in got.stderr


def test_the_readme_worked_example_works(tmp_path) -> None:
    readme = (WORKTREE / "README.md").read_text(encoding="utf-8")
    code = readme.split("# toyplug.py\n", 1)[1].split("```", 1)[0]
    site = tmp_path / "site"
    site.mkdir()
    (site / "toyplug.py").write_text(code)
    _dist(site, "toyplug", "0.1", "toy-agent = toyplug:SOURCE\n")
    home = tmp_path / "toy"
    home.mkdir()
    (home / "a.jsonl").write_text(json.dumps({"id": "x1", "ms": 1795161600000, "model": "m", "in": 5, "out": 7})
                                  + "\n")
    env = {"TOY_HOME": str(home)}
    assert _tokentop(site, tmp_path, "sync", "-q", **env).returncode == 0
    rep = _tokentop(site, tmp_path, "report", "daily", "--json", "--no-sync", "--source", "toy-agent", **env)
    assert json.loads(rep.stdout)["totals"]["totalTokens"] == 12, rep.stderr
