"""Crash safety of local ingest: SIGKILL `tokentop sync` at random points, many times in a
row, while the logs grow; every intermediate store is consistent and never over-counts, and
after a final clean sync the totals equal the generator's truth exactly."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from tests.hardening.helpers import (cursor_invariant, env_for, kill_after, read_conn, spawn_sync, stored, tokentop,
                                     truth, within)


def _append(files: dict[Path, bytes], pos: dict[Path, int], src: Path, live: Path, share: float,
            rng: random.Random) -> None:
    """Bring every file to about ``share`` of its length, cut at a random byte (mid-line too)."""
    for p, data in files.items():
        goal = min(len(data), int(len(data) * min(1.0, share * rng.uniform(0.8, 1.2))))
        if goal <= pos[p]:
            continue
        target = live / p.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "ab") as fh:
            fh.write(data[pos[p]:goal])
        pos[p] = goal


def kill_loop(src: Path, live: Path, kills: int, seed: int) -> dict:
    rng = random.Random(seed)
    want = truth(src)
    files = {p: p.read_bytes() for p in sorted(src.rglob("*.jsonl"))}
    pos = dict.fromkeys(files, 0)
    (live / "claude" / "projects").mkdir(parents=True)
    (live / "codex" / "sessions").mkdir(parents=True)
    env = env_for(CLAUDE_CONFIG_DIR=str(live / "claude"), CODEX_HOME=str(live / "codex"))
    stats = {"runs": 0, "killed": 0, "killed_while_ingesting": 0, "checks": 0, "rows_after_kill": []}
    started = time.monotonic()
    for i in range(kills):
        _append(files, pos, src, live, 0.4 + 0.6 * i / kills, rng)
        early = i % 5 == 0  # every fifth kill may land in start-up, opening or migrating the store
        proc = spawn_sync(rng.choice([8 << 10, 64 << 10, 1 << 20]), env)
        if early:
            alive = kill_after(proc, rng.uniform(0, 0.6), wait_ingest=False)
        else:  # at a random commit batch, within a few ms: parsing, mid-transaction or committing
            alive = kill_after(proc, rng.uniform(0, 0.004), batches=rng.randint(0, 3))
        stats["runs"] += 1
        stats["killed"] += alive
        stats["killed_while_ingesting"] += alive and not early
        if not (i == 0 and early and not read_db_exists()):
            conn = read_conn()
            try:
                assert within(stored(conn), want) == [], f"double count after kill {i}"
                assert cursor_invariant(conn) == [], f"records and cursors disagree after kill {i}"
                assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
                stats["rows_after_kill"].append(conn.execute("SELECT COUNT(*) FROM ledger").fetchone()[0])
            finally:
                conn.close()
            stats["checks"] += 1
    _append(files, pos, src, live, 2.0, rng)
    assert all(pos[p] == len(d) for p, d in files.items())
    done = tokentop("sync", "-q", env=env)
    assert done.returncode == 0, done.stderr
    again = tokentop("sync", env=env)
    assert again.returncode == 0, again.stderr
    conn = read_conn()
    try:
        assert stored(conn) == want
        assert cursor_invariant(conn) == []
    finally:
        conn.close()
    rows = [line.split() for line in again.stdout.splitlines()[1:] if line[:1].isalpha()]
    assert rows and all(row[-2] == "0" for row in rows), again.stdout  # no source found a new record
    rows = stats.pop("rows_after_kill")
    stats["kills_after_which_the_store_had_grown"] = sum(b > a for a, b in zip([0] + rows, rows))
    stats["records_at_end"] = sum(v[4] for v in want.values())
    stats["seconds"] = round(time.monotonic() - started, 1)
    return stats


def read_db_exists() -> bool:
    from tests.hardening.helpers import db_path

    return db_path().exists()


def test_sigkill_during_ingest_never_loses_or_double_counts(corpus, tmp_path) -> None:
    stats = kill_loop(corpus(3.0, 21), tmp_path / "live", kills=15, seed=1)
    assert stats["killed_while_ingesting"] >= 5, stats  # the kills did land inside ingest
    print("crash-ingest", stats)


@pytest.mark.soak
def test_soak_sigkill_during_ingest(corpus, tmp_path) -> None:
    stats = kill_loop(corpus(12.0, 22), tmp_path / "live", kills=300, seed=2)
    print("soak crash-ingest", stats)
    assert stats["killed_while_ingesting"] >= 100, stats
