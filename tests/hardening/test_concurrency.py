"""Two `tokentop sync` processes and a reader (the TUI's report queries) on one store at once,
round after round while the logs grow and the provider server answers slowly: exact totals,
no "database is locked" failures, and no reader ever sees half a sync."""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from zoneinfo import ZoneInfo

import pytest

from tests.api import fakes
from tests.hardening.helpers import (
    cursor_invariant,
    db_path,
    env_for,
    spawn_sync,
    stored,
    tokentop,
    truth,
    within,
)
from tests.hardening.test_crash_ingest import _append
from tests.hardening.test_crash_poll import KEYS, ROWS, SlowServer
from tokentui.services import report
from tokentui.sources import registry
from tokentui.store.db import connect


class Reader(threading.Thread):
    """Reads like the dashboard: each pass is one read transaction holding every invariant."""

    def __init__(self, want: dict) -> None:
        super().__init__(daemon=True)
        self.want, self.stop, self.passes, self.errors, self.last_total = want, threading.Event(), 0, [], 0

    def run(self) -> None:
        conn = connect(db_path())  # as the TUI does: it may be the one creating the store
        try:
            while not self.stop.is_set():
                try:
                    self.one(conn)
                except Exception as exc:  # noqa: BLE001 - every failure is a finding
                    self.errors.append(repr(exc))
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
        finally:
            conn.close()

    def one(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN")  # one snapshot for every check of this pass
        try:
            bad = cursor_invariant(conn)
            if bad:
                self.errors.append(f"half a sync visible: {bad}")
            over = within(stored(conn), self.want)
            if over:
                self.errors.append(f"more than the truth: {over[:2]}")
            data = report.build(conn, report.ReportRequest("daily", tz=ZoneInfo("UTC"), sources=("claude-code",
                                                                                                   "codex")))
            total = data["totals"]["totalTokens"]
            if total < self.last_total:
                self.errors.append(f"totals went back from {self.last_total} to {total}")
            self.last_total = total
            report.build(conn, report.ReportRequest("session", tz=ZoneInfo("UTC")))
        finally:
            conn.execute("COMMIT")
        self.passes += 1


@pytest.fixture
def server():
    srv = fakes.install(SlowServer(11, 0.003)).start()
    srv._httpd.handle_error = lambda *a: None
    yield srv
    srv.stop()


def concurrent_rounds(src, live, srv, rounds: int, seed: int) -> dict:
    rng = random.Random(seed)
    want = truth(src)
    files = {p: p.read_bytes() for p in sorted(src.rglob("*.jsonl"))}
    pos = dict.fromkeys(files, 0)
    (live / "claude" / "projects").mkdir(parents=True)
    (live / "codex" / "sessions").mkdir(parents=True)
    urls = {f"TOKENTOP_{n.upper()}_BASE_URL": u for n, u in fakes.base_urls(srv).items()}
    env = env_for(CLAUDE_CONFIG_DIR=str(live / "claude"), CODEX_HOME=str(live / "codex"), **KEYS, **urls)
    reader = Reader(want)
    reader.start()
    stats = {"rounds": rounds, "sync_processes": 0}
    try:
        for i in range(rounds):
            _append(files, pos, src, live, (i + 1) / rounds, rng)
            procs = [spawn_sync(rng.choice([8 << 10, 256 << 10, 32 << 20]), env) for _ in range(2)]
            for p in procs:
                out, err = p.communicate(timeout=300)
                assert p.returncode == 0, err.decode()
                assert b"locked" not in err, err.decode()
            stats["sync_processes"] += 2
    finally:
        reader.stop.set()
        reader.join(60)
    assert reader.errors == [], reader.errors[:5]
    assert reader.passes > rounds, reader.passes
    _append(files, pos, src, live, 2.0, rng)
    assert tokentop("sync", "-q", env=env).returncode == 0
    conn = sqlite3.connect(db_path())
    try:
        assert stored(conn) == want
        assert cursor_invariant(conn) == []
        api = conn.execute(ROWS.replace("ORDER BY", "WHERE kind = 'api' ORDER BY")).fetchall()
    finally:
        conn.close()
    ref = tokentop("sync", "-q", *(f"--source={name}" for name in registry.names(registry.API)), env={**env, "TOKENTOP_DATA_DIR": str(live / "ref"),
                                      "CLAUDE_CONFIG_DIR": str(live / "none"), "CODEX_HOME": str(live / "none")})
    assert ref.returncode == 0, ref.stderr
    ref_conn = sqlite3.connect(live / "ref" / "history.db")
    assert api == ref_conn.execute(ROWS).fetchall()  # the API rows of one clean poll, exactly
    ref_conn.close()
    stats["reader_passes"] = reader.passes
    return stats


def test_two_syncs_and_a_reader_at_once(corpus, tmp_path, server) -> None:
    stats = concurrent_rounds(corpus(2.0, 31), tmp_path / "live", server, rounds=4, seed=5)
    print("concurrency", stats)


@pytest.mark.soak
def test_soak_two_syncs_and_a_reader(corpus, tmp_path, server) -> None:
    stats = concurrent_rounds(corpus(10.0, 32), tmp_path / "live", server, rounds=60, seed=6)
    print("soak concurrency", stats)


# --- a locked store waits, then fails in plain words ------------------------------------

def _hold_write_lock(seconds: float, ready: threading.Event) -> None:
    conn = sqlite3.connect(db_path(), isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    ready.set()
    time.sleep(seconds)
    conn.execute("COMMIT")
    conn.close()


def test_a_locked_store_is_waited_for(corpus, monkeypatch) -> None:
    src = corpus(0.5, 33)
    env = env_for(CLAUDE_CONFIG_DIR=str(src / "claude"), CODEX_HOME=str(src / "codex"))
    assert tokentop("sync", "-q", "--source", "codex", env=env).returncode == 0
    ready = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(2.0, ready))
    holder.start()
    ready.wait(10)
    t0 = time.monotonic()
    proc = tokentop("sync", "-q", env=env)
    waited = time.monotonic() - t0
    holder.join()
    assert proc.returncode == 0, proc.stderr
    assert waited >= 1.5  # it waited for the lock instead of failing
    conn = sqlite3.connect(db_path())
    assert stored(conn) == truth(src)
    conn.close()


def test_a_store_locked_for_too_long_is_one_clear_error(monkeypatch, capsys) -> None:
    from tokentui.cli import main
    from tokentui.store import db

    assert main(["sync", "-q"]) == 0  # creates the store
    monkeypatch.setattr(db, "LOCK_TIMEOUT", 0.3)
    ready = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(1.5, ready))
    holder.start()
    ready.wait(10)
    code = main(["sync", "-q"])
    holder.join()
    err = capsys.readouterr().err
    assert code != 0
    assert err.startswith("tokentop: error:") and "busy" in err and "Traceback" not in err, err
    assert len(err.strip().splitlines()) <= 2
    assert os.path.exists(db_path())
