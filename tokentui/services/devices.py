"""All your machines in one history, through a shared folder (``[share] folder``).

Each device has a stable id (``device-id`` in its data dir) and writes only its own subfolder,
``<folder>/<device id>/``: each sync appends this device's new ledger rows and deletions since
its last export as one or more immutable segments (:mod:`tokentui.core.segment`), each written
to a temporary name and renamed into place, so no other device ever sees half of one. Each sync
then reads the other devices' segments it has not imported yet, verifies them (checksum in the
name, record count, every field's type) and upserts them by natural key
(:mod:`tokentui.store.share`), so importing twice, or the same record from two devices, never
double counts.

What sync engines do is tolerated: a file still being written or copied (its checksum does not
hold yet: skipped and retried next sync), temporary files, conflict copies (ignored, named as a
warning), segments arriving out of order or late (later writes win by their stamp, whatever the
order), a device folder deleted (what was imported stays). A bad segment is named with its file
and never stops the rest. The walk is bounded: a deadline, a file-count cap per device folder
and a size cap per segment.

Writing this device's segments is in :mod:`~tokentui.services.share_export`; walking the folder
and reading a segment, and what a sync found, in :mod:`~tokentui.services.share_scan`.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from tokentui import paths
from tokentui.core import segment
from tokentui.core.source_status import DeviceContact
from tokentui.services.share_export import export
from tokentui.services.share_scan import (MAX_UNCOMPRESSED, Candidate, Problem, ShareResult, candidates,
                                          read_candidate)
from tokentui.store import share
from tokentui.store.db import get_meta, now_ms, set_cache_size, set_meta, transaction

#: seconds an import may take before it stops (the rest waits for the next sync)
IMPORT_DEADLINE = 60.0
#: the dashboard exports at most this often (``tokentop sync`` always does)
DASHBOARD_EXPORT_EVERY_S = 300
#: SQLite page cache while importing, KiB
IMPORT_CACHE_KIB = 128 << 10
PROBLEMS = "share_problems"


def device_id(data_dir: Path | None = None) -> str:
    """This device's stable id, created on first use (``device-id`` in the data dir)."""
    path = (data_dir or paths.data_dir()) / "device-id"
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        text = ""
    if segment.DEVICE_ID.match(text):
        return text
    new = secrets.token_hex(16)
    paths.write_private_text(path, new + "\n")
    return new


def share_folder(settings) -> Path | None:
    folder = getattr(settings, "share_folder", None)
    return Path(folder).expanduser() if folder else None


def sync_share(conn: sqlite3.Connection, settings, *, dashboard: bool = False,
               deadline_s: float = IMPORT_DEADLINE) -> ShareResult | None:
    """Export this device's news and import everyone else's; None when no folder is set (then
    nothing at all is done: no file is touched, no query is run)."""
    folder = share_folder(settings)
    if folder is None:
        return None
    result = ShareResult()
    if not folder.is_dir():
        result.problems.append(Problem(str(folder), "the share folder does not exist (or is not a folder): "
                                       "create it, or set another with `tokentop devices folder PATH`"))
    else:
        own = device_id()
        try:
            export(conn, folder, own, settings.device, result,
                   min_interval_s=DASHBOARD_EXPORT_EVERY_S if dashboard else 0)
        except OSError as exc:
            result.problems.append(Problem(own, f"could not write this device's segment: {exc.strerror or exc}"))
        import_all(conn, folder, own, result, deadline_s=deadline_s)
    _remember_problems(conn, result)
    return result


def _remember_problems(conn: sqlite3.Connection, result: ShareResult) -> None:
    before = {tuple(p) for p in _load_problems(conn)}
    result.new_problems = [p for p in result.problems if (p.file, p.message) not in before]
    now = [[p.file, p.message] for p in result.problems]
    if [list(p) for p in sorted(before)] != sorted(now):
        with transaction(conn):
            set_meta(conn, PROBLEMS, json.dumps(now))


def _load_problems(conn: sqlite3.Connection) -> list[list[str]]:
    try:
        data = json.loads(get_meta(conn, PROBLEMS) or "[]")
    except ValueError:
        return []
    return [p for p in data if isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p)]


def last_problems(conn: sqlite3.Connection) -> list[Problem]:
    """The problems the last sync found in the share folder."""
    return [Problem(*p) for p in _load_problems(conn)]


# --- import -----------------------------------------------------------------------------------

def import_all(conn: sqlite3.Connection, folder: Path, own: str, result: ShareResult,
               deadline_s: float = IMPORT_DEADLINE) -> None:
    """Import every other device's segment not imported yet (oldest first per device)."""
    done = share.imported_segments(conn)
    cands = candidates(folder, own, done, result)
    if not cands:
        return
    seen_seqs: dict[str, set[int]] = {}
    end = time.monotonic() + deadline_s
    before = set_cache_size(conn, -IMPORT_CACHE_KIB)  # a big import touches the whole key index
    try:
        _import(conn, cands, seen_seqs, end, deadline_s, result)
    finally:
        set_cache_size(conn, before)


def _import(conn: sqlite3.Connection, cands: list[Candidate], seen_seqs: dict[str, set[int]], end: float,
            deadline_s: float, result: ShareResult) -> None:
    for c in cands:
        if time.monotonic() > end:
            result.problems.append(Problem(".", f"import stopped after {deadline_s:g} s; the remaining segments "
                                           "are read at the next sync"))
            break
        try:
            data = read_candidate(c)
            seg = segment.decode(data, c.name, c.device, MAX_UNCOMPRESSED)
        except segment.BadSegment as exc:
            result.problems.append(Problem(c.rel, str(exc)))
            continue
        except OSError as exc:
            result.problems.append(Problem(c.rel, f"cannot be read: {exc.strerror or exc}"))
            continue
        if c.device not in seen_seqs:
            seen_seqs[c.device] = share.seqs_of(conn, c.device)
        if seg.seq in seen_seqs[c.device]:
            result.problems.append(Problem(c.rel, f"segment {seg.seq} was written twice (another file has the "
                                           "same number): both read, each record counted once"))
        with transaction(conn):
            share.import_rows(conn, seg.columns, seg.iter_rows(), c.device, seg.deleted)
            share.import_quota(conn, seg.quota)
            share.mark_imported(conn, c.device, seg.name, seg.seq, c.name.digest, c.rel, seg.count, seg.created_ms)
        seen_seqs[c.device].add(seg.seq)
        result.imported += seg.count
        result.segments_read += 1


# --- the device list --------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class DeviceRow:
    device_id: str
    name: str
    this_device: bool
    last_export_ms: int | None  # when its newest segment we hold was written
    records: int  # ledger rows carrying its name
    last_record_ms: int | None
    segments: int
    missing: tuple[int, ...]  # segment numbers not arrived yet (below its newest)
    folder_present: bool | None

    @property
    def lag_ms(self) -> int | None:
        return None if self.last_export_ms is None else max(0, now_ms() - self.last_export_ms)

    def as_json(self) -> dict:
        return {"id": self.device_id, "name": self.name, "thisDevice": self.this_device,
                "lastExportMs": self.last_export_ms, "lagMs": self.lag_ms, "records": self.records,
                "lastRecordMs": self.last_record_ms, "segments": self.segments, "missingSegments": list(self.missing),
                "folderPresent": self.folder_present}


def devices(conn: sqlite3.Connection, settings) -> list[DeviceRow]:
    """This device and every device seen in the share folder (or in the history)."""
    folder = share_folder(settings)
    own = device_id()
    counts = share.rows_by_device(conn)
    st = share.export_state(conn)
    mine_n, mine_last = counts.get(settings.device, (0, None))
    out = [DeviceRow(own, settings.device, True, st.from_ms or None, mine_n, mine_last, st.seq, (),
                     (folder / own).is_dir() if folder else None)]
    named = {settings.device}
    for d in share.known_devices(conn):
        n, last = counts.get(d.name, (0, None))
        have = share.seqs_of(conn, d.device_id)
        missing = tuple(sorted(set(range(1, d.last_seq + 1)) - have))[:20]
        out.append(DeviceRow(d.device_id, d.name, False, d.last_created_ms, n, last, len(have), missing,
                             (folder / d.device_id).is_dir() if folder else None))
        named.add(d.name)
    for name, (n, last) in sorted(counts.items()):  # records under an older name of a device
        if name not in named:
            out.append(DeviceRow("", name, False, None, n, last, 0, (), None))
    return out


def contacts(conn: sqlite3.Connection, settings) -> tuple[DeviceContact, ...]:
    """The dashboard's device lines: each device with its last contact (empty without a
    share folder)."""
    if share_folder(settings) is None:
        return ()
    return tuple(DeviceContact(r.name, r.this_device, r.last_export_ms, r.records, len(r.missing))
                 for r in devices(conn, settings) if r.device_id)
