"""The SQLite history store: connection, WAL, versioned schema and migrations.

One ledger table holds every record from every source, keyed by natural keys:
``UNIQUE(source, key)``. Local entries use their dedupe key (Claude ``message.id|requestId``,
Codex ``timestamp|model|counts``), API buckets ``endpoint|bucket start|width|dimensions``.
These keys are global, so the device name is provenance only: renaming a device, or adding
another machine's history later, never double counts. Timestamps are UTC epoch milliseconds.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from tokentui import paths
from tokentui.errors import StoreError

MIGRATIONS: list[tuple[int, str]] = [
    (1, """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE ledger (
        id              INTEGER PRIMARY KEY,
        source          TEXT NOT NULL,
        key             TEXT NOT NULL,
        kind            TEXT NOT NULL CHECK (kind IN ('local', 'api')),
        device          TEXT NOT NULL,
        ts_ms           INTEGER NOT NULL,
        width_s         INTEGER NOT NULL DEFAULT 0,
        model           TEXT,
        model_fallback  INTEGER NOT NULL DEFAULT 0,
        input           INTEGER NOT NULL DEFAULT 0,
        output          INTEGER NOT NULL DEFAULT 0,
        cache_write_5m  INTEGER NOT NULL DEFAULT 0,
        cache_write_1h  INTEGER NOT NULL DEFAULT 0,
        cache_read      INTEGER NOT NULL DEFAULT 0,
        reasoning       INTEGER NOT NULL DEFAULT 0,
        requests        INTEGER NOT NULL DEFAULT 1,
        project         TEXT,
        session         TEXT,
        cost_pico       INTEGER,
        cost_label      TEXT NOT NULL CHECK (cost_label IN ('billed', 'estimated', 'unpriced')),
        logged_cost_pico INTEGER,
        msg_id          TEXT,
        sidechain       INTEGER NOT NULL DEFAULT 0,
        has_speed       INTEGER NOT NULL DEFAULT 0,
        raw             TEXT,
        updated_ms      INTEGER NOT NULL,
        UNIQUE (source, key)
    );
    CREATE INDEX ledger_ts ON ledger (ts_ms);
    CREATE INDEX ledger_msg ON ledger (source, msg_id) WHERE msg_id IS NOT NULL;
    CREATE TABLE files (
        path          TEXT PRIMARY KEY,
        source        TEXT NOT NULL,
        dev           INTEGER NOT NULL,
        ino           INTEGER NOT NULL,
        size          INTEGER NOT NULL,
        mtime_ns      INTEGER NOT NULL,
        offset        INTEGER NOT NULL,
        prefix_hash   TEXT,
        state         TEXT,
        records       INTEGER NOT NULL DEFAULT 0,
        duplicates    INTEGER NOT NULL DEFAULT 0,
        skipped       INTEGER NOT NULL DEFAULT 0,
        updated_ms    INTEGER NOT NULL
    );
    CREATE INDEX files_source ON files (source);
    CREATE TABLE source_status (
        source        TEXT PRIMARY KEY,
        status        TEXT NOT NULL,
        message       TEXT,
        last_sync_ms  INTEGER,
        last_ok_ms    INTEGER,
        detail        TEXT
    );
    CREATE TABLE sync_state (
        source  TEXT NOT NULL,
        name    TEXT NOT NULL,
        value   TEXT NOT NULL,
        PRIMARY KEY (source, name)
    );
    """),
]

SCHEMA_VERSION = MIGRATIONS[-1][0]


def now_ms() -> int:
    return int(time.time() * 1000)


def connect(path: Path, *, readonly: bool = False, timeout: float = 30.0) -> sqlite3.Connection:
    """Open (and migrate) the store at ``path``. Writers wait up to ``timeout`` for a lock."""
    if not readonly:
        paths.ensure_dir(path.parent)
    existed = path.exists()
    try:
        if readonly:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=timeout,
                                   isolation_level=None, check_same_thread=False)
        else:
            conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        if not readonly:
            _retry_locked(lambda: _setup(conn), timeout)
            if not existed:
                paths.private_file(path)
        else:
            _check_version(conn)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"cannot open the history store {path}: {exc}",
                         "if the file is damaged, move it aside and run `tokentop sync` to rebuild it") from None
    return conn


def _setup(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    migrate(conn)


def _retry_locked(fn, timeout: float) -> None:
    """Run ``fn``, retrying while another process holds a lock SQLite's busy handler does not
    wait for (switching a new file to WAL needs an exclusive lock, and the busy handler is
    not invoked for it)."""
    deadline = time.monotonic() + timeout
    delay = 0.01
    while True:
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            text = str(exc).lower()
            if ("locked" not in text and "busy" not in text) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.25)


def _check_version(conn: sqlite3.Connection) -> int:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StoreError(f"the history store has schema version {version}, newer than this tokentop "
                         f"understands ({SCHEMA_VERSION})", "upgrade tokentop")
    return version


def migrate(conn: sqlite3.Connection) -> int:
    """Apply pending migrations, each in its own transaction. Returns the new version."""
    version = _check_version(conn)
    for target, sql in MIGRATIONS:
        if target <= version:
            continue
        with transaction(conn):
            # re-read inside the write lock: another process may have migrated meanwhile
            if conn.execute("PRAGMA user_version").fetchone()[0] >= target:
                continue
            for stmt in sql.split(";"):
                if stmt.strip():
                    conn.execute(stmt)
            conn.execute(f"PRAGMA user_version = {target}")
        version = target
    return version


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``: one writer at a time, readers see all or nothing."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")


def get_meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) "
                 "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))
