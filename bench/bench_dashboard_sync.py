#!/usr/bin/env python3
"""The dashboard's first sync: a cold ingest run on a thread beside another one (the UI's), as
the dashboard runs it, with spawned worker processes against none (``TOKENTOP_INGEST_WORKERS=1``,
how the dashboard ingested before it could spawn them).

    python bench/bench_dashboard_sync.py --corpus DIR [--runs 5]    # DIR/claude, DIR/codex, truth.json
    python bench/bench_dashboard_sync.py --mb 200                    # generate a corpus first

Each run is a new process with an empty history; the two kinds alternate (A B A B). Printed:
each kind's median wall time with its spread, CPU time of the process and its workers, and
the ratio. The history each kind wrote is checked against the corpus's truth.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_ingest import check_truth  # noqa: E402

#: one dashboard-style sync: the UI's thread stands in as a thread that waits
RUN = """
import resource, sys, threading, time
def main():
    t = time.perf_counter()
    stop = threading.Event()
    threading.Thread(target=stop.wait, daemon=True).start()
    from tokentui.config import load_settings
    from tokentui.services.sync import open_store, sync_local
    sync_local(open_store(), load_settings())
    wall = time.perf_counter() - t
    stop.set()
    cpu = sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
              for f in ("ru_utime", "ru_stime"))
    print(wall, cpu)
if __name__ == "__main__":  # spawned workers import the main module: never run it again there
    main()
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, help="DIR with claude/, codex/ and truth.json (gen_agent_logs.py)")
    ap.add_argument("--mb", type=float, default=200, help="corpus size to generate when --corpus is not given")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="tokentop-dash-bench-") as tmp:
        work = Path(tmp)
        corpus = args.corpus
        if corpus is None:
            corpus = work / "corpus"
            subprocess.run([sys.executable, str(HERE / "gen_agent_logs.py"), str(corpus), "--mb", str(args.mb),
                            "--days", "120", "--seed", "7"], check=True)
        script = work / "dashboard_sync.py"
        script.write_text(RUN)
        base = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "TOKENTOP_INGEST_WORKERS")}
        base.update(HOME=str(work / "home"), CLAUDE_CONFIG_DIR=str(corpus / "claude"), CODEX_HOME=str(corpus / "codex"),
                    TOKENTOP_CONFIG=str(work / "config.toml"))
        kinds = {"spawned workers": {}, "no workers": {"TOKENTOP_INGEST_WORKERS": "1"}}
        runs: dict[str, list[tuple[float, float]]] = {k: [] for k in kinds}
        for n in range(-1, args.runs):  # the first round is a warm-up, not counted
            for kind, extra in kinds.items():
                data = work / f"{kind.replace(' ', '-')}-{n}"
                env = {**base, **extra, "TOKENTOP_DATA_DIR": str(data)}
                out = subprocess.run([sys.executable, str(script)], env=env, check=True, capture_output=True, text=True)
                wall, cpu = map(float, out.stdout.split())
                if n >= 0:
                    runs[kind].append((wall, cpu))
        size = sum(p.stat().st_size for p in corpus.rglob("*.jsonl"))
        print(f"corpus    {size / 1e6:.1f} MB; {args.runs} rounds A B; {os.cpu_count()} CPUs")
        for kind in kinds:
            walls = [w for w, _ in runs[kind]]
            data = work / f"{kind.replace(' ', '-')}-0"
            print(f"{kind:16s} wall {statistics.median(walls):.3f} s median ({min(walls):.3f}–{max(walls):.3f}), "
                  f"CPU {statistics.median(c for _, c in runs[kind]):.3f} s, totals {check_truth(corpus, data)}")
        a, b = (statistics.median(w for w, _ in runs[k]) for k in kinds)
        print(f"ratio     spawned / none = {a / b:.2f}x")


if __name__ == "__main__":
    main()
