"""Writing this device's segments into its own subfolder of the share folder (see
:mod:`tokentui.services.devices`): the rows, deletions and quota samples since its last export,
each segment through a temporary file renamed into place, and the check that no other machine
writes under this device's id.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import tempfile
import time
from pathlib import Path

from tokentui import paths
from tokentui.core import segment
from tokentui.services.share_scan import MAX_FILES, MAX_SEGMENT_BYTES, MAX_UNCOMPRESSED, Problem, ShareResult
from tokentui.store import share
from tokentui.store.db import now_ms, transaction

#: rows per segment (a first export of a big history is several segments)
CHUNK = 100_000
#: a temporary file of ours older than this is a leftover of a killed export
STALE_TEMP_S = 3600
#: test hook: seconds to sleep between writing a segment's temporary file and renaming it
PAUSE_ENV = "TOKENTOP_SHARE_PAUSE_BEFORE_RENAME"


def host_tag() -> str:
    """A hash of this machine's host name, written in each segment: a device folder that gets a
    segment from another host means two machines share one device id (a copied data folder)."""
    try:
        node = os.uname().nodename
    except AttributeError:  # Windows
        node = os.environ.get("COMPUTERNAME", "")
    return hashlib.sha256(node.encode("utf-8", "replace")).hexdigest()[:12]


def _listing(mine: Path):
    """``(entry, parsed segment name or None)`` for the first MAX_FILES entries of this device's
    folder (OSError, FileNotFoundError included, when it cannot be listed)."""
    with os.scandir(mine) as it:
        for n, e in enumerate(it):
            if n > MAX_FILES:
                return
            yield e, segment.parse_name(e.name)


def _check_twin(mine: Path, own: str, seq: int, result: ShareResult) -> None:
    """Read this device's newest segment when it is newer than any this device wrote: written on
    another host, it means another machine uses the same device id."""
    top, path = 0, None
    try:
        for e, sn in _listing(mine):
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
        for e, name in _listing(mine):
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
