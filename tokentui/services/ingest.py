"""Incremental ingest of local agent logs into the history store.

Per file the store remembers identity (device, inode), size, mtime, the byte offset consumed,
a hash of the first bytes and the parser state. A sync stats every file, skips unchanged ones,
reads only appended bytes up to the last complete line, and rescans a file that shrank, was
replaced or was rewritten. Records and cursors commit in one transaction; before committing,
each cursor is re-read, and a file another process consumed meanwhile is left to that process,
so concurrent syncs never double count.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Sequence

from tokentui.core.records import ESTIMATED, UNPRICED
from tokentui.sources import claude_code, codex, gemini_cli, opencode
from tokentui.sources.common import LocalFile, loads
from tokentui.store import ledger
from tokentui.store.db import get_meta, set_meta, transaction

CHUNK = 8 << 20  # bytes read at a time: never a whole big file in memory
BATCH = 32 << 20  # bytes of log per commit
PREFIX = 4096  # bytes hashed to notice a file rewritten in place

Progress = Callable[[int, int], None]


@dataclass
class SourceResult:
    source: str
    files: int = 0
    files_read: int = 0
    bytes_read: int = 0
    records: int = 0
    duplicates: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)
    problem: str | None = None

    @property
    def status(self) -> str:
        if self.problem:
            return "error"
        if not self.files:
            return "not configured"
        return "ok"


@dataclass
class _Job:
    file: LocalFile
    st: os.stat_result
    start: int
    cursor: ledger.FileCursor | None  # as read before parsing (for the concurrency check)
    fresh: bool  # rescanning from 0


def _prefix_hash(fh, length: int) -> str:
    fh.seek(0)
    data = fh.read(length)
    return f"{len(data)}:{hashlib.sha1(data).hexdigest()}"


def _plan(files: Sequence[LocalFile], cursors: dict[str, ledger.FileCursor], result: SourceResult) -> list[_Job]:
    jobs = []
    for f in files:
        try:
            st = os.stat(f.path)
        except OSError:
            continue  # vanished since discovery
        cur = cursors.get(f.path)
        if cur and (cur.dev, cur.ino, cur.size, cur.mtime_ns) == (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns):
            continue
        fresh = (cur is None or (cur.dev, cur.ino) != (st.st_dev, st.st_ino) or st.st_size < cur.offset)
        if not fresh and cur.prefix_hash:
            try:
                with open(f.path, "rb") as fh:
                    length = int(cur.prefix_hash.split(":", 1)[0])
                    fresh = _prefix_hash(fh, length) != cur.prefix_hash
            except (OSError, ValueError):
                fresh = True
        jobs.append(_Job(f, st, 0 if fresh else cur.offset, cur, fresh))
    return jobs


def _open(job: _Job, result: SourceResult):
    """The job's file opened for reading, or None (noted in ``result``) when it cannot be:
    such a file gets no cursor, so it is read in full once it can be (permission restored)."""
    try:
        return open(job.file.path, "rb")
    except FileNotFoundError:
        return None  # deleted since it was listed: nothing to read, nothing to report
    except OSError as exc:
        result.errors.append(f"{job.file.path}: {exc.strerror or exc}")
        return None


def _read_lines(fh, job: _Job, result: SourceResult, on_bytes: Callable[[int], None]):
    """Yield ``(lines, first_line_offset, end_offset)`` chunks of complete lines from ``job.start``.

    A trailing fragment without a newline is consumed only if it is a complete JSON value
    (a line still being written never parses)."""
    with fh:
        fh.seek(job.start)
        offset, rest = job.start, b""
        remaining = job.st.st_size - job.start  # read what was there at stat time
        while remaining > 0:
            try:
                chunk = fh.read(min(CHUNK, remaining))
            except OSError as exc:  # an I/O error mid-file: keep what was read, try the rest next time
                result.errors.append(f"{job.file.path}: {exc.strerror or exc}")
                return
            if not chunk:
                break
            remaining -= len(chunk)
            on_bytes(len(chunk))
            buf = rest + chunk if rest else chunk
            cut = buf.rfind(b"\n")
            if cut < 0:
                rest = buf
                continue
            lines, rest = buf[:cut].split(b"\n"), buf[cut + 1:]
            yield lines, offset, offset + cut + 1
            offset += cut + 1
        if rest.strip():
            try:
                loads(rest)
            except ValueError:
                return
            yield [rest], offset, offset + len(rest)


class Ingestor:
    """Runs one incremental ingest of the local sources into an open store connection."""

    def __init__(self, conn: sqlite3.Connection, pricer, *, device: str, mode: str = "auto",
                 extra_paths: dict[str, Sequence[str]] | None = None, progress: Progress | None = None) -> None:
        self.conn = conn
        self.pricer = pricer
        self.device = device
        self.mode = mode
        self.extra = extra_paths or {}
        self.progress = progress

    def run(self, sources: Sequence[str] = ("claude-code", "codex")) -> list[SourceResult]:
        self.reprice_if_needed()
        plans = []
        tail = []
        for source in sources:
            if source == "opencode":  # a database, not log files: handled after the files
                tail.append(source)
                continue
            result = SourceResult(source)
            mod = {"claude-code": claude_code, "codex": codex, "gemini-cli": gemini_cli}[source]
            try:
                files, problem = mod.discover(self.extra.get(source, ()), result.errors)
            except (OSError, ValueError) as exc:  # ValueError: a path with a NUL byte
                files, problem = [], f"cannot list log files: {getattr(exc, 'strerror', None) or exc}"
            result.files, result.problem = len(files), problem
            jobs = _plan(files, ledger.file_cursors(self.conn, source), result)
            plans.append((source, files, jobs, result))
        total = sum(j.st.st_size - j.start for _, _, jobs, _ in plans for j in jobs)
        done = [0]

        def on_bytes(n: int) -> None:
            done[0] += n
            if self.progress:
                self.progress(done[0], total)

        results = []
        for source, files, jobs, result in plans:
            if source == "claude-code":
                self._claude(jobs, result, on_bytes)
            elif source == "gemini-cli":
                self._gemini(jobs, result, on_bytes)
            else:
                self._codex(files, jobs, result, on_bytes)
            self._finish(result)
            results.append(result)
        for source in tail:
            result = self._opencode()
            self._finish(result)
            results.append(result)
        return results

    # -- per source ----------------------------------------------------------------------
    def _batches(self, jobs: list[_Job], result: SourceResult, on_bytes, parse):
        """Group parsed files into commit batches of about BATCH bytes."""
        batch, size = [], 0
        for job in jobs:
            parsed = parse(job, on_bytes)
            if parsed is None:
                continue
            batch.append(parsed)
            size += parsed[1] - job.start
            if size >= BATCH:
                yield batch
                batch, size = [], 0
        if batch:
            yield batch

    def _still_ours(self, job: _Job) -> bool:
        now = ledger.file_cursor(self.conn, job.file.path)
        if job.cursor is None:
            return now is None
        return now is not None and (now.offset, now.ino, now.size, now.mtime_ns) == (
            job.cursor.offset, job.cursor.ino, job.cursor.size, job.cursor.mtime_ns)

    def _cursor(self, job: _Job, end: int, state: dict, records: int, dups: int, skipped: int) -> ledger.FileCursor:
        base = job.cursor if (job.cursor and not job.fresh) else None
        try:
            with open(job.file.path, "rb") as fh:
                prefix = _prefix_hash(fh, min(PREFIX, end))
        except OSError:
            prefix = None
        return ledger.FileCursor(job.file.path, job.file.source, job.st.st_dev, job.st.st_ino, job.st.st_size,
                                 job.st.st_mtime_ns, end, prefix, state,
                                 (base.records if base else 0) + records, (base.duplicates if base else 0) + dups,
                                 (base.skipped if base else 0) + skipped)

    def _claude(self, jobs: list[_Job], result: SourceResult, on_bytes) -> None:
        def parse(job: _Job, on_bytes):
            fh = _open(job, result)
            if fh is None:
                return None
            parser = claude_code.ClaudeParser(job.file, self.pricer, self.mode)
            entries, end = [], job.start
            for lines, _start, end in _read_lines(fh, job, result, on_bytes):
                entries.extend(parser.feed(lines))
            result.files_read += 1
            result.bytes_read += end - job.start
            return job, end, entries, parser.skipped

        for batch in self._batches(jobs, result, on_bytes, parse):
            with transaction(self.conn):
                batch = [b for b in batch if self._still_ours(b[0])]
                entries, owners = [], []
                for i, (_job, _end, es, _sk) in enumerate(batch):
                    entries.extend(es)
                    owners.extend([i] * len(es))
                msg_ids = list({e.record.msg_id for e in entries if e.record.msg_id})
                stored = ledger.entries_by_msg_id(self.conn, claude_code.SOURCE, msg_ids)
                kept = {m: [claude_code.Kept(k.key, k.sidechain, k.total, k.has_speed) for k in ks]
                        for m, ks in stored.items()}
                upsert, delete, dup_idx = claude_code.resolve_duplicates(entries, kept)
                ledger.delete_keys(self.conn, claude_code.SOURCE, delete)
                speed = frozenset(k for k, e in upsert.items() if e.has_speed)
                ledger.upsert(self.conn, (e.record for e in upsert.values()), self.device, speed)
                dups = Counter(owners[i] for i in dup_idx)
                for i, (job, end, es, skipped) in enumerate(batch):
                    ledger.put_cursor(self.conn, self._cursor(job, end, {}, len(es) - dups[i], dups[i], skipped))
                    result.records += len(es) - dups[i]
                    result.duplicates += dups[i]
                    result.skipped += skipped

    def _codex(self, files: Sequence[LocalFile], jobs: list[_Job], result: SourceResult, on_bytes) -> None:
        by_id = {codex.session_id_of(f.path): f.path for f in files if f.kind == "session"}

        def parent_events(pid: str, until: int):
            path = by_id.get(pid)
            return codex.read_events(path, until) if path else None

        def parse(job: _Job, on_bytes):
            fh = _open(job, result)
            if fh is None:
                return None
            state = codex.initial_state() if job.fresh or job.cursor is None else dict(job.cursor.state)
            parser = codex.CodexParser(job.file, self.pricer, state, parent_events, job.st.st_mtime_ns // 10**6)
            records, end = [], job.start
            for lines, start, end in _read_lines(fh, job, result, on_bytes):
                records.extend(parser.records(lines, start))
            result.files_read += 1
            result.bytes_read += end - job.start
            return job, end, records, parser

        for batch in self._batches(jobs, result, on_bytes, parse):
            with transaction(self.conn):
                for job, end, records, parser in batch:
                    if not self._still_ours(job):
                        continue
                    ledger.upsert(self.conn, records, self.device)
                    ledger.put_cursor(self.conn, self._cursor(job, end, parser.state, len(records),
                                                              parser.duplicates, parser.skipped))
                    result.records += len(records)
                    result.duplicates += parser.duplicates
                    result.skipped += parser.skipped

    def _gemini(self, jobs: list[_Job], result: SourceResult, on_bytes) -> None:
        """Gemini CLI rewrites session files (atomically, on resume): re-parse a changed file
        whole. Keys are ``session|message id``, so re-parsing upserts the same rows; rows a
        rewrite dropped are kept (those tokens were spent)."""
        for job in jobs:
            fh = _open(job, result)
            if fh is None:
                continue
            try:
                with fh:
                    data = fh.read()
            except OSError as exc:
                result.errors.append(f"{job.file.path}: {exc.strerror or exc}")
                continue
            on_bytes(job.st.st_size - job.start)
            records, skipped = gemini_cli.parse_file(data, job.file, self.pricer, job.st.st_mtime_ns // 10**6)
            job.fresh, job.start = True, 0  # counters restart: the whole file was read again
            with transaction(self.conn):
                if not self._still_ours(job):
                    continue
                ledger.upsert(self.conn, records, self.device)
                ledger.put_cursor(self.conn, self._cursor(job, len(data), {}, len(records), 0, skipped))
            result.files_read += 1
            result.bytes_read += len(data)
            result.records += len(records)
            result.skipped += skipped

    def _opencode(self) -> SourceResult:
        """OpenCode keeps messages in SQLite (plus legacy JSON files): re-read a data dir when
        its signature (sizes and mtimes of the databases, WAL and message files) changes."""
        result = SourceResult("opencode")
        dirs = opencode.data_dirs(self.extra.get("opencode", ()))
        result.files = len(dirs)
        for d in dirs:
            sig = opencode.signature(d)
            name = f"signature:{d}"
            if ledger.get_sync_state(self.conn, "opencode", name) == sig:
                continue
            records, skipped, problem = opencode.read_all(d, self.pricer)
            if problem:
                result.errors.append(f"{d}: {problem}")
            with transaction(self.conn):
                ledger.upsert(self.conn, records, self.device)
                if not problem:  # a database that could not be read (locked, damaged) is read again next time
                    ledger.set_sync_state(self.conn, "opencode", name, sig)
                ledger.set_sync_state(self.conn, "opencode", f"skipped:{d}", str(skipped))
            result.files_read += 1
            result.records += len(records)
            result.skipped += skipped
        return result

    def _finish(self, result: SourceResult) -> None:
        totals = self.conn.execute("SELECT COUNT(*), COALESCE(SUM(records), 0), COALESCE(SUM(duplicates), 0), "
                                   "COALESCE(SUM(skipped), 0) FROM files WHERE source = ?",
                                   (result.source,)).fetchone()
        detail = {"files": result.files, "tracked_files": totals[0], "records": totals[1],
                  "duplicates": totals[2], "skipped_lines": totals[3], "read_errors": result.errors[:5]}
        message = result.problem
        if not message and result.errors:
            message = f"{len(result.errors)} file(s) or folder(s) could not be read: {result.errors[0]}"
        status = result.status if not (result.errors and result.status == "ok") else "ok"
        with transaction(self.conn):
            ledger.set_status(self.conn, result.source, status, message, detail)

    # -- pricing changes -------------------------------------------------------------------
    def reprice_if_needed(self) -> int:
        """Re-price stored local estimates when prices or the cost mode changed since they
        were computed (tokens are kept, so nothing is lost). Returns rows updated."""
        fp = f"{self.pricer.fingerprint()}:{self.mode}"
        if get_meta(self.conn, "pricing_fingerprint") == fp:
            return 0
        n = 0
        with transaction(self.conn):
            rows = self.conn.execute(
                "SELECT id, model, input, output, cache_write_5m, cache_write_1h, cache_read, logged_cost_pico "
                "FROM ledger WHERE kind = 'local'").fetchall()
            updates = []
            for rid, model, i, o, c5, c1, cr, logged in rows:
                if logged is not None and self.mode == "auto":
                    cost, label = logged, ESTIMATED
                elif model is None:
                    cost, label = (0, ESTIMATED) if i + o + c5 + c1 + cr == 0 else (None, UNPRICED)
                else:
                    cost = self.pricer.cost_pico(model, i, o, c5, c1, cr)
                    label = UNPRICED if cost is None else ESTIMATED
                updates.append((cost, label, rid))
            self.conn.executemany("UPDATE ledger SET cost_pico = ?, cost_label = ? WHERE id = ?", updates)
            n = len(updates)
            set_meta(self.conn, "pricing_fingerprint", fp)
            from tokentui.core.pricing import pricing_data_version

            set_meta(self.conn, "pricing_version", pricing_data_version())
        return n
