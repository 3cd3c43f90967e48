"""The store's database file itself: creating it, knowing which file a connection opened,
and checking its size. Never opens the file outside SQLite: closing any descriptor of it would
drop every POSIX lock this process holds on it (a running dashboard's too), and the next
process to close its connection would then unlink the WAL under it. ``stat`` only.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from pathlib import Path


class StoreConnection(sqlite3.Connection):
    """A store connection that remembers which file it opened, so a long-lived one (the
    dashboard's) can tell when ``history.db`` was deleted or replaced under it
    (:func:`file_changed`)."""

    path: Path | None = None
    identity: tuple[int, int] | None = None


def file_changed(conn: sqlite3.Connection) -> str | None:
    """Why the file ``conn`` opened is no longer the store at its path, in plain words, or None.

    ``deleted``: nothing is at the path (what the connection writes now vanishes when it
    closes); ``replaced``: another file is (restored from a backup, or moved aside and rebuilt
    by another tokentop process); ``emptied``: the file was truncated to nothing (its pages are
    gone; only this connection's WAL still holds some). Uses ``stat`` only, never ``open``:
    see :func:`tokentui.store.db._open`."""
    path, identity = getattr(conn, "path", None), getattr(conn, "identity", None)
    if path is None or identity is None:
        return None
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "deleted"
    except OSError:
        return None  # cannot tell (permissions): the next query says what is wrong
    if (st.st_dev, st.st_ino) != identity:
        return "replaced"
    if st.st_size == 0:
        return "emptied"
    return None


def close_if_moved(conn: sqlite3.Connection) -> str | None:
    """Close ``conn`` when its file is no longer the store at its path (see :func:`file_changed`)
    and return why; the caller then connects again, to whatever the path holds now (a new
    store, the replacement, or the damaged one, which is then repaired). None: still current."""
    why = file_changed(conn)
    if why:
        with contextlib.suppress(sqlite3.Error):
            conn.close()
    return why


def moved_message(path: Path, why: str) -> str:
    """What happened to the store at ``path`` under a running tokentop, and what it did."""
    if why == "deleted":
        return (f"the history store {path} was deleted while tokentop was running: a new one was started and "
                "the agents' logs are read again; what only the old file held is gone (restore it from a backup, "
                "with tokentop closed, to get it back)")
    if why == "replaced":
        return (f"the history store {path} was replaced by another file while tokentop was running (restored "
                "from a backup, or repaired by another tokentop process): tokentop now uses the new file")
    return (f"the history store {path} was emptied (truncated to 0 bytes) while tokentop was running: it is "
            "treated as damaged, moved aside and rebuilt from what can still be read and the agents' logs")


def create(path: Path) -> None:
    """Create the store file, 0600, with its schema, before it is opened: SQLite gives its -wal
    and -shm files the database's mode, so they never exist readable by others, not even for a
    moment; and a ``history.db`` that exists is always a complete store.

    A ``-wal`` or ``-shm`` found while there is no database belongs to one that was deleted,
    perhaps under a running dashboard that still writes to them. A new store must never adopt
    them (SQLite would replay the old WAL into it, or fail with "disk I/O error" while the
    other process uses them), so they are renamed ``…-wal.orphaned-<time>`` first; a process
    still using them keeps its descriptors. One creator at a time (a lock file beside the store)."""
    from tokentui.store.recover import _lock

    with _lock(path):
        if path.exists():
            return  # another process created it meanwhile
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        for suffix in ("-wal", "-shm"):
            side = Path(f"{path}{suffix}")
            if side.exists():
                with contextlib.suppress(OSError):
                    os.replace(side, f"{side}.orphaned-{stamp}")
        for stale in path.parent.glob(f"{path.name}.creating-*"):  # a creator killed midway (we hold the lock)
            with contextlib.suppress(OSError):
                stale.unlink()
        # the store appears only complete: built under a temporary name (schema committed, WAL
        # mode set, connection closed), then linked into place; a process killed meanwhile
        # leaves no half-made history.db, only a temporary file the next creator removes
        tmp = Path(f"{path}.creating-{os.getpid()}")
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        try:
            conn = sqlite3.connect(tmp, isolation_level=None)
            try:  # the schema first, then WAL mode: a WAL would need room for a second copy
                from tokentui.store.db import _setup_new

                _setup_new(conn)
            finally:
                conn.close()
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def remember_file(conn: sqlite3.Connection, path: Path) -> None:
    """Note which file ``conn`` opened (for :func:`file_changed`): SQLite opened it just now."""
    with contextlib.suppress(OSError, AttributeError):
        st = os.stat(path)
        conn.path, conn.identity = path, (st.st_dev, st.st_ino)


def size_problem(path: Path) -> str | None:
    """A non-empty file too short to hold one SQLite page is no database (SQLite itself would
    take it for an empty one and write over it). Uses ``stat`` only: see :func:`tokentui.store.db._open`."""
    try:
        size = os.stat(path).st_size
    except OSError:
        return None  # missing or unreadable: SQLite's own error says which
    if size == 0 and wal_size(path) > 0:
        # a store in WAL mode always has its header page on disk: an empty file beside a
        # WAL with frames was truncated (SQLite would take it for a new database, fail to
        # switch it to WAL under the other process, and report it busy)
        return "the file is truncated to 0 bytes, and its -wal still holds changes"
    return "not an SQLite database" if 0 < size < MIN_PAGE else None


def wal_size(path: Path) -> int:
    try:
        return os.stat(f"{path}-wal").st_size
    except OSError:
        return 0


#: the smallest page SQLite writes: a database file is empty or at least this long
MIN_PAGE = 512
def truncation(conn: sqlite3.Connection, path: Path) -> str | None:
    """Whether the file is shorter than the size its header states, read through SQLite (a file
    that is not a database raises SQLITE_NOTADB here, which :func:`tokentui.store.db.store_error` reports as
    damage). The size is only compared when no ``-wal`` file exists: a checkpoint in another
    process writes page 1 (the new size) before the pages that extend the file."""
    if os.path.exists(f"{path}-wal"):
        return None
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    try:
        size = os.stat(path).st_size
    except OSError:
        return None
    if pages and size < pages * page_size and not os.path.exists(f"{path}-wal"):
        return f"the file is truncated: {size} of {pages * page_size} bytes"
    return None
