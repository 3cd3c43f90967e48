"""Parsing in worker processes: the same ledger, cursors and counts as a serial ingest, and a
worker that dies mid-ingest costs nothing but time."""

from __future__ import annotations

import gc
import os
import sys

import pytest

from tests.corpus import make_corpus, stored, truth
from tokentui.core.pricing import Pricer
from tokentui.services import logfiles, parse_pool
from tokentui.services.ingest import Ingestor
from tokentui.store.db import connect

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="worker processes are forked on Linux only")

LEDGER = ("SELECT source, key, kind, device, ts_ms, model, model_fallback, input, output, cache_write_5m, "
          "cache_write_1h, cache_read, reasoning, project, session, cost_pico, cost_label, logged_cost_pico, "
          "msg_id, sidechain, has_speed FROM ledger ORDER BY source, key")
FILES = "SELECT path, offset, size, prefix_hash, state, records, duplicates, skipped FROM files ORDER BY path"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp("corpus"), mb=3, seed=11, days=6)


@pytest.fixture
def small_tasks(monkeypatch):
    """Tasks of ~64 KB and a 256 KB window: many tasks, and the window fills and drains."""
    monkeypatch.setattr(parse_pool, "TASK", 64 << 10)
    monkeypatch.setattr(parse_pool, "WINDOW", 256 << 10)


def _ingest(db, corpus, monkeypatch, **kw):
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(corpus / "claude"))
    monkeypatch.setenv("CODEX_HOME", str(corpus / "codex"))
    conn = connect(db)
    pricer = Pricer()
    progress = []
    ing = Ingestor(conn, pricer, device="t", mode="calculate", progress=lambda d, t: progress.append((d, t)), **kw)
    results = {r.source: (r.files_read, r.bytes_read, r.records, r.duplicates, r.skipped) for r in ing.run(("claude-code", "codex"))}
    results["worker_failure"] = ing.worker_failure
    return conn, results, progress


def test_parallel_ingest_equals_serial_and_the_truth(tmp_path, corpus, monkeypatch, small_tasks) -> None:
    serial, res_s, _ = _ingest(tmp_path / "s.db", corpus, monkeypatch, workers=1)
    par, res_p, progress = _ingest(tmp_path / "p.db", corpus, monkeypatch, workers=2, parallel_min_bytes=0)
    assert stored(par) == truth(corpus)
    assert par.execute(LEDGER).fetchall() == serial.execute(LEDGER).fetchall()
    assert par.execute(FILES).fetchall() == serial.execute(FILES).fetchall()
    assert res_p == res_s
    assert res_p["claude-code"][3] > 0  # the corpus has duplicates to drop
    for path, offset, prefix in par.execute("SELECT path, offset, prefix_hash FROM files"):
        with open(path, "rb") as fh:  # the hash taken from the bytes read equals one read afresh
            assert prefix == logfiles.prefix_hash(fh, min(logfiles.PREFIX, offset))
    done, total = progress[-1]
    assert done == total and [d for d, _ in progress] == sorted(d for d, _ in progress)


def test_a_pooled_ingest_raises_the_checkpoint_threshold_and_the_cache_then_restores_them(
        tmp_path, corpus, monkeypatch, small_tasks) -> None:
    """While workers parse, the writer's connection checkpoints every 4,000 WAL pages and keeps a
    32 MB page cache; after the ingest, both are what they were (the dashboard's connection
    lives on)."""
    seen = []
    real_stop = parse_pool.ParsePool.stop

    def stop(self):
        seen.append((self.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0],
                     self.conn.execute("PRAGMA cache_size").fetchone()[0]))
        real_stop(self)

    monkeypatch.setattr(parse_pool.ParsePool, "stop", stop)
    conn, _, _ = _ingest(tmp_path / "c.db", corpus, monkeypatch, workers=2, parallel_min_bytes=0)
    assert (4000, -32768) in seen
    assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000  # SQLite's default, as before
    assert conn.execute("PRAGMA cache_size").fetchone()[0] == -2000
    assert stored(conn) == truth(corpus)


def test_below_the_threshold_no_worker_is_started(tmp_path, corpus, monkeypatch) -> None:
    started = []
    monkeypatch.setattr(parse_pool.ParsePool, "start", lambda self, jobs: started.append(jobs))
    conn, _, _ = _ingest(tmp_path / "h.db", corpus, monkeypatch, workers=2, parallel_min_bytes=1 << 40)
    assert started == [] and stored(conn) == truth(corpus)


_DIE = {}  # set by the test below; forked workers inherit it


def _dying_work(source, indices):
    """parse_pool._work, except that the third Claude task's worker dies (as the OOM killer would
    kill it). Module level: submitting a task pickles the function by name."""
    if source == "claude-code":
        fd = os.open(_DIE["calls"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        os.write(fd, b"x")  # appends atomically: exactly one call ends at offset 3
        if os.lseek(fd, 0, os.SEEK_CUR) == 3:
            os._exit(9)
        os.close(fd)
    return _DIE["real"](source, indices)


def test_a_worker_killed_midway_loses_nothing(tmp_path, corpus, monkeypatch, small_tasks) -> None:
    """The rest is parsed in this process and the ledger is exact."""
    monkeypatch.setitem(_DIE, "calls", tmp_path / "calls")
    monkeypatch.setitem(_DIE, "real", parse_pool._work)
    monkeypatch.setattr(parse_pool, "_work", _dying_work)
    serial, res_s, _ = _ingest(tmp_path / "s.db", corpus, monkeypatch, workers=1)
    par, res_p, _ = _ingest(tmp_path / "p.db", corpus, monkeypatch, workers=2, parallel_min_bytes=0)
    assert "BrokenProcessPool" in res_p.pop("worker_failure")  # a worker did die
    assert stored(par) == truth(corpus)
    assert par.execute(LEDGER).fetchall() == serial.execute(LEDGER).fetchall()
    res_s.pop("worker_failure")
    assert res_p == res_s


def test_workers_setting(monkeypatch) -> None:
    monkeypatch.setenv("TOKENTOP_INGEST_WORKERS", "1")
    assert parse_pool.default_workers() == 1
    monkeypatch.setenv("TOKENTOP_INGEST_WORKERS", "3")
    assert parse_pool.default_workers() == 3
    monkeypatch.setenv("TOKENTOP_INGEST_WORKERS", "many")
    assert parse_pool.default_workers() == 1
    monkeypatch.delenv("TOKENTOP_INGEST_WORKERS")
    assert 1 <= parse_pool.default_workers() <= 4


def test_price_data_loads_on_a_thread_while_workers_parse(tmp_path, corpus, monkeypatch, small_tasks) -> None:
    """A first big ingest imports genai-prices (~200 ms) on a thread started once the workers
    are forked, so that the writer's first price does not wait for it; a serial ingest, or one
    whose store already knows the models' rates, does not."""
    import threading

    calls = []
    real = Pricer.warm_up

    def spy(self):
        calls.append((threading.current_thread() is threading.main_thread(), parse_pool._WORK != {}))
        real(self)

    monkeypatch.setattr(Pricer, "warm_up", spy)
    conn, _, _ = _ingest(tmp_path / "p.db", corpus, monkeypatch, workers=2, parallel_min_bytes=0)
    assert calls == [(False, True)] and stored(conn) == truth(corpus)
    calls.clear()
    _ingest(tmp_path / "s.db", corpus, monkeypatch, workers=1)
    assert calls == []


@pytest.fixture
def another_thread():
    """A thread running beside the ingest, as the dashboard's UI runs beside its sync: forking
    this process is unsafe now, so workers are spawned."""
    import threading

    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, daemon=True)
    thread.start()
    assert not parse_pool.forking_is_safe()
    yield
    stop.set()
    thread.join()


def test_spawned_workers_when_other_threads_run(tmp_path, corpus, monkeypatch, small_tasks, another_thread) -> None:
    """The dashboard's sync runs on a thread: its workers are spawned (never forked from a
    threaded process), get their jobs with each task, and the ledger is the serial one."""
    serial, res_s, _ = _ingest(tmp_path / "s.db", corpus, monkeypatch, workers=1)
    started = []
    real_start = parse_pool.ParsePool.start

    def spy(self, jobs):
        real_start(self, jobs)
        started.append((self._spawned, self.active, parse_pool._WORK == {}, gc.isenabled()))

    monkeypatch.setattr(parse_pool.ParsePool, "start", spy)
    par, res_p, progress = _ingest(tmp_path / "p.db", corpus, monkeypatch, workers=2, parallel_min_bytes=0)
    # spawned, running, nothing left for a fork to inherit, and the GC left on (the UI goes on)
    assert started == [(True, True, True, True)]
    assert res_p.pop("worker_failure") is None and res_s.pop("worker_failure") is None
    assert stored(par) == truth(corpus)
    assert par.execute(LEDGER).fetchall() == serial.execute(LEDGER).fetchall()
    assert par.execute(FILES).fetchall() == serial.execute(FILES).fetchall()
    assert res_p == res_s
    assert progress[-1][0] == progress[-1][1]


def test_spawning_waits_for_a_bigger_ingest_than_forking(tmp_path, corpus, monkeypatch, another_thread) -> None:
    assert parse_pool.ParsePool.min_bytes() == parse_pool.SPAWN_MIN > parse_pool.PARALLEL_MIN
    started = []
    monkeypatch.setattr(parse_pool.ParsePool, "start", lambda self, jobs: started.append(jobs))
    monkeypatch.setattr(parse_pool, "SPAWN_MIN", 64 << 20)
    monkeypatch.setattr(parse_pool, "PARALLEL_MIN", 1 << 20)  # the 3 MB corpus would fork workers
    conn, _, _ = _ingest(tmp_path / "w.db", corpus, monkeypatch, workers=2)
    assert started == [] and stored(conn) == truth(corpus)


def test_forking_when_this_is_the_only_thread(tmp_path, corpus, monkeypatch, small_tasks) -> None:
    started = []
    real_start = parse_pool.ParsePool.start

    def spy(self, jobs):
        real_start(self, jobs)
        started.append(self._spawned)

    monkeypatch.setattr(parse_pool.ParsePool, "start", spy)
    assert parse_pool.forking_is_safe() and parse_pool.ParsePool.min_bytes() == parse_pool.PARALLEL_MIN
    conn, _, _ = _ingest(tmp_path / "f.db", corpus, monkeypatch, workers=2, parallel_min_bytes=0)
    assert started == [False] and stored(conn) == truth(corpus)


#: the dashboard's case in a new process (multiprocessing's resource tracker starts once per
#: process): a UI thread, and sys.stderr replaced by a capture without a usable descriptor, as
#: Textual replaces it
UNDER_A_UI = """
import json, sys, threading
threading.Thread(target=threading.Event().wait, daemon=True).start()

class Capture:
    def write(self, text): return sys.__stderr__.write(text)
    def flush(self): pass
    def fileno(self): return -1

sys.stderr = Capture()
from tokentui.core.pricing import Pricer
from tokentui.services import parse_pool
from tokentui.services.ingest import Ingestor
from tokentui.store.db import connect
seen = []
real = parse_pool.ParsePool.start
def start(self, jobs):
    real(self, jobs)
    seen.append([self._spawned, self.active])
parse_pool.ParsePool.start = start
from pathlib import Path
conn = connect(Path(sys.argv[1]))
Ingestor(conn, Pricer(), device="t", mode="calculate", workers=2, parallel_min_bytes=0).run(("claude-code", "codex"))
print(json.dumps(seen))
"""


def test_spawned_workers_start_under_a_ui_that_captures_stderr(tmp_path, corpus) -> None:
    import json
    import subprocess

    from tests.corpus import REPO

    env = {**os.environ, "CLAUDE_CONFIG_DIR": str(corpus / "claude"), "CODEX_HOME": str(corpus / "codex"),
           "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", UNDER_A_UI, str(tmp_path / "ui.db")], env=env, cwd=str(tmp_path),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [[True, True]]  # spawned, and running
    conn = connect(tmp_path / "ui.db")
    assert stored(conn) == truth(corpus)
