"""Incremental ingest of local agent logs into the history store.

Per file the store remembers identity (device, inode), size, mtime, the byte offset consumed,
a hash of the first bytes and the parser state. A sync stats every file, skips unchanged ones,
reads only appended bytes up to the last complete line, and rescans a file that shrank, was
replaced or was rewritten. Records and cursors commit in one transaction; before committing,
each cursor is re-read, and a file another process consumed meanwhile is left to that process,
so concurrent syncs never double count. A big ingest is parsed by forked worker processes
(see :class:`Ingestor`); parsing is a pure function of a file's new bytes, so the result is
the same.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import os
import sqlite3
import sys
import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple, Sequence

from tokentui.core.records import ESTIMATED, UNPRICED
from tokentui.sources import claude_code, codex, gemini_cli, opencode
from tokentui.sources.common import LocalFile, loads
from tokentui.store import ledger
from tokentui.store.db import get_meta, set_meta, transaction

CHUNK = 8 << 20  # bytes read at a time: never a whole big file in memory
BATCH = 32 << 20  # bytes of log per commit
PREFIX = 4096  # bytes hashed to notice a file rewritten in place
PARALLEL_MIN = 16 << 20  # new bytes from which worker processes parse (forking costs ~20 ms)
TASK = 2 << 20  # bytes of log per task sent to a worker
WINDOW = 64 << 20  # bytes of log parsed ahead of the writer at most (bounds memory)

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


def _plan(conn: sqlite3.Connection, source: str, files: Sequence[LocalFile]) -> list[_Job]:
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
                    fresh = _prefix_hash(fh, length) != cur.prefix_hash
            except (OSError, ValueError):
                fresh = True
        jobs.append(_Job(f, st, 0 if fresh else cur.offset, cur, fresh))
    return jobs


def _open(job: _Job, errors: list[str]):
    """The job's file opened for reading, or None (noted in ``errors``) when it cannot be:
    such a file gets no cursor, so it is read in full once it can be (permission restored)."""
    try:
        return open(job.file.path, "rb")
    except FileNotFoundError:
        return None  # deleted since it was listed: nothing to read, nothing to report
    except OSError as exc:
        errors.append(f"{job.file.path}: {exc.strerror or exc}")
        return None


def _read_lines(fh, job: _Job, errors: list[str], on_bytes: Callable[[int], None], head: bytearray | None = None):
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
            lines, rest = buf[:cut].split(b"\n"), buf[cut + 1:]
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
    items: list  # Codex: ledger rows; Claude: dedupe tuples ending with the ledger row
    skipped: int
    duplicates: int
    state: dict  # parser state to resume from (Codex)
    prefix: str | None  # hash of the file's first bytes, for the cursor


class _Unpriced:
    """The parsers' pricer during an ingest: rows are priced by the writer, after the dedupe
    (:meth:`Ingestor._price`), so workers never load the price data (~150 ms each)."""

    def cost_pico(self, *_args) -> None:
        return None


@dataclass(frozen=True)
class _Context:
    pricer: object
    mode: str
    codex_sessions: dict[str, str]  # Codex session id → rollout path, to find a fork's parent

    def parent_events(self, pid: str, until: int):
        path = self.codex_sessions.get(pid)
        return codex.read_events(path, until) if path else None


def _prefix_of(path: str, end: int, head: bytearray | None = None) -> str | None:
    """The cursor's prefix hash of ``path`` consumed up to ``end``: from ``head`` (the bytes
    read from offset 0, see :func:`_read_lines`) when it holds them, else read again."""
    n = min(PREFIX, end)
    if head is not None and len(head) >= n:
        return f"{n}:{hashlib.sha1(head[:n]).hexdigest()}"
    try:
        with open(path, "rb") as fh:
            return _prefix_hash(fh, n)
    except OSError:
        return None


def _parse_claude(job: _Job, ctx: _Context, on_bytes) -> tuple[Parsed | None, list[str]]:
    errors: list[str] = []
    fh = _open(job, errors)
    if fh is None:
        return None, errors
    parser = claude_code.ClaudeParser(job.file, ctx.pricer, ctx.mode)
    items, end = [], job.start
    entries, head = [], bytearray()
    for lines, _start, end in _read_lines(fh, job, errors, on_bytes, head):
        entries += parser.feed(lines, final=False)
    entries += parser.feed((), final=True)
    for e in entries:
        row = ledger.record_row(e.record, e.has_speed)
        if row is None:
            parser.skipped += 1
        else:
            items.append(claude_code.dedupe_item(e, row))
    return (Parsed(end, items, parser.skipped, parser.collapsed, {}, _prefix_of(job.file.path, end, head)),
            errors)


def _parse_codex(job: _Job, ctx: _Context, on_bytes) -> tuple[Parsed | None, list[str]]:
    errors: list[str] = []
    fh = _open(job, errors)
    if fh is None:
        return None, errors
    state = codex.initial_state() if job.fresh or job.cursor is None else dict(job.cursor.state)
    parser = codex.CodexParser(job.file, ctx.pricer, state, ctx.parent_events, job.st.st_mtime_ns // 10**6)
    rows, end, head = [], job.start, bytearray()
    for lines, start, end in _read_lines(fh, job, errors, on_bytes, head):
        for r in parser.records(lines, start):
            row = ledger.record_row(r)
            if row is None:
                parser.skipped += 1
            else:
                rows.append(row)
    return (Parsed(end, rows, parser.skipped, parser.duplicates, parser.state,
                   _prefix_of(job.file.path, end, head)),
            errors)


_PARSE = {"claude-code": _parse_claude, "codex": _parse_codex}

#: the jobs and context of the running ingest; worker processes inherit it when they fork
_WORK: dict[str, Any] = {}


def _no_progress(_n: int) -> None:
    pass


def _work(source: str, indices: list[int]) -> list[tuple[Parsed | None, list[str]]]:
    """Runs in a worker process: parse the jobs at ``indices`` of ``source``."""
    jobs, ctx = _WORK[source], _WORK["ctx"]
    return [_PARSE[source](jobs[i], ctx, _no_progress) for i in indices]


def _worker_init() -> None:
    """Workers yield the CPU to the writer: it alone orders and commits the results, so it is
    the ingest's critical path; the workers only need to stay ahead of it."""
    try:
        os.nice(10)
    except OSError:
        pass


def _tasks(jobs: Sequence[_Job]) -> list[list[int]]:
    """Consecutive jobs grouped into tasks of about TASK bytes (one or more files each)."""
    tasks, cur, size = [], [], 0
    for i, job in enumerate(jobs):
        cur.append(i)
        size += job.st.st_size - job.start
        if size >= TASK:
            tasks.append(cur)
            cur, size = [], 0
    if cur:
        tasks.append(cur)
    return tasks


def default_workers() -> int:
    """Processes that parse a big ingest: ``TOKENTOP_INGEST_WORKERS`` if set, else one per CPU
    (at most 4). Worker processes are forked, so this is 1 (parse here) off Linux and when
    other threads run (forking a threaded process is unsafe): the dashboard ingests serially."""
    env = os.environ.get("TOKENTOP_INGEST_WORKERS", "").strip()
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            return 1
    if sys.platform != "linux" or threading.active_count() > 1:
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return min(cpus, 4)


class Ingestor:
    """Runs one incremental ingest of the local sources into an open store connection.

    Parsing is pure and per file; when more than ``parallel_min_bytes`` of Claude Code and Codex
    logs are new and ``workers`` > 1, worker processes parse while this process applies the
    dedupe rules and writes, in file order, so the result is the same as a serial ingest.
    """

    def __init__(self, conn: sqlite3.Connection, pricer, *, device: str, mode: str = "auto",
                 extra_paths: dict[str, Sequence[str]] | None = None, progress: Progress | None = None,
                 workers: int | None = None, parallel_min_bytes: int = PARALLEL_MIN) -> None:
        self.conn = conn
        self.pricer = pricer
        self.device = device
        self.mode = mode
        self.extra = extra_paths or {}
        self.progress = progress
        self.workers = default_workers() if workers is None else workers
        self.parallel_min_bytes = parallel_min_bytes
        self._ctx = _Context(_Unpriced(), mode, {})
        self._pool = None
        self._gc_paused = False
        self._cache_size: int | None = None  # the store's page cache size, while raised for workers
        self._queued: deque = deque()  # (source, job indices, bytes) not yet submitted
        self._pending: deque = deque()  # (source, job indices, bytes, future) submitted, in order
        self._run_kept: dict[str, list[claude_code.Kept]] | None = None  # see _kept_for
        self._data_version = 0
        self.worker_failure: str | None = None  # why worker processes stopped early (the rest ran here)

    def run(self, sources: Sequence[str] = ("claude-code", "codex")) -> list[SourceResult]:
        known = self._load_prices()
        try:
            return self._run(sources)
        finally:
            self._save_prices(known)

    def _load_prices(self) -> int:
        """Take the model rates a previous sync resolved (same price data), so a sync that
        prices new lines of known models never loads genai-prices (~150 ms)."""
        try:
            saved = json.loads(get_meta(self.conn, "resolved_prices") or "{}")
        except ValueError:
            return 0
        if not isinstance(saved, dict) or saved.get("fingerprint") != self.pricer.fingerprint():
            return 0
        self.pricer.preload(saved.get("models"))
        return len(self.pricer.resolved())

    def _save_prices(self, known: int) -> None:
        models = self.pricer.resolved()
        if len(models) == known:
            return
        data = json.dumps({"fingerprint": self.pricer.fingerprint(), "models": models}, sort_keys=True)
        with contextlib.suppress(sqlite3.Error):  # only a cache: it is made again next time
            with transaction(self.conn):
                set_meta(self.conn, "resolved_prices", data)

    def _run(self, sources: Sequence[str]) -> list[SourceResult]:
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
            jobs = _plan(self.conn, source, files)
            plans.append((source, files, jobs, result))
            if source == "codex":
                self._ctx.codex_sessions.update(
                    (codex.session_id_of(f.path), f.path) for f in files if f.kind == "session")
        total = sum(j.st.st_size - j.start for _, _, jobs, _ in plans for j in jobs)
        done = [0]

        def on_bytes(n: int) -> None:
            done[0] += n
            if self.progress:
                self.progress(done[0], total)

        parallel = {src: jobs for src, _, jobs, _ in plans if src in _PARSE and jobs}
        if self.workers > 1 and sum(j.st.st_size - j.start for js in parallel.values() for j in js) \
                >= self.parallel_min_bytes:
            self._start_pool(parallel)
        results = []
        try:
            for source, _files, jobs, result in plans:
                if source == "claude-code":
                    self._claude(jobs, result, on_bytes)
                elif source == "gemini-cli":
                    self._gemini(jobs, result, on_bytes)
                else:
                    self._codex(jobs, result, on_bytes)
                self._finish(result)
                results.append(result)
        finally:
            self._stop_pool()
        for source in tail:
            result = self._opencode()
            self._finish(result)
            results.append(result)
        return results

    # -- worker processes ------------------------------------------------------------------
    def _start_pool(self, jobs: dict[str, list[_Job]]) -> None:
        """Fork the workers, which inherit ``jobs`` and the context, and queue every parse task
        (all sources, in ingest order; see :meth:`_parsed`)."""
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        _WORK.clear()
        _WORK.update(jobs, ctx=self._ctx)
        # A big ingest (only these start workers; never the dashboard, whose ingest runs on a
        # thread) makes no reference cycles: no cyclic GC until it ends (~5 % faster), and
        # what exists now is frozen, so workers never scan (so never copy) what they inherit.
        self._gc_paused = gc.isenabled()
        gc.disable()
        gc.freeze()
        # a page cache that holds the ledger's indexes while they grow (SQLite's default is 2 MiB:
        # random inserts into a bigger index evict and re-read pages): ~3 % on a 500 MB ingest
        self._cache_size = self.conn.execute("PRAGMA cache_size").fetchone()[0]
        self.conn.execute("PRAGMA cache_size = -32768")
        try:
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("fork"),
                                             initializer=_worker_init)
        except (OSError, ImportError, ValueError):  # no semaphores (some containers): parse here
            self._pool = None
            return
        for source, js in jobs.items():
            for task in _tasks(js):
                self._queued.append((source, task, sum(js[i].st.st_size - js[i].start for i in task)))

    def _stop_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._cache_size is not None:
            self.conn.execute(f"PRAGMA cache_size = {int(self._cache_size)}")
            self._cache_size = None
        if self._gc_paused:
            # freeze what the ingest made before collecting again: a first collection over all of
            # it costs ~15 ms and finds nothing; frozen objects are still freed by refcounting
            self._gc_paused = False
            gc.freeze()
            gc.enable()
        self._queued.clear()
        self._pending.clear()
        _WORK.clear()

    def _submit_ahead(self) -> None:
        """Keep tasks submitted up to WINDOW bytes ahead of the writer, across sources, so the
        workers start on Codex while the last Claude batch is written."""
        ahead = sum(size for _, _, size, _ in self._pending)
        while self._queued and (ahead < WINDOW or not self._pending):
            source, task, size = self._queued.popleft()
            self._pending.append((source, task, size, self._pool.submit(_work, source, task)))
            ahead += size

    def _parsed(self, source: str, jobs: list[_Job], on_bytes):
        """Yield ``(job, parsed, errors)`` for each job, in order: parsed in worker processes
        when a pool runs, else here. If a worker dies (killed, out of memory), the rest is
        parsed here: the ingest still completes, exactly."""
        done = 0  # jobs yielded; tasks cover consecutive jobs in order
        if self._pool is not None:
            from concurrent.futures.process import BrokenProcessPool

            try:
                while True:
                    self._submit_ahead()
                    if not self._pending or self._pending[0][0] != source:
                        break
                    _, task, _, future = self._pending[0]
                    parsed = future.result()
                    self._pending.popleft()
                    for i, (p, errors) in zip(task, parsed, strict=True):
                        on_bytes(jobs[i].st.st_size - jobs[i].start)
                        done += 1
                        yield jobs[i], p, errors
            except (BrokenProcessPool, OSError, RuntimeError) as exc:
                self.worker_failure = f"{type(exc).__name__}: {exc}"
                self._stop_pool()  # RuntimeError: submit after a shutdown; OSError: cannot fork
        for job in jobs[done:]:
            yield job, *_PARSE[source](job, self._ctx, on_bytes)

    def _batches(self, source: str, jobs: list[_Job], result: SourceResult, on_bytes):
        """Parsed files grouped into commit batches of about BATCH bytes (smaller when workers
        parse, so that writing keeps pace with them)."""
        limit = BATCH if self._pool is None else BATCH // 4
        batch, size = [], 0
        for job, parsed, errors in self._parsed(source, jobs, on_bytes):
            result.errors.extend(errors)
            if parsed is None:
                continue
            result.files_read += 1
            result.bytes_read += parsed.end - job.start
            batch.append((job, parsed))
            size += parsed.end - job.start
            if size >= limit:
                yield batch
                batch, size = [], 0
        if batch:
            yield batch

    # -- per source ----------------------------------------------------------------------
    def _still_ours(self, batch: list) -> list:
        """The ``(job, ...)`` entries of ``batch`` whose cursor is as it was when planned; a file
        another sync consumed meanwhile is left to it (call in the batch's transaction)."""
        now = ledger.cursor_rows_at(self.conn, [b[0].file.path for b in batch])
        out = []
        for b in batch:
            job, row = b[0], now.get(b[0].file.path)
            cur = job.cursor
            if (row is None) if cur is None else (row is not None and (row[6], row[3], row[4], row[5]) == (
                    cur.offset, cur.ino, cur.size, cur.mtime_ns)):
                out.append(b)
        return out

    def _cursor(self, job: _Job, end: int, state: dict, records: int, dups: int, skipped: int,
                prefix: str | None) -> ledger.FileCursor:
        base = job.cursor if (job.cursor and not job.fresh) else None
        return ledger.FileCursor(job.file.path, job.file.source, job.st.st_dev, job.st.st_ino, job.st.st_size,
                                 job.st.st_mtime_ns, end, prefix, state,
                                 (base.records if base else 0) + records, (base.duplicates if base else 0) + dups,
                                 (base.skipped if base else 0) + skipped)

    def _kept_for(self, items: list) -> dict[str, list[claude_code.Kept]]:
        """The stored entries the dedupe rules compare ``items`` with (call in the batch's
        transaction). When the ledger held no Claude entry as this ingest began and no other
        process has written since, they are exactly the entries this ingest kept so far, in
        memory: a first ingest never looks up the store."""
        version = self.conn.execute("PRAGMA data_version").fetchone()[0]  # changes on others' commits
        if self._run_kept is not None and version == self._data_version:
            return self._run_kept
        self._run_kept = None
        msg_ids = list({it[1] for it in items if it[1]})
        stored = ledger.entries_by_msg_id(self.conn, claude_code.SOURCE, msg_ids)
        return {m: [claude_code.Kept(k.key, k.sidechain, k.total, k.has_speed) for k in ks]
                for m, ks in stored.items()}

    def _claude(self, jobs: list[_Job], result: SourceResult, on_bytes) -> None:
        self._data_version = self.conn.execute("PRAGMA data_version").fetchone()[0]  # read first: no race
        empty = not self.conn.execute("SELECT EXISTS (SELECT 1 FROM ledger WHERE source = ? AND msg_id IS NOT NULL)",
                                      (claude_code.SOURCE,)).fetchone()[0]
        self._run_kept = {} if empty else None
        for batch in self._batches(claude_code.SOURCE, jobs, result, on_bytes):
            with transaction(self.conn):
                batch = self._still_ours(batch)
                items, owners = [], []
                for n, (_job, p) in enumerate(batch):
                    items.extend(p.items)
                    owners.extend([n] * len(p.items))
                kept = self._kept_for(items)
                upsert, delete, dup_idx = claude_code.resolve_duplicates(items, kept)
                ledger.delete_keys(self.conn, claude_code.SOURCE, delete)
                ledger.upsert_rows(self.conn, ledger.price_rows([items[i][5] for i in upsert.values()], self._price),
                                   self.device)
                dups = Counter(owners[i] for i in dup_idx)
                cursors = []
                for n, (job, p) in enumerate(batch):
                    new, dup = len(p.items) - dups[n], dups[n] + p.duplicates  # p.duplicates: collapsed copies
                    cursors.append(self._cursor(job, p.end, {}, new, dup, p.skipped, p.prefix))
                    result.records += new
                    result.duplicates += dup
                    result.skipped += p.skipped
                ledger.put_cursors(self.conn, cursors)

    def _codex(self, jobs: list[_Job], result: SourceResult, on_bytes) -> None:
        for batch in self._batches(codex.SOURCE, jobs, result, on_bytes):
            with transaction(self.conn):
                batch = self._still_ours(batch)
                ledger.upsert_rows(self.conn, ledger.price_rows([row for _job, p in batch for row in p.items],
                                                                self._price), self.device)
                ledger.put_cursors(self.conn, [self._cursor(job, p.end, p.state, len(p.items), p.duplicates,
                                                            p.skipped, p.prefix) for job, p in batch])
                for _job, p in batch:
                    result.records += len(p.items)
                    result.duplicates += p.duplicates
                    result.skipped += p.skipped

    def _gemini(self, jobs: list[_Job], result: SourceResult, on_bytes) -> None:
        """Gemini CLI rewrites session files (atomically, on resume): re-parse a changed file
        whole. Keys are ``session|message id``, so re-parsing upserts the same rows; rows a
        rewrite dropped are kept (those tokens were spent)."""
        for job in jobs:
            fh = _open(job, result.errors)
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
                if not self._still_ours([(job,)]):
                    continue
                ledger.upsert(self.conn, records, self.device)
                ledger.put_cursor(self.conn, self._cursor(job, len(data), {}, len(records), 0, skipped,
                                                          _prefix_of(job.file.path, len(data))))
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

    # -- pricing ---------------------------------------------------------------------------
    def _price(self, model: str | None, i: int, o: int, c5: int, c1: int, cr: int,
               logged: int | None) -> tuple[int | None, str]:
        """Cost and label of one local record: the logged cost in ``auto`` mode when the line
        had one, nothing for no model (unless no tokens), else the price of the tokens."""
        if logged is not None and self.mode == "auto":
            return logged, ESTIMATED
        if model is None:
            return (0, ESTIMATED) if i + o + c5 + c1 + cr == 0 else (None, UNPRICED)
        cost = self.pricer.cost_pico(model, i, o, c5, c1, cr)
        return cost, UNPRICED if cost is None else ESTIMATED

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
            updates = [(*self._price(model, i, o, c5, c1, cr, logged), rid)
                       for rid, model, i, o, c5, c1, cr, logged in rows]
            self.conn.executemany("UPDATE ledger SET cost_pico = ?, cost_label = ? WHERE id = ?", updates)
            n = len(updates)
            set_meta(self.conn, "pricing_fingerprint", fp)
            from tokentui.core.pricing import pricing_data_version

            set_meta(self.conn, "pricing_version", pricing_data_version())
        return n
