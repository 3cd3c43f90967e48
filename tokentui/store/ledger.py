"""Writes to the history store: idempotent ledger upserts, file cursors, source status.

Call these inside :func:`tokentui.store.db.transaction` so records and cursors commit together.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Iterable, NamedTuple, Sequence

from tokentui.core.records import UNPRICED, UsageRecord, problem, storable_cost
from tokentui.store.db import data_version, get_meta, now_ms, set_meta

#: ``device`` and ``updated_ms`` come last: :func:`record_row` builds the rest (in a worker
#: process, during a parallel ingest) and :func:`upsert_rows` appends them
_COLS = ("source", "key", "kind", "ts_ms", "width_s", "model", "model_fallback", "input", "output",
         "cache_write_5m", "cache_write_1h", "cache_read", "reasoning", "requests", "project", "session",
         "cost_pico", "cost_label", "logged_cost_pico", "msg_id", "sidechain", "has_speed", "raw",
         "token_label", "device", "updated_ms")

_UPSERT = (f"INSERT INTO ledger ({', '.join(_COLS)}) VALUES ({', '.join('?' * len(_COLS))}) "
           "ON CONFLICT (source, key) DO UPDATE SET "
           + ", ".join(f"{c} = excluded.{c}" for c in _COLS if c not in ("source", "key", "device"))
           + ", origin = ''")  # this machine wrote it now: its share-folder export passes it on

Row = tuple  # a ledger row without device and updated_ms: see record_row

#: ledger writes made in this process; every function of the store that writes ledger rows
#: calls :func:`wrote` (see :func:`change_token`)
_writes = 0


def wrote() -> None:
    """Note a write to the ledger (before its statement runs: a failed one only costs a re-read)."""
    global _writes
    _writes += 1


def change_token(conn: sqlite3.Connection) -> tuple[int, int]:
    """Equal for two calls on ``conn`` only if the ledger cannot have changed in between: no
    ledger write in this process (:func:`wrote`) and no commit by any other connection, of
    this process or another (``PRAGMA data_version``). Other tables' writes on ``conn`` (a
    source's status, cursors) leave it as it is."""
    return data_version(conn), _writes


def record_row(r: UsageRecord, has_speed: bool = False) -> Row | None:
    """The ledger row for ``r`` (without device and stamp), or None when the store must refuse
    it: a record with absurd numbers (see :func:`records.problem`; the parsers skip those
    already, this is the last line)."""
    if problem(r) is not None:
        return None
    cost, label = storable_cost(r.cost_pico, r.kind), r.cost_label
    if cost is None and r.cost_pico is not None:
        label = UNPRICED  # a cost no record can hold is no cost at all, never a wrong one
    return (r.source, r.key, r.kind, r.ts_ms, r.width_s, r.model, int(r.model_fallback), r.input, r.output,
            r.cache_write_5m, r.cache_write_1h, r.cache_read, r.reasoning, r.requests, r.project, r.session,
            cost, label, storable_cost(r.logged_cost_pico), r.msg_id, int(r.sidechain), int(has_speed), r.raw,
            r.token_label)


def price_rows(rows: Iterable[Row], price) -> list[Row]:
    """``rows`` with their cost set by ``price(model, input, output, cache_write_5m,
    cache_write_1h, cache_read, logged_cost_pico) -> (cost_pico, label)`` (the ingest prices
    only the rows it writes, in one place, after the dedupe)."""
    out = []
    for r in rows:
        cost, label = price(r[5], r[7], r[8], r[9], r[10], r[11], r[18])
        stored = storable_cost(cost, r[2])
        if stored is None and cost is not None:
            label = UNPRICED
        out.append(r[:16] + (stored, label) + r[18:])
    return out


def upsert_rows(conn: sqlite3.Connection, rows: Iterable[Row], device: str) -> None:
    """Insert or replace rows made by :func:`record_row`, by ``(source, key)``."""
    tail = (device, now_ms())
    wrote()
    conn.executemany(_UPSERT, [row + tail for row in rows])


def upsert(conn: sqlite3.Connection, records: Iterable[UsageRecord], device: str,
           speed_keys: frozenset[str] = frozenset()) -> int:
    """Insert or replace records by ``(source, key)``. Re-upserting the same record is a no-op
    for every total. A record the store must refuse (see :func:`record_row`) is left out.
    Returns the rows written."""
    rows = [row for row in (record_row(r, r.key in speed_keys) for r in records) if row is not None]
    upsert_rows(conn, rows, device)
    return len(rows)


def delete_keys(conn: sqlite3.Connection, source: str, keys: Iterable[str]) -> None:
    """Delete rows by key; each row that was there is remembered in ``share_deleted``, so the
    share-folder export passes the deletion on to the other devices."""
    stamp = now_ms()
    wrote()
    for k in keys:
        if conn.execute("DELETE FROM ledger WHERE source = ? AND key = ?", (source, k)).rowcount:
            conn.execute("INSERT INTO share_deleted (source, key, deleted_ms, origin) VALUES (?, ?, ?, '') "
                         "ON CONFLICT (source, key) DO UPDATE SET deleted_ms = excluded.deleted_ms, origin = ''",
                         (source, k, stamp))


class KeptEntry(NamedTuple):
    """What the dedupe rules need to know about an already-stored entry."""

    key: str
    msg_id: str
    sidechain: bool
    total: int
    has_speed: bool


def entries_by_msg_id(conn: sqlite3.Connection, source: str, msg_ids: Sequence[str]) -> dict[str, list[KeptEntry]]:
    """Stored entries of ``source`` sharing any of ``msg_ids`` (uses a temp table, any count)."""
    out: dict[str, list[KeptEntry]] = {}
    if not msg_ids:
        return out
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS want_msg (msg_id TEXT PRIMARY KEY)")
    conn.execute("DELETE FROM want_msg")
    conn.executemany("INSERT OR IGNORE INTO want_msg VALUES (?)", ((m,) for m in msg_ids))
    cur = conn.execute(
        "SELECT l.key, l.msg_id, l.sidechain, "
        "l.input + l.output + l.cache_write_5m + l.cache_write_1h + l.cache_read, l.has_speed "
        "FROM want_msg w JOIN ledger l ON l.source = ? AND l.msg_id = w.msg_id", (source,))
    for key, mid, side, total, speed in cur:
        out.setdefault(mid, []).append(KeptEntry(key, mid, bool(side), total, bool(speed)))
    conn.execute("DELETE FROM want_msg")
    return out


# --- file cursors -------------------------------------------------------------------------

class FileCursor(NamedTuple):
    """How much of one log file has been consumed, and the parser state at that point."""

    path: str
    source: str
    dev: int
    ino: int
    size: int
    mtime_ns: int
    offset: int
    prefix_hash: str | None
    state: dict
    records: int = 0
    duplicates: int = 0
    skipped: int = 0


def renew_cursors(conn: sqlite3.Connection, source: str, revision: int) -> bool:
    """Forget ``source``'s file cursors, once, when its reader's ``revision`` is newer than the
    one its files were read with (none recorded: 1), so that its next read takes every file from
    the start. Rows stay: the new reading upserts them by key. Call in a transaction."""
    if read_revision(conn, source) >= revision:
        return False
    conn.execute("DELETE FROM files WHERE source = ?", (source,))
    set_meta(conn, f"reader_revision:{source}", str(revision))
    return True


def cursor_paths(conn: sqlite3.Connection, source: str) -> list[str]:
    return [r[0] for r in conn.execute("SELECT path FROM files WHERE source = ?", (source,))]


def upgrade_cursor_states(conn: sqlite3.Connection, source: str, revision: int,
                          gains: Sequence[tuple[str, dict]]) -> bool:
    """Merge ``(path, what its state gains)`` into ``source``'s cursors, once per ``revision``
    (see :func:`renew_cursors`); the merge keeps whatever another sync wrote meanwhile. Call in
    a transaction."""
    if read_revision(conn, source) >= revision:
        return False
    conn.executemany("UPDATE files SET state = json_patch(CASE WHEN json_valid(state) THEN state ELSE '{}' END, ?) "
                     "WHERE path = ? AND source = ?",
                     [(json.dumps(g, separators=(",", ":")), path, source) for path, g in gains])
    set_meta(conn, f"reader_revision:{source}", str(revision))
    return True


def source_rows(conn: sqlite3.Connection, source: str) -> int:
    """How many ledger rows ``source`` has (any device)."""
    return conn.execute("SELECT COUNT(*) FROM ledger WHERE source = ?", (source,)).fetchone()[0]


def read_revision(conn: sqlite3.Connection, source: str) -> int:
    """The reader revision ``source``'s cursors were made with (see :func:`renew_cursors`)."""
    have = get_meta(conn, f"reader_revision:{source}")
    return int(have) if have is not None and have.isdigit() else 1


def cursor_identities(conn: sqlite3.Connection, source: str) -> dict[str, tuple[int, int, int, int]]:
    """``(dev, ino, size, mtime_ns)`` of every file of ``source`` as last consumed, by path: a
    sync compares these with ``stat`` and reads whole cursors (:func:`cursor_rows_at`) only
    for the files that changed."""
    return {row[0]: row[1:] for row in conn.execute(
        "SELECT path, dev, ino, size, mtime_ns FROM files WHERE source = ?", (source,))}


def cursor_of(row: tuple) -> FileCursor:
    return FileCursor(*row[:8], json.loads(row[8]) if row[8] else {}, *row[9:])


def cursor_rows_at(conn: sqlite3.Connection, paths: Sequence[str]) -> dict[str, tuple]:
    """The cursors of ``paths`` (any number) as raw rows by path: ``(path, source, dev, ino,
    size, mtime_ns, offset, prefix_hash, state, records, duplicates, skipped)``."""
    out: dict[str, tuple] = {}
    for i in range(0, len(paths), 500):
        part = paths[i:i + 500]
        out.update((row[0], row) for row in conn.execute(
            "SELECT path, source, dev, ino, size, mtime_ns, offset, prefix_hash, state, records, duplicates, "
            f"skipped FROM files WHERE path IN ({', '.join('?' * len(part))})", part))
    return out


def put_cursors(conn: sqlite3.Connection, cursors: Iterable[FileCursor]) -> None:
    stamp = now_ms()
    conn.executemany(_PUT_CURSOR, [
        (c.path, c.source, c.dev, c.ino, c.size, c.mtime_ns, c.offset, c.prefix_hash,
         json.dumps(c.state, separators=(",", ":")) if c.state else None, c.records, c.duplicates, c.skipped, stamp)
        for c in cursors])


def put_cursor(conn: sqlite3.Connection, c: FileCursor) -> None:
    put_cursors(conn, (c,))


_PUT_CURSOR = ("INSERT INTO files (path, source, dev, ino, size, mtime_ns, offset, prefix_hash, state, records, "
               "duplicates, skipped, updated_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (path) DO UPDATE SET "
               "source=excluded.source, dev=excluded.dev, ino=excluded.ino, size=excluded.size, "
               "mtime_ns=excluded.mtime_ns, offset=excluded.offset, prefix_hash=excluded.prefix_hash, "
               "state=excluded.state, records=excluded.records, duplicates=excluded.duplicates, "
               "skipped=excluded.skipped, updated_ms=excluded.updated_ms")


# --- source status ------------------------------------------------------------------------

def set_status(conn: sqlite3.Connection, source: str, status: str, message: str | None = None,
               detail: dict | None = None, ok: bool | None = None) -> None:
    """Record a source's status (ok / stale / error / not configured) and when it last synced."""
    stamp = now_ms()
    ok = status == "ok" if ok is None else ok
    conn.execute(
        "INSERT INTO source_status (source, status, message, last_sync_ms, last_ok_ms, detail) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (source) DO UPDATE SET status = excluded.status, "
        "message = excluded.message, last_sync_ms = excluded.last_sync_ms, "
        "last_ok_ms = COALESCE(excluded.last_ok_ms, source_status.last_ok_ms), detail = excluded.detail",
        (source, status, message, stamp, stamp if ok else None, json.dumps(detail) if detail else None))


def get_sync_state(conn: sqlite3.Connection, source: str, name: str) -> str | None:
    row = conn.execute("SELECT value FROM sync_state WHERE source = ? AND name = ?", (source, name)).fetchone()
    return row[0] if row else None


def set_sync_state(conn: sqlite3.Connection, source: str, name: str, value: str) -> None:
    conn.execute("INSERT INTO sync_state (source, name, value) VALUES (?, ?, ?) "
                 "ON CONFLICT (source, name) DO UPDATE SET value = excluded.value", (source, name, value))


def holds_records(conn: sqlite3.Connection) -> bool:
    """Whether the ledger holds any record at all."""
    return conn.execute("SELECT 1 FROM ledger LIMIT 1").fetchone() is not None


def has_message_ids(conn: sqlite3.Connection, source: str) -> bool:
    """Whether ``source`` has any stored entry with a message id (what dedupe hooks compare)."""
    return bool(conn.execute("SELECT EXISTS (SELECT 1 FROM ledger WHERE source = ? AND msg_id IS NOT NULL)",
                             (source,)).fetchone()[0])


def file_totals(conn: sqlite3.Connection, source: str) -> tuple[int, int, int, int]:
    """(tracked files, records, duplicates, skipped lines) that ``source``'s cursors account for."""
    return conn.execute("SELECT COUNT(*), COALESCE(SUM(records), 0), COALESCE(SUM(duplicates), 0), "
                        "COALESCE(SUM(skipped), 0) FROM files WHERE source = ?", (source,)).fetchone()


def session_sums(conn: sqlite3.Connection, source: str) -> dict[str, list[int]]:
    """Per session of ``source``: summed input, output, cache writes, cache reads, reasoning and
    logged cost (picodollars): what running-total readers already counted (core.session_totals)."""
    return {s: [i, o, cw, cr, rs, c] for s, i, o, cw, cr, rs, c in conn.execute(
        "SELECT session, SUM(input), SUM(output), SUM(cache_write_5m + cache_write_1h), SUM(cache_read), "
        "SUM(reasoning), COALESCE(SUM(logged_cost_pico), 0) FROM ledger WHERE source = ? AND session IS NOT NULL "
        "GROUP BY session", (source,))}


def skipped_in_databases(conn: sqlite3.Connection, source: str) -> int:
    """Rows or files of ``source`` skipped at the last read of each of its database locations."""
    return conn.execute("SELECT COALESCE(SUM(CAST(value AS INTEGER)), 0) FROM sync_state "
                        "WHERE source = ? AND name LIKE 'skipped:%'", (source,)).fetchone()[0]


def implausible_lines(conn: sqlite3.Connection, source: str) -> int:
    """Lines of ``source`` quarantined for impossible token counts, as its cursors' states count them."""
    return conn.execute("SELECT COALESCE(SUM(json_extract(state, '$.implausible')), 0) FROM files "
                        "WHERE source = ? AND json_valid(state)", (source,)).fetchone()[0]


def local_price_inputs(conn: sqlite3.Connection) -> list[tuple]:
    """``(id, model, input, output, cache_write_5m, cache_write_1h, cache_read, logged_cost_pico)``
    of every local row: what re-pricing needs."""
    return conn.execute("SELECT id, model, input, output, cache_write_5m, cache_write_1h, cache_read, "
                        "logged_cost_pico FROM ledger WHERE kind = 'local'").fetchall()


def set_costs(conn: sqlite3.Connection, updates: list[tuple]) -> None:
    """``(cost_pico, cost_label, id)`` for each row to re-price."""
    wrote()
    conn.executemany("UPDATE ledger SET cost_pico = ?, cost_label = ? WHERE id = ?", updates)


def statuses(conn: sqlite3.Connection) -> dict[str, tuple]:
    """Source → its stored ``(source, status, message, last_sync_ms, detail)``."""
    return {row[0]: row for row in conn.execute(
        "SELECT source, status, message, last_sync_ms, detail FROM source_status")}


def record_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """Source → rows in the ledger."""
    return dict(conn.execute("SELECT source, COUNT(*) FROM ledger GROUP BY source"))


def put_statuses(conn: sqlite3.Connection, rows: Iterable[tuple]) -> None:
    """``(source, status, message, last_sync_ms, last_ok_ms)`` rows, replacing each source's
    status but not its detail (the demo's statuses, written with its own clock)."""
    conn.executemany(
        "INSERT INTO source_status (source, status, message, last_sync_ms, last_ok_ms, detail) "
        "VALUES (?, ?, ?, ?, ?, NULL) ON CONFLICT (source) DO UPDATE SET status = excluded.status, "
        "message = excluded.message, last_sync_ms = excluded.last_sync_ms, last_ok_ms = excluded.last_ok_ms", rows)


def sync_states(conn: sqlite3.Connection, source: str) -> dict[str, str]:
    """Every ``sync_state`` value of ``source``, by name."""
    return dict(conn.execute("SELECT name, value FROM sync_state WHERE source = ?", (source,)))


def any_status_other_than(conn: sqlite3.Connection, sources: Sequence[str], status: str) -> bool:
    """Whether any of ``sources`` has a stored status other than ``status``."""
    marks = ", ".join("?" * len(sources))
    return bool(sources) and conn.execute(
        f"SELECT EXISTS (SELECT 1 FROM source_status WHERE source IN ({marks}) AND status != ?)",
        (*sources, status)).fetchone()[0] == 1
