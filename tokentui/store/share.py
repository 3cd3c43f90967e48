"""The store side of the share-folder device merge (:mod:`tokentui.services.devices`).

How another device's record is keyed: exactly as its own device keyed it, by the ledger's
natural key ``(source, key)``. Those keys are global (a Claude message id, Codex
``timestamp|model|counts``, an API ``endpoint|bucket|dimensions``), so the same record from
two devices, or imported twice, is one row: the same API bucket polled on two machines counts
once. When two devices hold different values for one key (an API day polled at 10:00 on one
machine and at 15:00 on another), the later write wins (``updated_ms``, the writing device's
clock), so every device ends with the same row. ``origin`` says who wrote a row last: ``''``
this machine (its ingest or poll; the export sends exactly those), else the device id of the
segment that set it. ``device`` (the name) stays each record's provenance.

Deletions (a dedupe that replaced a copy, a provider day superseded by finer data) are kept in
``share_deleted`` and travel too: a deletion applies to a row written before it, never to a
newer one, and a row older than a known deletion is never brought back.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from typing import Iterable, Sequence

from tokentui.store.db import get_meta, now_ms, set_meta
from tokentui.store.ledger import wrote

#: meta keys of this device's export: rows after ``(updated_ms, id)`` = (ROW_MS, ROW_ID) are not
#: exported yet, nor deletions and quota samples at or after WATERMARK; LAST_SEQ is the last
#: segment number written. A big export goes out in chunks, one transaction each, so no other
#: writer waits long; the cursor says where a killed one resumes.
WATERMARK = "share_export_from_ms"
ROW_MS, ROW_ID = "share_export_row_ms", "share_export_row_id"
LAST_SEQ = "share_export_seq"

#: what an exported row holds, as :data:`tokentui.core.segment.COLUMNS` names them
_EXPORT_SELECT = ("source, key, kind, ts_ms, width_s, model, model_fallback, input, output, cache_write_5m, "
                  "cache_write_1h, cache_read, reasoning, requests, project, session, cost_pico, cost_label, "
                  "logged_cost_pico, msg_id, sidechain, has_speed, token_label, device, updated_ms")
_EXPORT_COLS = tuple(c.strip() for c in _EXPORT_SELECT.split(","))


@dataclass(frozen=True, slots=True)
class ExportState:
    row_ms: int = 0
    row_id: int = 0
    from_ms: int = 0  # deletions and quota samples at or after it are not exported yet
    seq: int = 0


def export_state(conn: sqlite3.Connection) -> ExportState:
    """Where this device's export stands (all zero before the first one)."""
    vals = [get_meta(conn, k) for k in (ROW_MS, ROW_ID, WATERMARK, LAST_SEQ)]
    return ExportState(*(int(v) if v and v.isdigit() else 0 for v in vals))


def set_export_state(conn: sqlite3.Connection, st: ExportState) -> None:
    for k, v in ((ROW_MS, st.row_ms), (ROW_ID, st.row_id), (WATERMARK, st.from_ms), (LAST_SEQ, st.seq)):
        set_meta(conn, k, str(v))


def has_own_changes(conn: sqlite3.Connection, since_ms: int) -> bool:
    """Whether anything this machine wrote (a row or a deletion) is at or after ``since_ms``:
    one index probe each, so a sync with nothing new stays cheap."""
    if conn.execute("SELECT EXISTS (SELECT 1 FROM ledger WHERE origin = '' AND updated_ms >= ?) "
                    "OR EXISTS (SELECT 1 FROM share_deleted WHERE origin = '' AND deleted_ms >= ?)",
                    (since_ms, since_ms)).fetchone()[0]:
        return True
    return has_quota(conn) and bool(conn.execute(
        "SELECT EXISTS (SELECT 1 FROM quota_sample WHERE last_seen_ms >= ?)", (since_ms,)).fetchone()[0])


def own_rows_since(conn: sqlite3.Connection, since_ms: int) -> list[tuple]:
    """Rows this machine wrote at or after ``since_ms``, columns as :data:`EXPORT_COLUMNS`."""
    return conn.execute(f"SELECT {_EXPORT_SELECT} FROM ledger WHERE origin = '' AND updated_ms >= ? ORDER BY id",
                        (since_ms,)).fetchall()


def own_rows_after(conn: sqlite3.Connection, row_ms: int, row_id: int, limit: int) -> list[tuple]:
    """Up to ``limit`` rows this machine wrote after ``(updated_ms, id)`` = ``(row_ms, row_id)``,
    in that order, columns as :data:`EXPORT_COLUMNS` plus the row id last."""
    return conn.execute(f"SELECT {_EXPORT_SELECT}, id FROM ledger WHERE origin = '' AND "
                        "(updated_ms > ? OR (updated_ms = ? AND id > ?)) ORDER BY updated_ms, id LIMIT ?",
                        (row_ms, row_ms, row_id, limit)).fetchall()


EXPORT_COLUMNS = _EXPORT_COLS


def own_deletions_since(conn: sqlite3.Connection, since_ms: int) -> list[tuple]:
    return conn.execute("SELECT source, key, deleted_ms FROM share_deleted WHERE origin = '' AND deleted_ms >= ?",
                        (since_ms,)).fetchall()


def _upsert_sql(columns: Sequence[str], origin: str) -> str:
    if not re.fullmatch(r"[0-9a-f]{32}", origin):  # a device id (a folder name that matched it)
        raise ValueError(f"not a device id: {origin!r}")
    cols = [*columns, "origin"]
    sets = ", ".join(f"{c} = excluded.{c}" for c in cols if c not in ("source", "key"))
    return (f"INSERT INTO ledger ({', '.join(cols)}) VALUES ({', '.join('?' * len(columns))}, '{origin}') "
            f"ON CONFLICT (source, key) DO UPDATE SET {sets} WHERE excluded.updated_ms > ledger.updated_ms")


def import_rows(conn: sqlite3.Connection, columns: Sequence[str], rows: Iterable[Sequence], origin: str,
                deleted: Sequence[Sequence]) -> int:
    """Upsert another device's rows by natural key (the later write wins; a row older than a
    known deletion of its key stays deleted), then apply its deletions. Call inside a
    transaction. Returns the rows inserted or changed."""
    cols = list(columns)
    si, ki, ui = cols.index("source"), cols.index("key"), cols.index("updated_ms")
    gone = dict(((s, k), t) for s, k, t in conn.execute("SELECT source, key, deleted_ms FROM share_deleted"))
    if gone:
        rows = (r for r in rows if gone.get((r[si], r[ki]), -1) < r[ui])
    wrote()
    cur = conn.executemany(_upsert_sql(cols, origin), rows)  # one pass, no copy of the rows
    for source, key, stamp in deleted:
        conn.execute("DELETE FROM ledger WHERE source = ? AND key = ? AND updated_ms <= ?", (source, key, stamp))
        conn.execute("INSERT INTO share_deleted (source, key, deleted_ms, origin) VALUES (?, ?, ?, ?) "
                     "ON CONFLICT (source, key) DO UPDATE SET deleted_ms = excluded.deleted_ms, "
                     "origin = excluded.origin WHERE excluded.deleted_ms > share_deleted.deleted_ms",
                     (source, key, stamp, origin))
    return max(cur.rowcount, 0)


# --- plan-quota samples (spec/quotas.md §3.2), when the store has the table ------------------

_QUOTA_COLS = ("source", "provider", "account", "lim", "win", "resets_at", "session", "used_bp", "window_s",
               "raw_resets_at", "reset_src", "plan", "first_seen_ms", "last_seen_ms", "device")
_QUOTA_UPSERT = (
    f"INSERT INTO quota_sample ({', '.join(_QUOTA_COLS)}) VALUES ({', '.join('?' * len(_QUOTA_COLS))}) "
    "ON CONFLICT (source, account, lim, win, resets_at, session, used_bp) DO UPDATE SET "
    "first_seen_ms = MIN(first_seen_ms, excluded.first_seen_ms), "
    "last_seen_ms = MAX(last_seen_ms, excluded.last_seen_ms), "
    "raw_resets_at = CASE WHEN excluded.last_seen_ms >= last_seen_ms THEN excluded.raw_resets_at "
    "ELSE raw_resets_at END")


def has_quota(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' "
                        "AND name = 'quota_sample')").fetchone()[0] == 1


def own_quota_since(conn: sqlite3.Connection, since_ms: int, device: str) -> list[tuple]:
    """This device's quota samples seen at or after ``since_ms`` (none without the table)."""
    if not has_quota(conn):
        return []
    return conn.execute(f"SELECT {', '.join(_QUOTA_COLS)} FROM quota_sample WHERE device = ? AND last_seen_ms >= ?",
                        (device, since_ms)).fetchall()


def import_quota(conn: sqlite3.Connection, rows: Sequence[Sequence]) -> int:
    """Merge another device's samples by the samples' natural key (first/last seen widen; the
    same reading seen on two machines is one row). Without the table they are left out."""
    if not rows or not has_quota(conn):
        return 0
    conn.executemany(_QUOTA_UPSERT, rows)
    return len(rows)


# --- what has been imported -------------------------------------------------------------------

def imported_segments(conn: sqlite3.Connection) -> set[tuple[str, int, str]]:
    """``(device id, seq, digest)`` of every segment already imported."""
    return set(conn.execute("SELECT device_id, seq, digest FROM share_segment"))


def seqs_of(conn: sqlite3.Connection, device_id: str) -> set[int]:
    return {r[0] for r in conn.execute("SELECT seq FROM share_segment WHERE device_id = ?", (device_id,))}


def mark_imported(conn: sqlite3.Connection, device_id: str, name: str, seq: int, digest: str, file: str,
                  records: int, created_ms: int) -> None:
    stamp = now_ms()
    conn.execute("INSERT OR IGNORE INTO share_segment (device_id, seq, digest, file, records, imported_ms) "
                 "VALUES (?, ?, ?, ?, ?, ?)", (device_id, seq, digest, file, records, stamp))
    conn.execute(
        "INSERT INTO share_device (device_id, name, last_seq, last_created_ms, segments, records, last_import_ms) "
        "VALUES (?, ?, ?, ?, 1, ?, ?) ON CONFLICT (device_id) DO UPDATE SET "
        "name = CASE WHEN excluded.last_created_ms >= COALESCE(share_device.last_created_ms, 0) "
        "THEN excluded.name ELSE share_device.name END, "
        "last_seq = MAX(share_device.last_seq, excluded.last_seq), "
        "last_created_ms = MAX(COALESCE(share_device.last_created_ms, 0), excluded.last_created_ms), "
        "segments = share_device.segments + 1, records = share_device.records + excluded.records, "
        "last_import_ms = excluded.last_import_ms",
        (device_id, name, seq, created_ms, records, stamp))


@dataclass(frozen=True, slots=True)
class KnownDevice:
    device_id: str
    name: str
    last_seq: int
    last_created_ms: int | None
    segments: int
    records: int
    last_import_ms: int | None


def known_devices(conn: sqlite3.Connection) -> list[KnownDevice]:
    return [KnownDevice(*r) for r in conn.execute(
        "SELECT device_id, name, last_seq, last_created_ms, segments, records, last_import_ms FROM share_device "
        "ORDER BY name, device_id")]


def rows_by_device(conn: sqlite3.Connection) -> dict[str, tuple[int, int | None]]:
    """Device name → (rows in the ledger, newest record's ``ts_ms``)."""
    return {r[0]: (r[1], r[2]) for r in conn.execute("SELECT device, COUNT(*), MAX(ts_ms) FROM ledger GROUP BY device")}
