"""Crash safety of API polling: SIGKILL `tokentop sync` while it polls the local provider
server (slow replies spread the kills over fetching and writing); after a clean sync the
ledger holds exactly what one uninterrupted sync stores: the served totals."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.api import fakes
from tests.api.server import ProviderServer
from tests.api.test_openai import expected_tokens
from tests.hardening.helpers import REPO, env_for, read_conn, tokentop

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


def _rows(data_dir) -> list:
    import sqlite3

    conn = sqlite3.connect(Path(data_dir) / "history.db")
    try:
        return conn.execute(ROWS).fetchall()
    finally:
        conn.close()


def poll_kill_loop(srv, tmp_path, kills: int, seed: int) -> dict:
    ref_dir = tmp_path / "reference"
    t0 = time.monotonic()
    ref = tokentop("sync", "-q", env=_env(srv, ref_dir))
    full = time.monotonic() - t0
    assert ref.returncode == 0, ref.stderr
    want = _rows(ref_dir)
    assert sum(sum(r[2:7]) for r in want if r[0] == "openai") == expected_tokens()
    env = _env(srv, os.environ["TOKENTOP_DATA_DIR"])
    rng = random.Random(seed)
    stats = {"runs": 0, "killed": 0, "full_sync_s": round(full, 2), "left_partial": 0, "left_complete": 0}
    for i in range(kills):
        proc = subprocess.Popen([sys.executable, "-m", "tokentui", "sync", "-q"], env=env, cwd=str(REPO),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.1, full * 1.1))
        alive = proc.poll() is None
        if alive:
            proc.kill()
        proc.wait(30)
        stats["runs"] += 1
        stats["killed"] += alive
        conn = read_conn()
        try:
            got = conn.execute(ROWS).fetchall()
            assert set(got) <= set(want), f"rows no clean sync writes, after kill {i}"
            assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
            stats["left_partial" if set(got) != set(want) else "left_complete"] += 1
        finally:
            conn.close()
    done = tokentop("sync", "-q", env=env)
    assert done.returncode == 0, done.stderr
    assert _rows(os.environ["TOKENTOP_DATA_DIR"]) == want
    rep = tokentop("report", "daily", "--json", "--no-sync", "--source", "openai", "--timezone", "UTC", env=env)
    import json

    assert json.loads(rep.stdout)["totals"]["totalTokens"] == expected_tokens()
    return stats


def test_sigkill_during_poll_then_clean_sync_gives_served_totals(slow_server, tmp_path) -> None:
    stats = poll_kill_loop(slow_server, tmp_path, kills=8, seed=3)
    print("crash-poll", stats)
    assert stats["killed"] >= 4, stats


@pytest.mark.soak
def test_soak_sigkill_during_poll(slow_server, tmp_path) -> None:
    stats = poll_kill_loop(slow_server, tmp_path, kills=120, seed=4)
    print("soak crash-poll", stats)
    assert stats["killed"] >= 60, stats
