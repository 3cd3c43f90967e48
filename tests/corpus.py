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
