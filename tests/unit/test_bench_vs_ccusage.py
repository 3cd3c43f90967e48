"""bench/bench_vs_ccusage.py: finding the pinned ccusage native binary, and checking its totals."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location("bench_vs_ccusage", BENCH / "bench_vs_ccusage.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod
    finally:
        sys.path.remove(str(BENCH))


def _fake_install(prefix: Path, pkg: str, version: str) -> Path:
    root = prefix / "node_modules" / pkg
    (root / "bin").mkdir(parents=True)
    (root / "package.json").write_text(json.dumps({"name": pkg, "version": version}))
    exe = root / "bin" / "ccusage"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o644)  # as npm leaves it: ccusage's launcher sets the mode on first run
    return exe


@pytest.mark.skipif(sys.platform == "win32", reason="exec bits")
def test_native_binary_pinned_and_made_executable(bench, tmp_path):
    pkg = bench.native_package()
    if pkg is None:
        pytest.skip("no ccusage native package for this machine")
    exe = _fake_install(tmp_path / "old", pkg, "20.0.23")
    assert bench.native_in(tmp_path / "old") is None  # another version is never measured
    exe = _fake_install(tmp_path / "ok", pkg, bench.CCUSAGE_VERSION)
    assert bench.native_in(tmp_path / "ok") == exe
    assert os.access(exe, os.X_OK)
    found, how = bench.find_ccusage(tmp_path / "ok", tmp_path / "cache", install=False)
    assert found == exe and how == "given"
    found, how = bench.find_ccusage(None, tmp_path / "ok", install=False)
    assert found == exe and "cache" in how


def test_without_ccusage_and_no_install_reports_why(bench, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no ccusage, no npm
    found, how = bench.find_ccusage(None, tmp_path / "cache", install=True)
    assert found is None and "npm not found" in how


def test_ccusage_totals_checked_against_truth(bench, tmp_path):
    truth = {"totals": {"claude.input": 10, "claude.output": 5, "claude.cache_write": 7, "claude.cache_read": 100,
                        "codex.input": 50, "codex.cached_input": 20, "codex.output": 9}}
    (tmp_path / "truth.json").write_text(json.dumps(truth))
    out = tmp_path / "out.json"
    out.write_text(json.dumps({"totals": {"inputTokens": 40, "outputTokens": 14, "cacheCreationTokens": 7,
                                          "cacheReadTokens": 120}}))
    assert bench.ccusage_check(tmp_path, out) == "exact"
    out.write_text(json.dumps({"totals": {"inputTokens": 60, "outputTokens": 14, "cacheCreationTokens": 7,
                                          "cacheReadTokens": 100}}))
    assert bench.ccusage_check(tmp_path, out).startswith("MISMATCH")


#: a stand-in for ccusage's native binary: `daily --json --offline` prints the corpus's true totals
FAKE_CCUSAGE = """#!{python}
import json, os, sys
from pathlib import Path
assert sys.argv[1:] == ["daily", "--json", "--offline"], sys.argv
truth = json.loads((Path(os.environ["CLAUDE_CONFIG_DIR"]).parent / "truth.json").read_text())["totals"]
t = lambda k: truth.get(k, 0)
print(json.dumps({{"daily": [], "totals": {{
    "inputTokens": t("claude.input") + t("codex.input") - t("codex.cached_input"),
    "outputTokens": t("claude.output") + t("codex.output"),
    "cacheCreationTokens": t("claude.cache_write"),
    "cacheReadTokens": t("claude.cache_read") + t("codex.cached_input")}}}}))
"""


def _bench_run(tmp_path, seed: int, *args: str) -> list[str]:
    """The bench's output lines on a small corpus, with a stand-in for ccusage."""
    import subprocess

    from tests.corpus import make_corpus

    corpus = make_corpus(tmp_path / "corpus", mb=1, seed=seed, days=3)
    fake = tmp_path / "ccusage"
    fake.write_text(FAKE_CCUSAGE.format(python=sys.executable))
    fake.chmod(0o755)
    env = {**os.environ, "PYTHONPATH": str(BENCH.parent)}
    out = subprocess.run([sys.executable, str(BENCH / "bench_vs_ccusage.py"), "--corpus", str(corpus),
                          "--ccusage", str(fake), *args], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


def test_a_run_prints_both_tools_and_the_wall_and_cpu_ratios(tmp_path):
    """End to end: both tools' figures with their totals checked, then the ratio of wall times
    and of CPU times (the steadier of the two)."""
    lines = _bench_run(tmp_path, 4, "--runs", "2")
    assert [line.split()[0] for line in lines] == ["corpus", "tokentop", "ccusage", "ratio", "ratio"]
    assert lines[1].endswith("totals exact") and lines[2].endswith("totals exact"), lines
    assert "wall =" in lines[3] and "CPU  =" in lines[4]
    assert float(lines[4].split("=")[1].split("x")[0]) > 0


def test_parts_adds_the_sync_without_its_store_and_its_ratio(tmp_path):
    """``--parts``: a third command per round (the cold sync without ledger writes and
    pricing; see the next test for what it stores) and its ratio to ccusage."""
    lines = _bench_run(tmp_path, 5, "--runs", "1", "--parts")
    assert [line.split()[0] for line in lines] == ["corpus", "tokentop", "parsing", "ccusage", "ratio", "ratio", "ratio"]
    assert lines[1].endswith("totals exact")
    assert "parsing alone (C) / ccusage wall =" in lines[6] and float(lines[6].split("=")[1].split("x")[0]) > 0


def test_the_sync_without_its_store_parses_but_stores_no_usage(tmp_path, bench):
    """What ``--parts`` times as C reads every file (cursors written) and stores no ledger row."""
    import sqlite3
    import subprocess

    from tests.corpus import make_corpus

    corpus = make_corpus(tmp_path / "corpus", mb=0.3, seed=6, days=2)
    home, data = tmp_path / "bench-home", tmp_path / "bench-data"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "CLAUDE_CONFIG_DIR": str(corpus / "claude"),
           "CODEX_HOME": str(corpus / "codex"), "TOKENTOP_DATA_DIR": str(data),
           "TOKENTOP_CONFIG": str(tmp_path / "config.toml"), "PYTHONPATH": str(BENCH.parent)}
    subprocess.run([sys.executable, "-c", bench.WITHOUT_STORE], env=env, check=True, timeout=120)
    conn = sqlite3.connect(data / "history.db")
    assert conn.execute("SELECT count(*) FROM ledger").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM files").fetchone()[0] == len(list(corpus.rglob("*.jsonl")))
