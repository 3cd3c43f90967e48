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
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import sqlite3
import stat
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tokentui import paths
from tokentui.core import segment
from tokentui.core.source_status import DeviceContact
from tokentui.store import share
from tokentui.store.db import get_meta, now_ms, set_cache_size, set_meta, transaction

#: rows per segment (a first export of a big history is several segments)
CHUNK = 100_000
#: a segment file larger than this is not read (100k rows compress to ~5 MB)
MAX_SEGMENT_BYTES = 64 << 20
MAX_UNCOMPRESSED = 512 << 20
#: entries looked at per device folder, and device folders, before the walk stops
MAX_FILES = 200_000
MAX_DEVICES = 1_000
#: seconds an import may take before it stops (the rest waits for the next sync)
IMPORT_DEADLINE = 60.0
#: the dashboard exports at most this often (``tokentop sync`` always does)
DASHBOARD_EXPORT_EVERY_S = 300
#: SQLite page cache while importing, KiB
IMPORT_CACHE_KIB = 128 << 10
#: a temporary file of ours older than this is a leftover of a killed export
STALE_TEMP_S = 3600
PROBLEMS = "share_problems"
#: test hook: seconds to sleep between writing a segment's temporary file and renaming it
PAUSE_ENV = "TOKENTOP_SHARE_PAUSE_BEFORE_RENAME"


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


@dataclass
class Problem:
    file: str  # relative to the share folder
    message: str

    def line(self) -> str:
        return f"{self.file}: {self.message}"


@dataclass
class ShareResult:
    exported: int = 0
    segments_written: list[str] = field(default_factory=list)
    imported: int = 0
    segments_read: int = 0
    problems: list[Problem] = field(default_factory=list)
    new_problems: list[Problem] = field(default_factory=list)


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


# --- export -----------------------------------------------------------------------------------

def host_tag() -> str:
    """A hash of this machine's host name, written in each segment: a device folder that gets a
    segment from another host means two machines share one device id (a copied data folder)."""
    try:
        node = os.uname().nodename
    except AttributeError:  # Windows
        node = os.environ.get("COMPUTERNAME", "")
    return hashlib.sha256(node.encode("utf-8", "replace")).hexdigest()[:12]


def _check_twin(mine: Path, own: str, seq: int, result: ShareResult) -> None:
    """Read this device's newest segment when it is newer than any this device wrote: written on
    another host, it means another machine uses the same device id."""
    top, path = 0, None
    try:
        with os.scandir(mine) as it:
            for n, e in enumerate(it):
                if n > MAX_FILES:
                    break
                sn = segment.parse_name(e.name)
                if sn and sn.seq > top:
                    top, path = sn.seq, e.path
    except OSError:
        return
    if top <= seq or path is None:
        return
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_SEGMENT_BYTES + 1)
        seg = segment.decode(data, segment.parse_name(os.path.basename(path)), own, MAX_UNCOMPRESSED)
    except (OSError, segment.BadSegment):
        return
    if seg.host and seg.host != host_tag():
        result.problems.append(Problem(f"{own}/{os.path.basename(path)}", "written by another machine with this "
                                       "device's id (a copied data folder?): the two never see each other's "
                                       "records; delete `device-id` in one machine's data folder and it starts "
                                       "over under a new id"))


def _own_seqs(mine: Path) -> int:
    """The highest segment number in this device's folder (0 if none)."""
    top = 0
    try:
        with os.scandir(mine) as it:
            for n, e in enumerate(it):
                if n > MAX_FILES:
                    break
                name = segment.parse_name(e.name)
                if name:
                    top = max(top, name.seq)
                elif e.name.startswith(".tokentop-") and e.name.endswith(".tmp"):
                    _drop_stale_temp(e)
    except FileNotFoundError:
        return 0
    return top


def _drop_stale_temp(e: os.DirEntry) -> None:
    try:
        if time.time() - e.stat(follow_symlinks=False).st_mtime > STALE_TEMP_S:
            os.unlink(e.path)
    except OSError:
        pass


def export(conn: sqlite3.Connection, folder: Path, own: str, name: str, result: ShareResult,
           min_interval_s: float = 0, chunk: int = CHUNK) -> None:
    """Write this device's rows, deletions and quota samples since its last export as new
    segments (at most ``chunk`` rows each)."""
    st = share.export_state(conn)
    _check_twin(folder / own, own, st.seq, result)
    mark = min(st.row_ms, st.from_ms)
    if mark and not share.has_own_changes(conn, mark) and (folder / own).is_dir():
        return  # nothing new: two index probes and one stat
    if min_interval_s and st.from_ms and now_ms() - st.from_ms < min_interval_s * 1000:
        return
    mine = paths.ensure_dir(folder / own)
    while not _export_chunk(conn, mine, own, name, result, chunk):
        pass


def _export_chunk(conn: sqlite3.Connection, mine: Path, own: str, name: str, result: ShareResult,
                  chunk: int) -> bool:
    """One segment of the export, in one transaction (one exporter at a time on this device:
    the dashboard and a sync); True when everything is out."""
    from tokentui.export.model import project_name

    with transaction(conn):
        st = share.export_state(conn)
        on_disk = _own_seqs(mine)
        if st.seq and not on_disk:  # this device's folder was emptied or deleted: send everything again
            st = share.ExportState(seq=st.seq)
        stamp = now_ms()
        rows = share.own_rows_after(conn, st.row_ms, st.row_id, chunk)
        final = len(rows) < chunk
        deleted = [list(d) for d in share.own_deletions_since(conn, st.from_ms)] if final else []
        quota = share.own_quota_since(conn, st.from_ms, name) if final else []
        # everything written so far is out once the last chunk is: later writes are stamped later
        after = share.ExportState(stamp, 0, stamp, st.seq) if final else \
            share.ExportState(rows[-1][-2], rows[-1][-1], st.from_ms, st.seq)
        if not rows and not deleted and not quota:
            share.set_export_state(conn, after)
            return True
        cols = share.EXPORT_COLUMNS
        pi, si = cols.index("project"), cols.index("session")
        names: dict[str, str] = {}
        out = []
        for r in rows:
            r = r[:-1]  # the row id
            p, sess = r[pi], r[si]
            if p or (sess and ("/" in sess or "\\" in sess)):
                r = list(r)
                if p:  # a name, never the path it lives at
                    r[pi] = names.get(p) or names.setdefault(p, project_name(p))
                if sess and ("/" in sess or "\\" in sess):
                    r[si] = sess.replace("\\", "/").rsplit("/", 1)[-1]
            out.append(r)
        seq = max(st.seq, on_disk) + 1
        data, fname = segment.encode(own, name, seq, stamp, out, deleted, columns=cols, level=1,
                                     quota=quota, host=host_tag())  # level 1: fast, ~10% bigger than 6
        _write_new(mine, fname, data)
        result.segments_written.append(fname)
        result.exported += len(out) + len(deleted) + len(quota)
        share.set_export_state(conn, share.ExportState(after.row_ms, after.row_id, after.from_ms, seq))
    return final


def _write_new(folder: Path, fname: str, data: bytes) -> None:
    """Write ``data`` as ``folder/fname`` through a temporary file renamed into place; never
    replaces an existing file (a name is a checksum: the same name is the same bytes)."""
    fd, tmp = tempfile.mkstemp(prefix=".tokentop-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        pause = os.environ.get(PAUSE_ENV)
        if pause:
            time.sleep(float(pause))
        target = folder / fname
        if target.exists():
            os.unlink(tmp)
            return
        try:
            os.link(tmp, target)  # fails rather than replace
            os.unlink(tmp)
        except (AttributeError, NotImplementedError, PermissionError):
            os.rename(tmp, target)  # Windows: rename never replaces either
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    paths._sync_folder(folder)


# --- import -----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Candidate:
    device: str
    path: str
    rel: str
    name: segment.SegmentName


def _candidates(folder: Path, own: str, done: set, result: ShareResult) -> list[_Candidate]:
    out = []
    try:
        with os.scandir(folder) as it:
            devices = [e for n, e in zip(range(MAX_DEVICES + 1), it)]
    except OSError as exc:
        result.problems.append(Problem(str(folder), f"cannot list the share folder: {exc.strerror or exc}"))
        return out
    if len(devices) > MAX_DEVICES:
        result.problems.append(Problem(".", f"more than {MAX_DEVICES:,} entries: only the first were read"))
    for d in devices:
        if d.name == own or not segment.DEVICE_ID.match(d.name):
            continue
        try:
            if not d.is_dir(follow_symlinks=False):
                continue
            with os.scandir(d.path) as it:
                for n, e in enumerate(it):
                    if n >= MAX_FILES:
                        result.problems.append(Problem(d.name, f"more than {MAX_FILES:,} files: the rest were "
                                                       "not looked at"))
                        break
                    rel = f"{d.name}/{e.name}"
                    sn = segment.parse_name(e.name)
                    if sn is None:
                        if segment.TEMP.search(e.name):
                            continue  # still being written or copied
                        if segment.CONFLICT.search(e.name):
                            result.problems.append(Problem(rel, "a sync engine's conflict copy: ignored (segments "
                                                           "never change, the original holds the same records)"))
                        continue
                    if (d.name, sn.seq, sn.digest) in done:
                        continue
                    if not e.is_file(follow_symlinks=False):  # a link, a FIFO, a folder: never opened
                        result.problems.append(Problem(rel, "not a regular file: ignored"))
                        continue
                    out.append(_Candidate(d.name, e.path, rel, sn))
        except OSError as exc:
            result.problems.append(Problem(d.name, f"cannot list this device's folder: {exc.strerror or exc}"))
    out.sort(key=lambda c: (c.device, c.name.seq))
    return out


def _read(c: _Candidate) -> bytes:
    # never follow a link or wait on a FIFO put there in place of the file since it was listed
    fd = os.open(c.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
                 | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise segment.BadSegment("not a regular file: ignored")
        if st.st_size > MAX_SEGMENT_BYTES:
            raise segment.BadSegment(f"too large ({st.st_size / 2**20:,.0f} MB; at most "
                                     f"{MAX_SEGMENT_BYTES >> 20} MB is read)")
        return fh.read(MAX_SEGMENT_BYTES + 1)


def import_all(conn: sqlite3.Connection, folder: Path, own: str, result: ShareResult,
               deadline_s: float = IMPORT_DEADLINE) -> None:
    """Import every other device's segment not imported yet (oldest first per device)."""
    done = share.imported_segments(conn)
    cands = _candidates(folder, own, done, result)
    if not cands:
        return
    seen_seqs: dict[str, set[int]] = {}
    end = time.monotonic() + deadline_s
    before = set_cache_size(conn, -IMPORT_CACHE_KIB)  # a big import touches the whole key index
    try:
        _import(conn, cands, seen_seqs, end, deadline_s, result)
    finally:
        set_cache_size(conn, before)


def _import(conn: sqlite3.Connection, cands: list[_Candidate], seen_seqs: dict[str, set[int]], end: float,
            deadline_s: float, result: ShareResult) -> None:
    for c in cands:
        if time.monotonic() > end:
            result.problems.append(Problem(".", f"import stopped after {deadline_s:g} s; the remaining segments "
                                           "are read at the next sync"))
            break
        try:
            data = _read(c)
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
