"""The SQLite history store: connection, WAL, versioned schema and migrations.

One ledger table holds every record from every source, keyed by natural keys:
``UNIQUE(source, key)``. Local entries use their dedupe key (Claude ``message.id|requestId``,
Codex ``timestamp|model|counts``), API buckets ``endpoint|bucket start|width|dimensions``.
These keys are global, so the device name is provenance only: renaming a device, or adding
another machine's history later, never double counts. Timestamps are UTC epoch milliseconds.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator
from urllib.parse import quote

from tokentui import paths
from tokentui.errors import StoreDamaged, StoreError
from tokentui.store.dbfile import StoreConnection, create, remember_file, size_problem, truncation

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
    # plan limits (spec/quotas.md §3.2): the vendors' own window percentages, kept as history
    (2, """
    CREATE TABLE quota_sample (
        id            INTEGER PRIMARY KEY,
        source        TEXT NOT NULL,
        provider      TEXT NOT NULL,
        account       TEXT NOT NULL,
        lim           TEXT NOT NULL,
        win           TEXT NOT NULL,
        resets_at     INTEGER NOT NULL,
        session       TEXT NOT NULL DEFAULT '',
        used_bp       INTEGER NOT NULL,
        window_s      INTEGER,
        raw_resets_at INTEGER,
        reset_src     TEXT NOT NULL,
        plan          TEXT,
        first_seen_ms INTEGER NOT NULL,
        last_seen_ms  INTEGER NOT NULL,
        device        TEXT NOT NULL,
        UNIQUE (source, account, lim, win, resets_at, session, used_bp)
    );
    CREATE INDEX quota_sample_cur ON quota_sample (provider, account, lim, win, resets_at);
    CREATE TABLE quota_event (
        provider TEXT NOT NULL, account TEXT NOT NULL, lim TEXT NOT NULL, win TEXT NOT NULL,
        kind TEXT NOT NULL, at_ms INTEGER NOT NULL, old_resets_at INTEGER NOT NULL DEFAULT 0,
        new_resets_at INTEGER NOT NULL DEFAULT 0, detail TEXT,
        UNIQUE (provider, account, lim, win, kind, at_ms)
    );
    CREATE TABLE quota_alert (
        account TEXT NOT NULL, lim TEXT NOT NULL, win TEXT NOT NULL, resets_at INTEGER NOT NULL,
        kind TEXT NOT NULL, fired_ms INTEGER NOT NULL,
        PRIMARY KEY (account, lim, win, resets_at, kind)
    );
    """),
    # share-folder device merge (tokentui/store/share.py): which rows this machine wrote itself
    # ('' = ours, else the device id whose segment set them), deletions to pass on, and what
    # has been imported from whom
    (3, """
    ALTER TABLE ledger ADD COLUMN origin TEXT NOT NULL DEFAULT '';
    CREATE INDEX ledger_own_updated ON ledger (updated_ms) WHERE origin = '';
    CREATE TABLE share_deleted (
        source      TEXT NOT NULL,
        key         TEXT NOT NULL,
        deleted_ms  INTEGER NOT NULL,
        origin      TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (source, key)
    );
    CREATE TABLE share_device (
        device_id       TEXT PRIMARY KEY,
        name            TEXT NOT NULL,
        last_seq        INTEGER NOT NULL DEFAULT 0,
        last_created_ms INTEGER,
        segments        INTEGER NOT NULL DEFAULT 0,
        records         INTEGER NOT NULL DEFAULT 0,
        last_import_ms  INTEGER
    );
    CREATE TABLE share_segment (
        device_id    TEXT NOT NULL,
        seq          INTEGER NOT NULL,
        digest       TEXT NOT NULL,
        file         TEXT NOT NULL,
        records      INTEGER NOT NULL,
        imported_ms  INTEGER NOT NULL,
        PRIMARY KEY (device_id, seq, digest)
    );
    """),
    # issue 16: whether a record's tokens are exact or an estimate (session totals, character counts)
    (4, """
    ALTER TABLE ledger ADD COLUMN token_label TEXT NOT NULL DEFAULT 'exact'
        CHECK (token_label IN ('exact', 'estimated'));
    """),
]

SCHEMA_VERSION = MIGRATIONS[-1][0]


def _null(_value: None) -> None:
    return None


# Binding None (a NULL: no cost known, no message id, no raw text) is the dearest parameter
# Python's sqlite3 binds: it finds no adapter for NoneType, then looks for ``__adapt__`` and
# ``__conform__`` and raises and clears two AttributeErrors, ~0.45 µs against ~0.1 µs for an
# int. With an adapter that returns None unchanged it is found at once and still bound as
# NULL. A first sync binds three such NULLs in most of its rows: ~10 % of the writer's time
# for the ledger. Registered for every connection of this process, with the same result.
sqlite3.register_adapter(type(None), _null)
#: seconds a writer waits for another process's write lock before giving up
LOCK_TIMEOUT = 30.0


def now_ms() -> int:
    return int(time.time() * 1000)


def connect(path: Path, *, readonly: bool = False, timeout: float | None = None,
            recover: bool = False) -> sqlite3.Connection:
    """Open (and migrate) the store at ``path``. Writers wait up to ``timeout`` (default
    :data:`LOCK_TIMEOUT`) for a lock.

    A damaged store (not a database, a truncated file, a failed ``quick_check``) raises
    :class:`StoreDamaged`; with ``recover`` it is instead moved aside as
    ``history.db.corrupt-<time>`` and a new one is started holding every record that could
    still be read from it (:mod:`tokentui.store.recover`), and the message for the user is
    queued in :data:`NOTICES`. Any other failure is a :class:`StoreError` in plain words.
    """
    timeout = LOCK_TIMEOUT if timeout is None else timeout
    try:
        return _open(path, readonly, timeout)
    except StoreDamaged as exc:
        if readonly or not recover:
            raise
        from tokentui.store.recover import recover_store

        NOTICES.append(recover_store(path, exc.reason))
        return _open(path, readonly, timeout)


def _open(path: Path, readonly: bool, timeout: float) -> sqlite3.Connection:
    if not readonly:
        try:
            paths.ensure_dir(path.parent)
        except OSError as exc:
            raise StoreError(f"cannot create the data directory {path.parent}: {exc.strerror or exc}",
                             "check its permissions, or set TOKENTOP_DATA_DIR to a writable directory") from None
    # Never open the database file outside SQLite: closing any descriptor of it drops every
    # POSIX lock this process holds on it (a running dashboard's too), and the next process
    # to close its connection would then unlink the WAL under us. Only stat() is safe.
    existed = path.exists()
    problem = size_problem(path) if existed else None
    if problem:
        raise StoreDamaged(path, problem)
    conn = None
    try:
        if not existed and not readonly:
            create(path)
        if readonly:
            conn = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, timeout=timeout,
                                   isolation_level=None, check_same_thread=False, factory=StoreConnection)
        else:
            conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False,
                                   factory=StoreConnection)
        remember_file(conn, path)
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        if existed:
            problem = truncation(conn, path)
            if problem:
                raise StoreDamaged(path, problem)
        if not readonly:
            _retry_locked(lambda: _setup(conn), timeout)
            if not existed:
                paths.private_file(path)
            _verify(conn, path)
        else:
            _check_version(conn)
    except sqlite3.Error as exc:
        if conn is not None:
            conn.close()
        raise store_error(exc, path) from None
    except BaseException:
        if conn is not None:
            conn.close()
        raise
    return conn


#: how often a writer's open runs ``PRAGMA quick_check`` (it reads every page: ~20 ms per 10 MB)
CHECK_EVERY_MS = 24 * 3600 * 1000
#: messages for the user about stores that were repaired (the CLI prints them)
NOTICES: list[str] = []


#: SQLite's extended result code for a read that ran past the end of the file
SQLITE_IOERR_SHORT_READ = 10 | (2 << 8)


def _verify(conn: sqlite3.Connection, path: Path) -> None:
    """Once a day, a writer's open runs ``quick_check`` over every page."""
    last = get_meta(conn, "quick_check_ms")
    if last is not None and last.isdigit() and now_ms() - int(last) < CHECK_EVERY_MS:
        return
    problems = [row[0] for row in conn.execute("PRAGMA quick_check(5)")]
    if problems != ["ok"]:
        raise StoreDamaged(path, f"quick_check found damage: {problems[0]}")
    wait = conn.execute("PRAGMA busy_timeout").fetchone()[0]
    conn.execute("PRAGMA busy_timeout = 0")  # never wait behind a long sync just to note the check
    try:
        with contextlib.suppress(sqlite3.OperationalError):  # busy: check again next time
            conn.execute("INSERT INTO meta (key, value) VALUES ('quick_check_ms', ?) "
                         "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (str(now_ms()),))
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(wait)}")


def _setup_new(conn: sqlite3.Connection) -> None:
    """A new store's schema, then WAL mode (see :func:`tokentui.store.dbfile.create`)."""
    migrate(conn)
    conn.execute("PRAGMA journal_mode = WAL")


def store_error(exc: sqlite3.Error, path: Path) -> StoreError:
    """A SQLite failure as one plain sentence about the history store at ``path``."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    text = str(exc).lower()
    if primary in (11, 26) or "malformed" in text or "not a database" in text:
        return StoreDamaged(path, str(exc))
    if code == SQLITE_IOERR_SHORT_READ or (primary == 10 and size_problem(path)):
        # SQLite read past the end of the file: it is shorter than its pages say
        return StoreDamaged(path, size_problem(path) or "the file is truncated (a read ran past its end)")
    if primary in (5, 6) or "locked" in text or "busy" in text:
        return StoreError(f"the history store {path} is busy: another tokentop process kept it locked for "
                          f"{LOCK_TIMEOUT:g} s", "try again when the other sync has finished")
    if primary == 13 or "full" in text:
        return StoreError(f"cannot write the history store {path}: the disk is full",
                          "free some space and sync again; everything stored before is kept")
    if primary == 8 or "readonly" in text or "read-only" in text:
        return StoreError(f"cannot write the history store {path}: it or its directory is read-only",
                          "check the permissions of `tokentop locate data`, or set TOKENTOP_DATA_DIR")
    if primary == 14 or "unable to open" in text:
        return StoreError(f"cannot open the history store {path} (missing, or no permission to read or "
                          "create files in its directory)", "check the permissions of `tokentop locate data`")
    if primary == 10 or "disk i/o" in text:
        return StoreError(f"the disk reported an error while using the history store {path}: {exc}",
                          "check the disk; everything committed before is kept")
    return StoreError(f"the history store {path} failed: {exc}")


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
        # SQLite has already rolled back after some errors (a full disk, an I/O error): a
        # second ROLLBACK would fail and hide the real error
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise
    else:
        try:
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise


def get_meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) "
                 "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))


def data_version(conn: sqlite3.Connection) -> int:
    """Changes whenever another connection commits to the store (``PRAGMA data_version``)."""
    return conn.execute("PRAGMA data_version").fetchone()[0]


def set_autocheckpoint(conn: sqlite3.Connection, pages: int) -> int:
    """Set ``PRAGMA wal_autocheckpoint`` (WAL pages before a commit copies them back into the
    database file); returns the previous value."""
    before = conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    conn.execute(f"PRAGMA wal_autocheckpoint = {int(pages)}")
    return before


def set_cache_size(conn: sqlite3.Connection, size: int) -> int:
    """Set ``PRAGMA cache_size`` (pages, or KiB when negative); returns the previous value."""
    before = conn.execute("PRAGMA cache_size").fetchone()[0]
    conn.execute(f"PRAGMA cache_size = {int(size)}")
    return before


def file_of(conn: sqlite3.Connection) -> str:
    """The path of the database file ``conn`` has open ("" for an in-memory one)."""
    return next((row[2] for row in conn.execute("PRAGMA database_list") if row[1] == "main"), "")
