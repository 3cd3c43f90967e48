"""A running dashboard keeps its store while other tokentop commands come and go.

The dashboard holds a long-lived connection and opens more (history, export) as it runs;
meanwhile `tokentop report` and `sync` in other terminals connect and close. POSIX locks
belong to a process and an inode: closing *any* descriptor of the database file drops every
lock the process holds on it. If tokentop ever opens ``history.db`` outside SQLite, the next
command to close its connection finds no other reader, checkpoints and unlinks the WAL under
the dashboard, which then writes into deleted files (SQLite's "How To Corrupt", §2.2).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hardening.helpers import REPO
from tokentui.store.db import connect, transaction

OTHER = r"""
import sys
from pathlib import Path
from tokentui.store.db import connect, transaction
path, rounds, tag = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
for i in range(rounds):
    conn = connect(path)
    with transaction(conn):
        conn.execute("INSERT INTO meta (key, value) VALUES (?, 'other')", (f"other-{tag}-{i}",))
    conn.close()
    conn = connect(path, readonly=True)   # a `report --no-sync`
    conn.execute("SELECT COUNT(*) FROM meta").fetchone()
    conn.close()
print("done", flush=True)
"""


def _deleted_links(path: Path) -> list[str]:
    """This process's descriptors on the store's files that point at unlinked files."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(path)) and target.endswith("(deleted)"):
            found.append(target)
    return found


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
def test_other_commands_never_unlink_a_running_dashboards_wal(tmp_path):
    path = tmp_path / "history.db"
    dashboard = connect(path)  # the dashboard's long-lived connection
    written = 0
    try:
        for round_ in range(6):
            # the dashboard opens and closes more connections as it runs (history, export)
            for readonly in (False, True):
                extra = connect(path, readonly=readonly)
                extra.execute("SELECT COUNT(*) FROM meta").fetchone()
                extra.close()
            with transaction(dashboard):
                dashboard.execute("INSERT INTO meta (key, value) VALUES (?, 'dash')", (f"dash-{round_}",))
            written += 1
            # another terminal: sync and report, each connecting and closing
            out = subprocess.run([sys.executable, "-c", OTHER, str(path), "3", str(round_)], capture_output=True, text=True,
                                 timeout=60, cwd=str(REPO), env={**os.environ, "PYTHONPATH": str(REPO)})
            assert out.returncode == 0, out.stderr
            assert Path(f"{path}-wal").exists(), "the WAL was unlinked under an open connection"
            assert not _deleted_links(path), f"the dashboard writes into deleted files: {_deleted_links(path)}"
        assert dashboard.execute("SELECT COUNT(*) FROM meta WHERE value = 'dash'").fetchone()[0] == written
    finally:
        dashboard.close()
    # every row from both processes survives the dashboard quitting
    after = connect(path, readonly=True)
    try:
        counts = dict(after.execute("SELECT value, COUNT(*) FROM meta WHERE value IN ('dash', 'other') "
                                    "GROUP BY value").fetchall())
    finally:
        after.close()
    assert counts == {"dash": 6, "other": 18}


def test_a_store_appears_only_complete(tmp_path, monkeypatch):
    """A first sync killed while it creates the store leaves no half-made history.db (outside
    readers would find no tables): the store is built aside and linked into place."""
    from tokentui.store import db

    path = tmp_path / "history.db"

    def killed(conn):
        assert list(tmp_path.glob("history.db.creating-*")), "built under a temporary name"
        raise KeyboardInterrupt  # the process dies here

    monkeypatch.setattr(db, "migrate", killed)
    with pytest.raises(KeyboardInterrupt):
        connect(path)
    assert not path.exists()
    monkeypatch.undo()
    (tmp_path / "history.db.creating-99999").write_bytes(b"left by a killed creator")
    conn = connect(path)
    try:
        assert conn.execute("SELECT COUNT(*) FROM ledger").fetchone()[0] == 0
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()
    assert not list(tmp_path.glob("history.db.creating-*"))
    assert (path.stat().st_mode & 0o777) == 0o600
