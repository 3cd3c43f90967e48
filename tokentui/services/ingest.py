"""Incremental ingest of local agent logs into the history store.

Per file the store remembers identity (device, inode), size, mtime, the byte offset consumed,
a hash of the first bytes and the parser state. A sync stats every file, skips unchanged ones,
reads only appended bytes up to the last complete line, and rescans a file that shrank, was
replaced or was rewritten. Records and cursors commit in one transaction; before committing,
each cursor is re-read, and a file another process consumed meanwhile is left to that process,
so concurrent syncs never double count. Finding changed files and parsing them is in
:mod:`~tokentui.services.logfiles`; a big ingest is parsed by worker processes
(:mod:`~tokentui.services.parse_pool`) with the same result. Sources read from databases are
in :mod:`~tokentui.services.ingest_db`; the per-source result in
:mod:`~tokentui.services.ingest_result`.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections import Counter
from typing import Callable, Sequence

from tokentui.core.records import ESTIMATED, UNPRICED
from tokentui.services.ingest_db import DatabaseSources
from tokentui.services.ingest_result import SourceResult, quarantine
from tokentui.services.logfiles import Job, Unpriced, open_job, plan, prefix_of
from tokentui.services.parse_pool import ParsePool, default_workers
from tokentui.sources import registry
from tokentui.sources.common import read_head
from tokentui.sources.readers import (Combined, Dedupe, JsonlLog, ParseContext, RewrittenJson, SessionTotals,
                                     SignedDatabase, WatermarkDatabase)
from tokentui.store import ledger
from tokentui.store import quotas as quota_store
from tokentui.store.db import data_version, get_meta, set_meta, transaction

BATCH = 32 << 20  # bytes of log per commit
MAX_WHOLE_FILE = 256 << 20  # a file a RewrittenJson reader parses whole: larger ones are not read

Progress = Callable[[int, int], None]


def _with_implausible(job: Job, state: dict, n: int) -> dict:
    """The cursor state to store: the parser's, with the file's count of quarantined lines
    (kept across appends, restarted when the file is read again from its start)."""
    base = job.cursor.state.get("implausible", 0) if job.cursor and not job.fresh and job.cursor.state else 0
    total = (base if type(base) is int else 0) + n
    state = {k: v for k, v in (state or {}).items() if k != "implausible"}
    if total:
        state["implausible"] = total
    return state


def _parts(reader) -> tuple:
    """The strategies a source is read with (one, or a :class:`Combined` reader's parts)."""
    return reader.parts if isinstance(reader, Combined) else (reader,)


class Ingestor(DatabaseSources):
    """Runs one incremental ingest of the local sources into an open store connection.

    Each source is read by the strategy its reader declares (:mod:`tokentui.sources.readers`);
    this class never looks at a source's name. Parsing is pure and per file; when more than
    ``parallel_min_bytes`` of append-only logs are new (default: as much as starting workers
    costs, :meth:`ParsePool.min_bytes`) and ``workers`` > 1, worker processes parse while this
    process applies the dedupe rules and writes, in file order, so the result is the same as a
    serial ingest.
    """

    def __init__(self, conn: sqlite3.Connection, pricer, *, device: str, mode: str = "auto",
                 extra_paths: dict[str, Sequence[str]] | None = None, progress: Progress | None = None,
                 workers: int | None = None, parallel_min_bytes: int | None = None) -> None:
        self.conn = conn
        self.pricer = pricer
        self.device = device
        self.mode = mode
        self.extra = extra_paths or {}
        self.progress = progress
        self.workers = default_workers() if workers is None else workers
        self.parallel_min_bytes = parallel_min_bytes
        self._ctx = ParseContext(Unpriced(), mode, {})
        self._pool = ParsePool(conn, self._ctx, self.workers)
        self._run_kept: dict[str, list] | None = None  # see _kept_for
        self._cold_prices = False  # no model rates known from the store: see run
        self._data_version = 0

    @property
    def worker_failure(self) -> str | None:
        """Why worker processes stopped early (the rest was parsed in this process), or None."""
        return self._pool.failure

    def run(self, sources: Sequence[str] | None = None) -> list[SourceResult]:
        """Ingest ``sources`` (default: every local source), in that order; sources read from
        log files first, databases after."""
        sources = registry.names(registry.LOCAL) if sources is None else sources
        known = self._load_prices()
        self._cold_prices = known == 0
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
        renewed: dict[str, int] = {}  # sources read again from the start: their rows before
        for source, reader in ((src, part) for src in sources for part in _parts(registry.reader(src))):
            if isinstance(reader, (SignedDatabase, WatermarkDatabase, SessionTotals)):  # databases: after the files
                tail.append((source, reader))
                continue
            result = SourceResult(source)
            try:
                files, problem = reader.discover(self.extra.get(source, ()), result.errors)
            except (OSError, ValueError) as exc:  # ValueError: a path with a NUL byte
                files, problem = [], f"cannot list log files: {getattr(exc, 'strerror', None) or exc}"
            result.files, result.problem = len(files), problem
            if isinstance(reader, JsonlLog) and reader.revision > 1 \
                    and ledger.read_revision(self.conn, source) < reader.revision:
                self._upgrade(source, reader, files, renewed)
            jobs = plan(self.conn, source, files)
            plans.append((source, reader, jobs, result))
            if isinstance(reader, JsonlLog) and reader.prepare is not None and jobs:
                # what this source's parsers share: no job, no parser (a warm sync skips the work,
                # e.g. reading Codex's config.toml)
                self._ctx.shared[source] = reader.prepare(files)
        total = sum(j.st.st_size - j.start for _, _, jobs, _ in plans for j in jobs)
        done = [0]

        def on_bytes(n: int) -> None:
            done[0] += n
            if self.progress:
                self.progress(done[0], total)

        parallel = {src: jobs for src, reader, jobs, _ in plans
                    if isinstance(reader, JsonlLog) and reader.parallel and jobs}
        if self.workers > 1 and sum(j.st.st_size - j.start for js in parallel.values() for j in js) \
                >= (ParsePool.min_bytes() if self.parallel_min_bytes is None else self.parallel_min_bytes):
            self._pool.start(parallel)
            if self._pool.active and self._cold_prices:
                # the workers are forked: load the price data on a thread while they parse (a
                # store that knows the models' rates never needs it)
                threading.Thread(target=self.pricer.warm_up, name="tokentop-prices", daemon=True).start()
        results = []
        try:
            for source, reader, jobs, result in plans:
                if isinstance(reader, JsonlLog):
                    self._jsonl(source, reader.dedupe, jobs, result, on_bytes)
                    if source in renewed:  # rows read again are not new: only those the store lacked
                        result.records = ledger.source_rows(self.conn, source) - renewed[source]
                else:
                    self._rewritten(reader, jobs, result, on_bytes)
                results.append(result)
        finally:
            self._pool.stop()
        for source, reader in tail:
            results.append(self._database(source, reader) if isinstance(reader, SignedDatabase)
                           else self._session_totals(source, reader) if isinstance(reader, SessionTotals)
                           else self._watermarked(source, reader))
        merged: dict[str, SourceResult] = {}  # a source read in parts has one result
        for r in results:
            into = merged.get(r.source)
            if into is None:
                merged[r.source] = r
                continue
            for f in ("files", "files_read", "bytes_read", "records", "duplicates", "skipped", "implausible"):
                setattr(into, f, getattr(into, f) + getattr(r, f))
            into.errors.extend(r.errors)
            into.problem = into.problem or r.problem
        with transaction(self.conn):  # every source's status in one commit, not one per source
            for r in merged.values():
                self._finish(r)
        return list(merged.values())

    def _upgrade(self, source: str, reader: JsonlLog, files: list, renewed: dict[str, int]) -> None:
        """``source``'s cursors were made by an older revision of its reader: read each file's
        first bytes for what their states gain (``head_state``), or else forget the cursors, so
        the files are read again (their rows before go to ``renewed``). Once: the revision is
        checked again inside the write transaction, another sync may have done it."""
        if reader.head_state is not None:
            known = set(ledger.cursor_paths(self.conn, source))
            gains = []
            for f in files:
                head = read_head(f.path) if f.path in known else None
                got = reader.head_state(head, f) if head else None
                if got:
                    gains.append((f.path, got))
            with transaction(self.conn):
                ledger.upgrade_cursor_states(self.conn, source, reader.revision, gains)
        elif reader.dedupe is None:
            with transaction(self.conn):
                if ledger.renew_cursors(self.conn, source, reader.revision):
                    renewed[source] = ledger.source_rows(self.conn, source)

    def _batches(self, source: str, jobs: list[Job], result: SourceResult, on_bytes):
        """Parsed files grouped into commit batches of about BATCH bytes, also while workers
        parse: each commit writes every index page it changed, so smaller ones write the same
        pages again and again (a 1 GB ingest ~10 % slower with a quarter of BATCH)."""
        batch, size = [], 0
        for job, parsed, errors in self._pool.parsed(source, jobs, on_bytes):
            result.errors.extend(errors)
            if parsed is None:
                continue
            result.files_read += 1
            result.bytes_read += parsed.end - job.start
            batch.append((job, parsed))
            size += parsed.end - job.start
            if size >= BATCH:
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

    def _cursor(self, job: Job, end: int, state: dict, records: int, dups: int, skipped: int,
                prefix: str | None) -> ledger.FileCursor:
        base = job.cursor if (job.cursor and not job.fresh) else None
        return ledger.FileCursor(job.file.path, job.file.source, job.st.st_dev, job.st.st_ino, job.st.st_size,
                                 job.st.st_mtime_ns, end, prefix, state,
                                 (base.records if base else 0) + records, (base.duplicates if base else 0) + dups,
                                 (base.skipped if base else 0) + skipped)

    def _kept_for(self, source: str, dedupe: Dedupe, items: list) -> dict[str, list]:
        """The stored entries the dedupe rules compare ``items`` with (call in the batch's
        transaction). When the ledger held no entry with a message id for ``source`` as this
        ingest began and no other process has written since, they are exactly the entries this
        ingest kept so far, in memory: a first ingest never looks up the store."""
        version = data_version(self.conn)  # changes on others' commits
        if self._run_kept is not None and version == self._data_version:
            return self._run_kept
        self._run_kept = None
        msg_ids = list({it[1] for it in items if it[1]})
        stored = ledger.entries_by_msg_id(self.conn, source, msg_ids)
        return {m: [dedupe.make_kept(k.key, k.sidechain, k.total, k.has_speed) for k in ks]
                for m, ks in stored.items()}

    def _jsonl(self, source: str, dedupe: Dedupe | None, jobs: list[Job], result: SourceResult, on_bytes) -> None:
        """Append-only logs: each commit batch writes its rows (after the dedupe hook, if the
        reader has one) and its files' cursors in one transaction."""
        if dedupe is not None:
            self._data_version = data_version(self.conn)  # read first: no race
            self._run_kept = {} if not ledger.has_message_ids(self.conn, source) else None
        for batch in self._batches(source, jobs, result, on_bytes):
            with transaction(self.conn):
                batch = self._still_ours(batch)
                if dedupe is None:
                    rows = [row for _job, p in batch for row in p.items]
                    dups: Counter = Counter()
                else:
                    items, owners = [], []
                    for n, (_job, p) in enumerate(batch):
                        items.extend(p.items)
                        owners.extend([n] * len(p.items))
                    upsert, delete, dup_idx = dedupe.resolve(items, self._kept_for(source, dedupe, items))
                    ledger.delete_keys(self.conn, source, delete)
                    rows = [items[i][-1] for i in upsert.values()]
                    dups = Counter(owners[i] for i in dup_idx)
                ledger.upsert_rows(self.conn, ledger.price_rows(rows, self._price), self.device)
                quota_store.upsert(self.conn, [o for _job, p in batch for o in p.quotas], self.device)
                cursors = []
                for n, (job, p) in enumerate(batch):
                    # p.duplicates: copies the parser collapsed; dups[n]: the dedupe hook's
                    new, dup = len(p.items) - dups[n], dups[n] + p.duplicates
                    cursors.append(self._cursor(job, p.end, _with_implausible(job, p.state, p.implausible),
                                                new, dup, p.skipped, p.prefix))
                    result.records += new
                    result.duplicates += dup
                    result.skipped += p.skipped
                    result.implausible += p.implausible
                ledger.put_cursors(self.conn, cursors)

    def _rewritten(self, reader: RewrittenJson, jobs: list[Job], result: SourceResult, on_bytes) -> None:
        """Files rewritten in place (e.g. Gemini CLI sessions, on resume): re-parse a changed
        file whole. Keys are stable, so re-parsing upserts the same rows; rows a rewrite dropped
        are kept (those tokens were spent)."""
        for job in jobs:
            if job.st.st_size > MAX_WHOLE_FILE:  # read whole: bounded
                result.errors.append(f"{job.file.path}: too large to read ({job.st.st_size:,} bytes, "
                                     f"over {MAX_WHOLE_FILE >> 20} MB)")
                continue
            fh = open_job(job, result.errors)
            if fh is None:
                continue
            try:
                with fh:
                    data = fh.read(MAX_WHOLE_FILE + 1)
            except OSError as exc:
                result.errors.append(f"{job.file.path}: {exc.strerror or exc}")
                continue
            on_bytes(job.st.st_size - job.start)
            records, skipped = reader.parse_file(data, job.file, self.pricer, job.st.st_mtime_ns // 10**6)
            records = [r if r.logged_cost_pico is None else self._priced(r) for r in records]
            records, bad = quarantine(records)
            skipped += bad
            job.fresh, job.start = True, 0  # counters restart: the whole file was read again
            with transaction(self.conn):
                if not self._still_ours([(job,)]):
                    continue
                ledger.upsert(self.conn, records, self.device)
                ledger.put_cursor(self.conn, self._cursor(job, len(data), {"implausible": bad} if bad else {},
                                                          len(records), 0, skipped,
                                                          prefix_of(job.file.path, len(data))))
            result.files_read += 1
            result.bytes_read += len(data)
            result.records += len(records)
            result.skipped += skipped
            result.implausible += bad

    def _finish(self, result: SourceResult) -> None:
        """Store ``result`` as its source's status (in the caller's transaction)."""
        totals = ledger.file_totals(self.conn, result.source)
        implausible = ledger.implausible_lines(self.conn, result.source) or result.implausible
        detail = {"files": result.files, "tracked_files": totals[0], "records": totals[1],
                  "duplicates": totals[2],
                  "skipped_lines": max(totals[3] + ledger.skipped_in_databases(self.conn, result.source), implausible),
                  "implausible_lines": implausible, "read_errors": result.errors[:5]}
        message = result.problem
        if not message and result.errors:
            message = f"{len(result.errors)} file(s) or folder(s) could not be read: {result.errors[0]}"
        status = result.status if not (result.errors and result.status == "ok") else "ok"
        ledger.set_status(self.conn, result.source, status, message, detail)

    # -- pricing ---------------------------------------------------------------------------
    def _priced(self, r):
        """``r`` priced as a re-price would (a cost the agent logged is used in ``auto`` mode)."""
        cost, label = self._price(r.model, r.input, r.output, r.cache_write_5m, r.cache_write_1h, r.cache_read,
                                  r.logged_cost_pico)
        return r.replace(cost_pico=cost, cost_label=label)

    def _price(self, model: str | None, i: int, o: int, c5: int, c1: int, cr: int,
               logged: int | None) -> tuple[int | None, str]:
        """Cost and label of one local record: the logged cost in ``auto`` mode when the line
        had one, nothing for no model (unless no tokens), else the price of the tokens."""
        if logged is not None and (self.mode == "auto" or i + o + c5 + c1 + cr == 0):
            return logged, ESTIMATED  # with no tokens (Crush: cost only) the logged cost is all there is
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
            updates = [(*self._price(model, i, o, c5, c1, cr, logged), rid)
                       for rid, model, i, o, c5, c1, cr, logged in ledger.local_price_inputs(self.conn)]
            ledger.set_costs(self.conn, updates)
            n = len(updates)
            set_meta(self.conn, "pricing_fingerprint", fp)
            from tokentui.core.pricing import pricing_data_version

            set_meta(self.conn, "pricing_version", pricing_data_version())
        return n
