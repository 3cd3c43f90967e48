"""bench/bench_dashboard_sync.py runs end to end on a small corpus and checks both histories."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.corpus import make_corpus

REPO = Path(__file__).resolve().parents[2]


def test_the_dashboard_sync_bench_prints_both_kinds_exact(tmp_path) -> None:
    corpus = make_corpus(tmp_path / "corpus", mb=1, seed=3, days=3)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, str(REPO / "bench" / "bench_dashboard_sync.py"), "--corpus", str(corpus),
                          "--runs", "1"], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["corpus", "spawned", "no", "ratio"]
    assert all(line.endswith("totals exact") for line in lines[1:3]), out.stdout
