"""Parsing in worker processes: the same ledger, cursors and counts as a serial ingest, and a
worker that dies mid-ingest costs nothing but time."""

from __future__ import annotations

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
