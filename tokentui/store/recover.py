"""Repairing a damaged history store: move it aside, start a new one, keep what can be read.

The damaged file (with its ``-wal``/``-shm``) is renamed ``history.db.corrupt-<UTC time>``,
never deleted. Every ledger row that can still be read from it, and passes the same checks a
new record must pass, is copied into the new store, with the device it came from (``origin``:
a row another machine's share segment brought stays theirs, never re-exported as this one's);
so are the plan-limit samples, the only record of status-line and usage-endpoint readings. Ledger keys are natural keys, so the next
sync re-reads the agents' logs and re-polls the APIs on top of those rows without counting
anything twice; what only the damaged file held (logs since deleted by the agents) is kept as
far as its pages are readable.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

from tokentui import paths
from tokentui.core.records import UsageRecord, problem

CHUNK = 500  # rows read per query from the damaged file; a failing chunk is retried row by row


def recover_store(path: Path, reason: str) -> str:
    """Move the damaged store at ``path`` aside, salvage its records into a new one, and return
    the message for the user. Safe against another process recovering at the same moment."""
    from tokentui.store import db

    with _lock(path):
        still = _damage(path)
        if still is None:
            return f"the history store {path} was reported damaged ({reason}), but another tokentop process " \
                   "has already repaired it or it checks out fine now"
        aside = _move_aside(path)
        conn = db.connect(path, recover=False)
        try:
            old = _open_read_only(aside)
            try:
                kept, unreadable = _salvage(old, conn) if old is not None else (0, 0)
                if old is not None:
                    _salvage_samples(old, conn)
            finally:
                if old is not None:
                    old.close()
        finally:
            conn.close()
    lost = f", {unreadable:,} unreadable" if unreadable else ""
    return (f"the history store was damaged ({still}); it was moved to {aside} and a new one started with the "
            f"{kept:,} records that could still be read from it{lost}; the next sync re-reads the agents' logs "
            "and the provider APIs for the rest")


_HELD = threading.local()  # the lock files this thread holds: a repair creates the new store under its lock


@contextlib.contextmanager
def _lock(path: Path):
    """One repair (or creation of a store) at a time across processes and threads; re-entrant
    in one thread. An flock on a file of its own, never a lock on the database file."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: one process at a time is the user's job
        yield
        return
    name = f"{path}.recover.lock"
    held = getattr(_HELD, "names", None)
    if held is None:
        held = _HELD.names = set()
    if name in held:
        yield
        return
    fd = os.open(name, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        held.add(name)
        yield
    finally:
        held.discard(name)
        os.close(fd)  # closing releases the lock


def _damage(path: Path) -> str | None:
    """Why the file at ``path`` is damaged, or None when it is missing or healthy."""
    from tokentui.store.dbfile import size_problem as _size_problem

    if not path.exists():
        return None
    found = _size_problem(path)  # never open() the file itself: see store.db._open
    if found:
        return found
    try:
        conn = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, timeout=5)
        try:
            rows = [r[0] for r in conn.execute("PRAGMA integrity_check(5)")]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    return None if rows == ["ok"] else f"integrity_check: {rows[0]}"


def _move_aside(path: Path) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while aside.exists():
        n += 1
        aside = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    os.replace(path, aside)
    for suffix in ("-wal", "-shm"):  # the WAL belongs to the damaged file: it must never meet the new one
        with contextlib.suppress(FileNotFoundError):
            os.replace(f"{path}{suffix}", f"{aside}{suffix}")
    paths.private_file(aside)
    return aside


def _open_read_only(aside: Path) -> sqlite3.Connection | None:
    """The damaged file moved aside, opened read-only once for every salvage; None if it cannot be."""
    try:
        return sqlite3.connect(f"file:{quote(str(aside))}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return None


def _salvage(old: sqlite3.Connection, new: sqlite3.Connection) -> tuple[int, int]:
    """Copy readable, valid ledger rows of ``old`` into ``new``: (kept, unreadable or invalid)."""
    from tokentui.store.ledger import _COLS, wrote

    kept = bad = 0
    try:
        top = old.execute("SELECT MAX(id) FROM ledger").fetchone()[0] or 0
        have = {r[1] for r in old.execute("PRAGMA table_info(ledger)")}
    except sqlite3.Error:
        return 0, 0  # no readable ledger at all (the file was not a database, or page 1 is gone)
    # an older schema lacks later columns (e.g. token_label): those take their defaults
    names = tuple(c for c in (*_COLS, "origin") if c in have) if have else _COLS
    cols = ", ".join(names)
    insert = f"INSERT OR IGNORE INTO ledger ({cols}) VALUES ({', '.join('?' * len(names))})"
    new.execute("BEGIN IMMEDIATE")
    wrote()
    try:
        for start in range(1, top + 1, CHUNK):
            try:
                rows = old.execute(f"SELECT {cols} FROM ledger WHERE id BETWEEN ? AND ?",
                                   (start, start + CHUNK - 1)).fetchall()
            except sqlite3.Error:
                rows = []
                for rid in range(start, start + CHUNK):
                    try:
                        rows.extend(old.execute(f"SELECT {cols} FROM ledger WHERE id = ?", (rid,)).fetchall())
                    except sqlite3.Error:
                        bad += 1
            good = [r for r in rows if _valid(dict(zip(names, r)))]
            bad += len(rows) - len(good)
            kept += sum(new.execute(insert, r).rowcount for r in good)
        new.execute("COMMIT")
    except BaseException:
        new.execute("ROLLBACK")
        raise
    return kept, bad


def _salvage_samples(old: sqlite3.Connection, new: sqlite3.Connection) -> int:
    """Copy the readable, well-typed plan-limit samples of ``old`` into ``new``; returns how many."""
    from tokentui.store.quotas import _COLS as SAMPLE_COLS

    names = (*SAMPLE_COLS, "device")
    text, whole = ("source", "provider", "account", "lim", "win", "session", "reset_src", "device"), \
        ("resets_at", "used_bp", "first_seen_ms", "last_seen_ms")
    try:
        rows = old.execute(f"SELECT {', '.join(names)} FROM quota_sample").fetchall()
    except sqlite3.Error:
        return 0  # no such table (an older store) or its pages are gone: Codex samples come back from the logs
    good = []
    for r in rows:
        row = dict(zip(names, r))
        if (all(isinstance(row[c], str) for c in text) and all(type(row[c]) is int for c in whole)
                and all(row[c] is None or type(row[c]) is int for c in ("window_s", "raw_resets_at"))
                and (row["plan"] is None or isinstance(row["plan"], str))):
            good.append(r)
    new.execute("BEGIN IMMEDIATE")
    try:
        new.executemany(f"INSERT OR IGNORE INTO quota_sample ({', '.join(names)}) "
                        f"VALUES ({', '.join('?' * len(names))})", good)
        new.execute("COMMIT")
    except BaseException:
        new.execute("ROLLBACK")
        raise
    return len(good)


def _valid(row: dict) -> bool:
    if not all(isinstance(row[c], str) for c in ("source", "key", "device", "cost_label")):
        return False
    if row["kind"] not in ("local", "api") or row["cost_label"] not in ("billed", "estimated", "unpriced"):
        return False
    if row.get("token_label", "exact") not in ("exact", "estimated"):
        return False
    try:
        rec = UsageRecord(row["source"], row["key"], row["ts_ms"], row["model"], row["input"], row["output"],
                          row["cache_write_5m"], row["cache_write_1h"], row["cache_read"], row["reasoning"],
                          kind=row["kind"], requests=row["requests"])
    except (TypeError, KeyError):
        return False
    cost = row["cost_pico"]
    return problem(rec) is None and (cost is None or type(cost) is int)
