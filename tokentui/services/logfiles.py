"""One log file's part of an ingest: which files changed (cursor vs ``stat``), reading their
new complete lines, and parsing them into ledger rows.

Parsing is a pure function of a file's new bytes and its cursor, so it runs the same in the
ingest's process or in a worker process (:mod:`tokentui.services.parse_pool`); rows come back
unpriced and the writer prices those it keeps.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from typing import Callable, NamedTuple, Sequence

from tokentui.core.records import implausible
from tokentui.sources import registry
from tokentui.sources.common import LocalFile, loads
from tokentui.sources.readers import Combined, JsonlLog, ParseContext
from tokentui.store import ledger

CHUNK = 8 << 20  # bytes read at a time: never a whole big file in memory
PREFIX = 4096  # bytes hashed to notice a file rewritten in place


class Job:
    """One changed file to read (a plain class, not a dataclass: every sync imports it, and a
    dataclass costs ~0.5 ms to define)."""

    __slots__ = ("file", "st", "start", "cursor", "fresh")

    def __init__(self, file: LocalFile, st: os.stat_result, start: int, cursor: ledger.FileCursor | None,
                 fresh: bool) -> None:
        self.file = file
        self.st = st
        self.start = start
        self.cursor = cursor  # as read before parsing (for the concurrency check)
        self.fresh = fresh  # rescanning from 0


def prefix_hash(fh, length: int) -> str:
    fh.seek(0)
    data = fh.read(length)
    return f"{len(data)}:{hashlib.sha1(data).hexdigest()}"


def plan(conn: sqlite3.Connection, source: str, files: Sequence[LocalFile]) -> list[Job]:
    """Jobs for the files of ``source`` that changed since their cursor (a new file has none)."""
    known = ledger.cursor_identities(conn, source)
    changed = []
    for f in files:
        try:
            st = os.stat(f.path)
        except OSError:
            continue  # vanished since discovery
        if known.get(f.path) != (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns):
            changed.append((f, st))
    rows = ledger.cursor_rows_at(conn, [f.path for f, _ in changed if f.path in known]) if changed else {}
    jobs = []
    for f, st in changed:
        row = rows.get(f.path)
        cur = ledger.cursor_of(row) if row else None
        fresh = (cur is None or (cur.dev, cur.ino) != (st.st_dev, st.st_ino) or st.st_size < cur.offset)
        if not fresh and cur.prefix_hash:
            try:
                with open(f.path, "rb") as fh:
                    length = int(cur.prefix_hash.split(":", 1)[0])
                    fresh = prefix_hash(fh, length) != cur.prefix_hash
            except (OSError, ValueError):
                fresh = True
        jobs.append(Job(f, st, 0 if fresh else cur.offset, cur, fresh))
    return jobs


def open_job(job: Job, errors: list[str]):
    """The job's file opened for reading, or None (noted in ``errors``) when it cannot be:
    such a file gets no cursor, so it is read in full once it can be (permission restored)."""
    try:
        return open(job.file.path, "rb")
    except FileNotFoundError:
        return None  # deleted since it was listed: nothing to read, nothing to report
    except OSError as exc:
        errors.append(f"{job.file.path}: {exc.strerror or exc}")
        return None


def read_lines(fh, job: Job, errors: list[str], on_bytes: Callable[[int], None], head: bytearray | None = None):
    """Yield ``(lines, first_line_offset, end_offset)`` chunks of complete lines from ``job.start``.

    A trailing fragment without a newline is consumed only if it is a complete JSON value
    (a line still being written never parses). Reading from offset 0, the first PREFIX bytes
    are copied to ``head`` (for the cursor's prefix hash, without reading them again)."""
    if job.start != 0:
        head = None
    with fh:
        fh.seek(job.start)
        offset, rest = job.start, b""
        remaining = job.st.st_size - job.start  # read what was there at stat time
        while remaining > 0:
            try:
                chunk = fh.read(min(CHUNK, remaining))
            except OSError as exc:  # an I/O error mid-file: keep what was read, try the rest next time
                errors.append(f"{job.file.path}: {exc.strerror or exc}")
                return
            if not chunk:
                break
            remaining -= len(chunk)
            on_bytes(len(chunk))
            if head is not None and len(head) < PREFIX:
                head += chunk[:PREFIX - len(head)]
            buf = rest + chunk if rest else chunk
            cut = buf.rfind(b"\n")
            if cut < 0:
                rest = buf
                continue
            lines = buf.split(b"\n")  # not buf[:cut].split: one copy of the bytes fewer
            rest = lines.pop()  # what follows the last newline: the start of a line not yet complete
            yield lines, offset, offset + cut + 1
            offset += cut + 1
        if rest.strip():
            try:
                loads(rest)
            except ValueError:
                return
            yield [rest], offset, offset + len(rest)


class Parsed(NamedTuple):
    """What parsing one file's new bytes gave: plain data, cheap to send between processes."""

    end: int  # offset consumed up to
    items: list  # ledger rows, or dedupe items ending with the row (a reader with a Dedupe hook)
    skipped: int
    duplicates: int
    state: dict  # parser state to resume from (e.g. Codex's running totals)
    prefix: str | None  # hash of the file's first bytes, for the cursor
    implausible: int = 0  # of ``skipped``: lines with more tokens than a request can have
    quotas: tuple | list = ()  # plan-limit observations the lines carried (Codex rate_limits)


class Unpriced:
    """The parsers' pricer during an ingest: rows are priced by the writer, after the dedupe
    (:meth:`Ingestor._price`), so workers never load the price data (~150 ms each)."""

    def cost_pico(self, *_args) -> None:
        return None


def prefix_of(path: str, end: int, head: bytearray | None = None) -> str | None:
    """The cursor's prefix hash of ``path`` consumed up to ``end``: from ``head`` (the bytes
    read from offset 0, see :func:`read_lines`) when it holds them, else read again."""
    n = min(PREFIX, end)
    if head is not None and len(head) >= n:
        return f"{n}:{hashlib.sha1(head[:n]).hexdigest()}"
    try:
        with open(path, "rb") as fh:
            return prefix_hash(fh, n)
    except OSError:
        return None


def parse_jsonl(job: Job, ctx: ParseContext, on_bytes) -> tuple[Parsed | None, list[str]]:
    """Parse the new complete lines of one append-only JSONL file with its source's reader
    (:class:`~tokentui.sources.readers.JsonlLog`): plain data, the same in a worker process."""
    errors: list[str] = []
    fh = open_job(job, errors)
    if fh is None:
        return None, errors
    reader = registry.reader(job.file.source)
    if isinstance(reader, Combined):  # the part that reads log files
        reader = next(p for p in reader.parts if isinstance(p, JsonlLog))
    head, end = bytearray(), [job.start]

    def chunks():
        for lines, start, stop in read_lines(fh, job, errors, on_bytes, head):
            end[0] = stop
            yield lines, start

    state = None if job.fresh or job.cursor is None else job.cursor.state
    quarantined = [0]

    def row_of(r, has_speed: bool = False):
        if implausible(r):  # quarantined: not stored, counted apart (the parser counts it skipped too)
            quarantined[0] += 1
            return None
        return ledger.record_row(r, has_speed)

    got = reader.parse(chunks(), job.file, state, ctx, row_of, job.st.st_mtime_ns // 10**6)
    return (Parsed(end[0], got.items, got.skipped, got.duplicates, got.state,
                   prefix_of(job.file.path, end[0], head), quarantined[0], got.quotas), errors)
