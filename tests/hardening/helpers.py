"""Shared by the fault tests: a generated corpus with its truth, store totals, CLI subprocesses."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.corpus import make_corpus, stored, truth  # noqa: F401 (used by the fault tests)

REPO = Path(__file__).resolve().parents[2]

#: runs `tokentop` in a child with a smaller commit batch (so a kill can land between many
#: commits) and says "ingesting" on stdout once imports and the store are ready
CHILD = """
import sys
import tokentui.services.ingest as ing
ing.BATCH = int(sys.argv[1])
_run = ing.Ingestor.run
def run(self, *a, **k):
    print("ingesting", flush=True)
    return _run(self, *a, **k)
ing.Ingestor.run = run
_batches = ing.Ingestor._batches
def batches(self, *a, **k):
    for b in _batches(self, *a, **k):
        print("batch", flush=True)  # a commit is about to start: crash tests kill around these
        yield b
ing.Ingestor._batches = batches
from tokentui.cli import main
sys.exit(main(sys.argv[2:]))
"""


def within(got: dict, want: dict) -> list:
    """Groups where ``got`` exceeds ``want`` in any field (a double count), or is unknown."""
    return [(k, v, want.get(k)) for k, v in got.items()
            if k not in want or any(a > b for a, b in zip(v, want[k]))]


def cursor_invariant(conn: sqlite3.Connection) -> list:
    """Per local source: records the file cursors account for vs rows in the ledger. Both are
    written in one transaction, so any reader must always see them agree."""
    bad = []
    for source, counted in conn.execute("SELECT source, SUM(records) FROM files GROUP BY source"):
        rows = conn.execute("SELECT COUNT(*) FROM ledger WHERE source = ?", (source,)).fetchone()[0]
        if rows != counted:
            bad.append((source, counted, rows))
    return bad


def env_for(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    env["PYTHONPATH"] = str(REPO)
    return env


def tokentop(*args: str, env: dict | None = None, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tokentui", *args], env=env or env_for(), capture_output=True,
                          text=True, timeout=timeout, cwd=str(REPO), **kw)


def spawn_sync(batch: int, env: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CHILD, str(batch), "sync", "-q", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=str(REPO))


def kill_after(proc: subprocess.Popen, delay: float, wait_ingest: bool = True, batches: int = 0) -> bool:
    """SIGKILL ``proc`` ``delay`` s after it started ingesting (or after start), and after it
    reached its ``batches``-th commit batch; True if it was still running when killed. Waiting
    for progress, not only time, lands kills inside an ingest however fast it is."""
    if wait_ingest:
        line = proc.stdout.readline()
        if not line:  # exited before ingesting (an error): let the caller see it
            proc.wait(30)
            return False
        for _ in range(batches):
            if not proc.stdout.readline():
                break
    time.sleep(delay)
    alive = proc.poll() is None
    if alive:
        proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    proc.stdout.close()
    proc.stderr.close()
    return alive


def db_path() -> Path:
    return Path(os.environ["TOKENTOP_DATA_DIR"]) / "history.db"


def read_conn() -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{db_path()}?mode=ro", uri=True, timeout=30, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 30000")
    return conn
