#!/usr/bin/env python3
"""Ingest benchmark: cold ingest MB/s, warm sync with nothing new, warm sync after 1 MB appended.

    python bench/bench_ingest.py --mb 200          # generates a corpus with gen_agent_logs.py
    python bench/bench_ingest.py --corpus DIR      # reuse a corpus (DIR/claude, DIR/codex)
    python bench/bench_ingest.py --corpus DIR --all-agents   # plus one fixture set of every agent

Every figure is the wall time of `tokentop sync -q` run as a user runs it (a new process, so
interpreter start-up and imports count), with bytecode cached as after `pip install`; the
in-process time of the ingest alone is printed beside it. "Cold" is an empty history on a
machine where tokentop has run before; the very first run, which also asks the OS keyring
which API keys it holds (once), is printed too. The corpus is checked against its
truth.json after the cold ingest, so a fast wrong answer cannot pass. The warm figure is the
best of 20 runs after 3 untimed ones (the first runs after a cold ingest are 20-40 % slower on
a shared VM), with the median and 90th percentile beside it. Lines appended for the last
figure are removed again, so a reused corpus stays as it was.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WARM_UP, WARM_RUNS = 3, 20  # the warm-sync figure: untimed runs first, then the best (and median) of these


def tokentop_cmd() -> list[str]:
    script = Path(sys.executable).with_name("tokentop")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tokentui"]


def cli_sync(env: dict) -> float:
    """Wall seconds of `tokentop sync -q` in a new process."""
    t = time.perf_counter()
    subprocess.run([*tokentop_cmd(), "sync", "-q"], env=env, check=True)
    return time.perf_counter() - t


def inproc_sync(env: dict) -> float:
    """Seconds the ingest itself takes in a new process (without start-up and imports)."""
    code = ("import time\n"
            "from tokentui.config import load_settings\n"
            "from tokentui.services.sync import open_store, sync_local\n"
            "t1 = time.perf_counter()\n"
            "sync_local(open_store(), load_settings())\n"
            "print(time.perf_counter() - t1)\n")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def check_truth(corpus: Path, data_dir: Path) -> str:
    import sqlite3

    truth = json.loads((corpus / "truth.json").read_text())["totals"]
    conn = sqlite3.connect(data_dir / "history.db")
    got = dict(conn.execute("SELECT source, SUM(input + output + cache_write_5m + cache_write_1h + cache_read) "
                            "FROM ledger GROUP BY source"))
    want_claude = sum(truth.get(f"claude.{k}", 0) for k in ("input", "output", "cache_write", "cache_read"))
    want_codex = truth.get("codex.input", 0) + truth.get("codex.output", 0)
    ok = got.get("claude-code", 0) == want_claude and got.get("codex", 0) == want_codex  # none stored: 0
    return "exact" if ok else f"MISMATCH got {got} want claude {want_claude} codex {want_codex}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=200)
    ap.add_argument("--corpus", type=Path)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--runs", type=int, default=5, help="cold ingests to take the median of (default 5)")
    ap.add_argument("--all-agents", action="store_true",
                    help="also one fixture set of every other agent tokentop reads (tests/fixtures), found in "
                         "its default place or through its env var, as a user running them all would have")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tokentop-bench-"))
    agents_env: dict[str, str] = {}
    if args.all_agents:
        sys.path.insert(0, str(HERE.parent))
        from tests.corpus import every_agent

        (work / "home").mkdir()
        agents_env = dict(every_agent(work / "agents", work / "home"), HOME=str(work / "home"))
        print(f"all agents        every local source's fixtures under {work} (HOME moved there)")
    sizes: dict[Path, int] = {}  # files appended to, and their size before
    try:
        corpus = args.corpus
        if corpus is None:
            corpus = work / "corpus"
            subprocess.run([sys.executable, str(HERE / "gen_agent_logs.py"), str(corpus), "--mb", str(args.mb),
                            "--days", "120", "--seed", str(args.seed)], check=True)
        files = sorted(corpus.rglob("*.jsonl"))
        size = sum(p.stat().st_size for p in files)
        base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        subprocess.run([*tokentop_cmd(), "--version"], env=base, check=True, capture_output=True)  # cache bytecode

        def env_for(name: str) -> dict:
            # Claude Code and Codex are the corpus (checked against its truth.json); with
            # --all-agents every other agent reads its fixture set
            return {**base, **agents_env, "TOKENTOP_DATA_DIR": str(work / name),
                    "TOKENTOP_CONFIG": str(work / "config.toml"), "CLAUDE_CONFIG_DIR": str(corpus / "claude"),
                    "CODEX_HOME": str(corpus / "codex")}

        walls, inprocs = [], []
        for run in range(args.runs):
            env = env_for(f"data{run}")
            # tokentop has run here before (it knows the keyring has no key): the history is empty
            subprocess.run([*tokentop_cmd(), "keys", "list"], env=env, check=True, capture_output=True)
            walls.append(cli_sync(env))
            inprocs.append(inproc_sync(env_for(f"data-inproc{run}")))
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        first = cli_sync(env_for("data-first"))  # the very first run also asks the OS keyring for keys
        wall, inproc = statistics.median(walls), statistics.median(inprocs)
        print(f"corpus            {size / 1e6:8.1f} MB in {len(files)} files")
        print(f"cold ingest       {wall:8.2f} s  = {size / 1e6 / wall:6.1f} MB/s  median of {args.runs} "
              f"({size / 1e6 / max(walls):.0f}–{size / 1e6 / min(walls):.0f} MB/s); in-process {inproc:.2f} s = "
              f"{size / 1e6 / inproc:.1f} MB/s; peak RSS {rss:.0f} MB")
        print(f"  first run ever  {first:8.2f} s  = {size / 1e6 / first:6.1f} MB/s  (also finds out which keys "
              f"the OS keyring holds)")
        env = env_for("data0")
        print(f"correctness       {check_truth(corpus, work / 'data0')} vs truth.json")
        db_mb = (work / "data0" / "history.db").stat().st_size / 1e6
        print(f"history.db        {db_mb:8.1f} MB")
        for _ in range(WARM_UP):  # as hyperfine does: the first runs after the cold ones are slower
            cli_sync(env)
        walls = sorted(cli_sync(env) for _ in range(WARM_RUNS))
        print(f"warm sync, none   {walls[0] * 1000:8.0f} ms wall, best of {WARM_RUNS} after {WARM_UP} warm-up runs "
              f"(median {statistics.median(walls) * 1000:.0f}, p90 {walls[WARM_RUNS * 9 // 10] * 1000:.0f}; "
              f"in-process {inproc_sync(env) * 1000:.0f} ms)")
        # append ~1 MB of new lines, copied from existing sessions, to a handful of files
        rng = random.Random(1)
        appended = 0
        while appended < 1_000_000:
            src, dst = rng.choice(files), rng.choice(files)
            lines = src.read_bytes().splitlines(keepends=True)[:40]
            chunk = b"".join(lines)
            sizes.setdefault(dst, dst.stat().st_size)
            with open(dst, "ab") as fh:
                fh.write(chunk)
            appended += len(chunk)
        wall = cli_sync(env)
        print(f"warm sync, +{appended / 1e6:.1f}MB {wall * 1000:8.0f} ms wall")
    finally:
        for path, n in sizes.items():
            os.truncate(path, n)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
