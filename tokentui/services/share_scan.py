"""Reading the share folder (see :mod:`tokentui.services.devices`): the bounds of the walk,
what one sync found (:class:`ShareResult`, :class:`Problem`), the other devices' segments not
imported yet (:func:`candidates`) and reading one of them safely (:func:`read_candidate`).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from tokentui.core import segment

#: a segment file larger than this is not read (100k rows compress to ~5 MB)
MAX_SEGMENT_BYTES = 64 << 20
MAX_UNCOMPRESSED = 512 << 20
#: entries looked at per device folder, and device folders, before the walk stops
MAX_FILES = 200_000
MAX_DEVICES = 1_000


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


# --- the walk ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Candidate:
    device: str
    path: str
    rel: str
    name: segment.SegmentName


def candidates(folder: Path, own: str, done: set, result: ShareResult) -> list[Candidate]:
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
                    out.append(Candidate(d.name, e.path, rel, sn))
        except OSError as exc:
            result.problems.append(Problem(d.name, f"cannot list this device's folder: {exc.strerror or exc}"))
    out.sort(key=lambda c: (c.device, c.name.seq))
    return out


def read_candidate(c: Candidate) -> bytes:
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
