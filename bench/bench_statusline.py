#!/usr/bin/env python3
"""Start-to-exit time of ``tokentop statusline`` (what Claude Code pays on every refresh),
next to ``python -c pass`` on the same machine.

    python bench/bench_statusline.py              # 50 runs of each, median and p95
    python bench/bench_statusline.py --runs 200   # the spec's 200

Each run is a whole process fed the fixture stdin of a Max session (both windows), with the
data dir and Claude's config in a temporary directory: the first run appends to the spool and
writes the state, the later ones find the same values (the heartbeat path, as in a session).
Also times the console script (``tokentop statusline``) when it is on PATH.

Bytecode: an installed tokentop has its ``.pyc`` files (pip compiles them), so the runs use a
bytecode cache in the temporary directory (``PYTHONPYCACHEPREFIX``) even when
``PYTHONDONTWRITEBYTECODE`` is set; ``--no-bytecode`` times the recompile-every-time case too.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests/fixtures/quotas/claude-statusline/01-v2.1.238-max-session-a.json"
CONFIG = REPO / "tests/fixtures/quotas/claude-config"


def timed(cmd: list[str], stdin: bytes, env: dict, runs: int, output: bool = True) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        got = subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        out.append((time.perf_counter() - start) * 1000)
        if got.returncode != 0 or (output and not got.stdout.strip()):
            raise SystemExit(f"{cmd}: exit {got.returncode}, output {got.stdout!r} {got.stderr!r}")
    return out


def show(name: str, ms: list[float]) -> None:
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    print(f"{name:<36} median {statistics.median(ms):6.1f} ms   p95 {p95:6.1f} ms   ({len(ms)} runs)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--no-bytecode", action="store_true", help="also time it without a bytecode cache")
    args = ap.parse_args()
    runs = max(30, args.runs)
    stdin = FIXTURE.read_bytes()
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, TOKENTOP_DATA_DIR=str(Path(tmp) / "data"), CLAUDE_CONFIG_DIR=str(CONFIG),
                   PYTHONPATH=str(REPO), NO_COLOR="1", PYTHONPYCACHEPREFIX=str(Path(tmp) / "pyc"))
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        py = sys.executable
        timed([py, "-m", "tokentui", "statusline"], stdin, env, 1)  # writes the bytecode cache
        show("python -c pass", timed([py, "-c", "pass"], b"", env, runs, output=False))
        show("python -m tokentui statusline", timed([py, "-m", "tokentui", "statusline"], stdin, env, runs))
        script = shutil.which("tokentop", path=str(Path(py).parent)) or shutil.which("tokentop")
        if script:
            show("tokentop statusline (console script)", timed([script, "statusline"], stdin, env, runs))
        if args.no_bytecode:
            cold = dict(env, PYTHONDONTWRITEBYTECODE="1", PYTHONPYCACHEPREFIX=str(Path(tmp) / "none"))
            show("... without a bytecode cache", timed([py, "-m", "tokentui", "statusline"], stdin, cold, runs))


if __name__ == "__main__":
    main()
