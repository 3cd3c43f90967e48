#!/usr/bin/env python3
"""Ingest benchmark: cold ingest MB/s, warm sync with nothing new, warm sync after 1 MB appended.

    python bench/bench_ingest.py --mb 200          # generates a corpus with gen_agent_logs.py
    python bench/bench_ingest.py --corpus DIR      # reuse a corpus (DIR/claude, DIR/codex)

Each measurement runs `tokentop sync` in a fresh process (as a user would), so interpreter
start-up is included; the in-process figure (without start-up) is printed too. The corpus is
checked against its truth.json after the cold ingest, so a fast wrong answer cannot pass.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run_sync(env: dict) -> tuple[float, float]:
    """Wall seconds of `tokentop sync` in a new process, and its in-process ingest seconds."""
    code = ("import time, sys\n"
            "t0 = time.perf_counter()\n"
            "from tokentui.config import load_settings\n"
            "from tokentui.services.sync import open_store, sync_local\n"
            "t1 = time.perf_counter()\n"
            "sync_local(open_store(), load_settings())\n"
            "print(time.perf_counter() - t1)\n")
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return time.perf_counter() - t, float(out.stdout.strip())


def check_truth(corpus: Path, data_dir: Path) -> str:
    import sqlite3

    truth = json.loads((corpus / "truth.json").read_text())["totals"]
    conn = sqlite3.connect(data_dir / "history.db")
    got = dict(conn.execute("SELECT source, SUM(input + output + cache_write_5m + cache_write_1h + cache_read) "
                            "FROM ledger GROUP BY source"))
    want_claude = sum(truth.get(f"claude.{k}", 0) for k in ("input", "output", "cache_write", "cache_read"))
    want_codex = truth.get("codex.input", 0) + truth.get("codex.output", 0)
    ok = got.get("claude-code") == want_claude and got.get("codex") == want_codex
    return "exact" if ok else f"MISMATCH got {got} want claude {want_claude} codex {want_codex}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=200)
    ap.add_argument("--corpus", type=Path)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tokentop-bench-"))
    try:
        corpus = args.corpus
        if corpus is None:
            corpus = work / "corpus"
            subprocess.run([sys.executable, str(HERE / "gen_agent_logs.py"), str(corpus), "--mb", str(args.mb),
                            "--days", "120", "--seed", str(args.seed)], check=True)
        size = sum(p.stat().st_size for p in corpus.rglob("*.jsonl"))
        data = work / "data"
        env = dict(os.environ, TOKENTOP_DATA_DIR=str(data), TOKENTOP_CONFIG=str(work / "config.toml"),
                   CLAUDE_CONFIG_DIR=str(corpus / "claude"), CODEX_HOME=str(corpus / "codex"))
        wall, inproc = run_sync(env)
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"corpus            {size / 1e6:8.1f} MB in {sum(1 for _ in corpus.rglob('*.jsonl'))} files")
        print(f"cold ingest       {wall:8.2f} s  = {size / 1e6 / wall:6.1f} MB/s  (in-process {inproc:.2f} s = "
              f"{size / 1e6 / inproc:.1f} MB/s, peak RSS {rss:.0f} MB)")
        print(f"correctness       {check_truth(corpus, data)} vs truth.json")
        db_mb = (data / "history.db").stat().st_size / 1e6
        print(f"history.db        {db_mb:8.1f} MB")
        walls = [run_sync(env) for _ in range(3)]
        print(f"warm sync, none   {min(w for w, _ in walls) * 1000:8.0f} ms wall  "
              f"(in-process {min(i for _, i in walls) * 1000:.0f} ms)")
        # append ~1 MB of new lines, copied from existing sessions, to a handful of files
        rng = random.Random(1)
        files = sorted(corpus.rglob("*.jsonl"))
        appended = 0
        while appended < 1_000_000:
            src, dst = rng.choice(files), rng.choice(files)
            lines = src.read_bytes().splitlines(keepends=True)[:40]
            chunk = b"".join(lines)
            with open(dst, "ab") as fh:
                fh.write(chunk)
            appended += len(chunk)
        wall, inproc = run_sync(env)
        print(f"warm sync, +{appended / 1e6:.1f}MB {wall * 1000:8.0f} ms wall  (in-process {inproc * 1000:.0f} ms)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
