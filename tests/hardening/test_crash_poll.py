"""Crash safety of API polling: SIGKILL `tokentop sync` while it polls the local provider
server (slow replies spread the kills over fetching and writing); after a clean sync the
ledger holds exactly what one uninterrupted sync stores: the served totals."""

from __future__ import annotations

import json
import random
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.api import fakes
from tests.api.server import ProviderServer
from tests.api.test_openai import expected_tokens
from tests.hardening.helpers import REPO, env_for, tokentop

KEYS = {"OPENAI_ADMIN_KEY": fakes.OPENAI_KEY, "ANTHROPIC_ADMIN_KEY": fakes.ANTHROPIC_KEY,
        "OPENROUTER_API_KEY": fakes.OPENROUTER_KEY, "DEEPSEEK_API_KEY": fakes.DEEPSEEK_KEY,
        "MOONSHOT_API_KEY": fakes.MOONSHOT_KEY}
ROWS = ("SELECT source, key, input, output, cache_write_5m, cache_write_1h, cache_read, reasoning, requests, "
        "cost_pico, cost_label FROM ledger ORDER BY source, key")


class SlowServer(ProviderServer):
    """Answers after a short random pause, so a poll takes long enough to be killed anywhere."""

    def __init__(self, seed: int, most: float) -> None:
        super().__init__()
        self.rng, self.most = random.Random(seed), most

    def _dispatch(self, req):
        reply = super()._dispatch(req)
        if self.most:
            time.sleep(self.rng.uniform(0, self.most))
        return reply


@pytest.fixture
def slow_server():
    srv = fakes.install(SlowServer(7, 0.004)).start()
    srv._httpd.handle_error = lambda *a: None  # a killed client resets its connection: expected
    yield srv
    srv.stop()


def _env(srv, data_dir) -> dict:
    urls = {f"TOKENTOP_{n.upper()}_BASE_URL": u for n, u in fakes.base_urls(srv).items()}
    return env_for(**KEYS, **urls, TOKENTOP_DATA_DIR=str(data_dir))


def read_conn(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    conn.execute("PRAGMA busy_timeout = 30000")
    return conn


def _rows(data_dir) -> list:
    conn = sqlite3.connect(Path(data_dir) / "history.db")
    try:
        return conn.execute(ROWS).fetchall()
    finally:
        conn.close()


def poll_kill_loop(srv, tmp_path, kills: int, seed: int, fresh_every: int = 4) -> dict:
    """Kill `tokentop sync` ``kills`` times; every ``fresh_every`` kills the store is checked
    (a clean sync must give exactly the reference) and replaced by a new one, so kills keep
    landing in first polls (backfill) as well as in later ones."""
    ref_dir = tmp_path / "reference"
    t0 = time.monotonic()
    ref = tokentop("sync", "-q", env=_env(srv, ref_dir))
    full = time.monotonic() - t0
    assert ref.returncode == 0, ref.stderr
    want = _rows(ref_dir)
    assert sum(sum(r[2:7]) for r in want if r[0] == "openai") == expected_tokens()
    rng = random.Random(seed)
    stats = {"runs": 0, "killed": 0, "full_sync_s": round(full, 2), "left_partial": 0, "left_complete": 0,
             "stores_checked_exact": 0}
    store = None
    for i in range(kills):
        if i % fresh_every == 0:
            if store is not None:
                _finish(srv, store, want)
                stats["stores_checked_exact"] += 1
            store = tmp_path / f"store{i}"
        proc = subprocess.Popen([sys.executable, "-m", "tokentui", "sync", "-q"], env=_env(srv, store),
                                cwd=str(REPO), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.1, full * 1.1))
        alive = proc.poll() is None
        if alive:
            proc.kill()
        proc.wait(30)
        stats["runs"] += 1
        stats["killed"] += alive
        if not (store / "history.db").exists():
            continue
        conn = read_conn(store / "history.db")
        try:
            got = conn.execute(ROWS).fetchall()
            assert set(got) <= set(want), f"rows no clean sync writes, after kill {i}"
            assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
            stats["left_partial" if set(got) != set(want) else "left_complete"] += 1
        finally:
            conn.close()
    _finish(srv, store, want)
    stats["stores_checked_exact"] += 1
    return stats


def _finish(srv, store: Path, want: list) -> None:
    env = _env(srv, store)
    done = tokentop("sync", "-q", env=env)
    assert done.returncode == 0, done.stderr
    assert _rows(store) == want
    rep = tokentop("report", "daily", "--json", "--no-sync", "--source", "openai", "--timezone", "UTC", env=env)
    assert json.loads(rep.stdout)["totals"]["totalTokens"] == expected_tokens()


def test_sigkill_during_poll_then_clean_sync_gives_served_totals(slow_server, tmp_path) -> None:
    stats = poll_kill_loop(slow_server, tmp_path, kills=10, seed=3)
    print("crash-poll", stats)
    assert stats["killed"] >= 4, stats


@pytest.mark.soak
def test_soak_sigkill_during_poll(slow_server, tmp_path) -> None:
    stats = poll_kill_loop(slow_server, tmp_path, kills=120, seed=4)
    print("soak crash-poll", stats)
    assert stats["killed"] >= 60, stats
