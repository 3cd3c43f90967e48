"""Worker processes that parse a big ingest while the writer applies the dedupe rules and
commits, in file order: the result is the ledger a serial ingest writes.

Workers run at lower priority than the writer and return plain tuples; if one dies, the rest
is parsed in this process. From a single-threaded process (``tokentop sync``) they are forked
and inherit the jobs and the parse context. Forking a process that runs other threads is
unsafe (a lock another thread holds stays held in the child forever), so from the dashboard,
whose sync runs on a thread beside the UI's, they are spawned: new interpreters that get the
parse context when they start and their jobs with each task. Spawning costs each worker an
interpreter start and the parsers' imports (~70 ms: a new ``python`` importing
``multiprocessing.spawn``, this module and orjson), so it pays only from :data:`SPAWN_MIN` bytes.

Workers die with the writer, however it ends, so they never hold the store or the caller's
output pipe (``$(tokentop sync)``) after it: each asks the kernel for SIGKILL when its parent
dies (``PR_SET_PDEATHSIG``) and, where that cannot be armed, checks every
:data:`PARENT_CHECK` seconds that its parent is alive. A SIGTERM or SIGHUP to the writer
(when not ignored) first kills the workers, then ends the writer as the signal would have.
Workers ignore SIGINT (Ctrl-C reaches the whole terminal process group): the writer stops
them in order. Their stdin and stdout are /dev/null.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sqlite3
import sys
import threading
from collections import deque
from typing import Any, Sequence

from tokentui.services.logfiles import Job, Parsed, parse_jsonl
from tokentui.sources.common import parser_ready
from tokentui.sources.readers import ParseContext
from tokentui.store.db import set_autocheckpoint, set_cache_size

PARALLEL_MIN = 16 << 20  # new bytes from which worker processes parse (forking costs ~20 ms)
SPAWN_MIN = 64 << 20  # the same for spawned workers (see the module doc)
TASK = 2 << 20  # bytes of log per task sent to a worker
WINDOW = 64 << 20  # bytes of log parsed ahead of the writer at most (bounds memory)
PARENT_CHECK = 0.25  # seconds between a worker's checks that its parent lives (without PDEATHSIG)
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
#: names of the signals whose default action ends the writer: its handler kills the workers first
_FATAL = ("SIGTERM", "SIGHUP")

#: the jobs and context of the running ingest; worker processes inherit it when they fork
_WORK: dict[str, Any] = {}


def _no_progress(_n: int) -> None:
    pass


def _work(source: str, indices: list[int]) -> list[tuple[Parsed | None, list[str]]]:
    """Runs in a forked worker: parse the jobs at ``indices`` of ``source``."""
    jobs, ctx = _WORK[source], _WORK["ctx"]
    return [parse_jsonl(jobs[i], ctx, _no_progress) for i in indices]


def _work_sent(jobs: list[Job]) -> list[tuple[Parsed | None, list[str]]]:
    """Runs in a spawned worker: parse ``jobs``, sent with the task."""
    ctx = _WORK["ctx"]
    return [parse_jsonl(job, ctx, _no_progress) for job in jobs]


def forking_is_safe() -> bool:
    """Whether workers may be forked: this process runs no other thread."""
    return threading.active_count() == 1


def _fatal_signals() -> tuple:
    """The :data:`_FATAL` signals this platform has. ``signal`` is imported here and in the other
    functions that send or trap signals: only a sync that starts workers needs it (~0.6 ms)."""
    import signal

    return tuple(getattr(signal, n) for n in _FATAL if hasattr(signal, n))


def _arm_parent_death_signal() -> bool:
    """Ask Linux to SIGKILL this process when its parent dies; False where that is not possible."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent: int) -> None:
    """The fallback: end this worker at once when its parent is gone (it is then re-parented)."""
    import time

    while os.getppid() == parent:
        time.sleep(PARENT_CHECK)
    os._exit(1)


def _spawned_init(parent: int, ctx: ParseContext) -> None:
    """Runs first in each spawned worker: the parse context, then as a forked one."""
    _WORK["ctx"] = ctx
    _worker_init(parent)


def _worker_init(parent: int) -> None:
    """Runs first in each worker: die with the writer (see the module doc), leave Ctrl-C and
    SIGTERM/SIGHUP handling to it, keep off its stdout, and yield the CPU to it: it alone
    orders and commits the results, so it is the ingest's critical path."""
    import signal

    armed = _arm_parent_death_signal()
    if os.getppid() != parent:  # the writer died before the signal was armed
        os._exit(1)
    if not armed:
        threading.Thread(target=_watch_parent, args=(parent,), name="tokentop-parent-check", daemon=True).start()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for sig in _fatal_signals():  # the writer's handler, inherited through fork, is not for workers
        if signal.getsignal(sig) not in (signal.SIG_IGN, None):
            signal.signal(sig, signal.SIG_DFL)
    try:
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(null, 1)  # also keeps a flush of stdout text inherited at fork from printing twice
        os.close(null)
    except OSError:
        pass
    try:
        os.nice(10)
    except OSError:
        pass


@contextlib.contextmanager
def _quiet_stderr(spawning: bool):
    """While spawned workers are set up: ``sys.stderr`` on /dev/null. Spawning starts
    multiprocessing's resource tracker, which is handed ``sys.stderr``'s descriptor, and under
    the dashboard that is Textual's capture, with none (``ValueError: bad value(s) in
    fds_to_keep``); nor should the tracker ever print over the dashboard."""
    if not spawning:
        yield
        return
    saved = sys.stderr
    with open(os.devnull, "w") as null:
        sys.stderr = null
        try:
            yield
        finally:
            sys.stderr = saved


def _tasks(jobs: Sequence[Job]) -> list[list[int]]:
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
    (at most 4); 1 (parse here) off Linux, where worker processes are not tried yet."""
    env = os.environ.get("TOKENTOP_INGEST_WORKERS", "").strip()
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            return 1
    if sys.platform != "linux":
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return min(cpus, 4)


class ParsePool:
    """The worker processes of one ingest (none until :meth:`start`). :meth:`parsed` yields
    every job's parse, in order, from the workers or, when none run, from this process."""

    def __init__(self, conn: sqlite3.Connection, ctx: ParseContext, workers: int) -> None:
        self.conn = conn
        self.ctx = ctx
        self.workers = workers
        self.failure: str | None = None  # why the workers stopped early (the rest ran here)
        self._executor = None
        self._gc_paused = False
        self._cache_size: int | None = None  # the store's page cache size, while raised
        self._autocheckpoint: int | None = None  # its WAL checkpoint threshold, while raised
        self._spawned = False  # workers are spawned (see the module doc), their jobs sent with each task
        self._jobs: dict[str, list[Job]] = {}
        self._queued: deque = deque()  # (source, job indices, bytes) not yet submitted
        self._pending: deque = deque()  # (source, job indices, bytes, future) submitted, in order
        self._handlers: dict[int, Any] = {}  # signal -> the handler to restore at stop

    @property
    def active(self) -> bool:
        return self._executor is not None

    @staticmethod
    def min_bytes() -> int:
        """New bytes from which starting workers pays, here and now (spawning costs more)."""
        return PARALLEL_MIN if forking_is_safe() else SPAWN_MIN

    def start(self, jobs: dict[str, list[Job]]) -> None:
        """Start the workers (forked ones inherit ``jobs`` and the context) and queue every
        parse task (all sources, in ingest order)."""
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self._spawned = not forking_is_safe()
        self._jobs = jobs
        _WORK.clear()
        if self._spawned:
            context, init, args = multiprocessing.get_context("spawn"), _spawned_init, (os.getpid(), self.ctx)
        else:
            _WORK.update(jobs, ctx=self.ctx)
            parser_ready()  # the workers inherit it
            context, init, args = multiprocessing.get_context("fork"), _worker_init, (os.getpid(),)
            # A `tokentop sync` makes no reference cycles while it ingests: no cyclic GC until
            # it ends (~5 % faster), and what exists now is frozen, so forked workers never scan
            # (so never copy) what they inherit. Not in the dashboard: its UI thread goes on
            # making garbage, and what is frozen is never collected.
            self._gc_paused = gc.isenabled()
            gc.disable()
            gc.freeze()
        # a page cache that holds the ledger's indexes while they grow (SQLite's default is 2 MiB:
        # random inserts into a bigger index evict and re-read pages): ~3 % on a 500 MB ingest
        self._cache_size = set_cache_size(self.conn, -32768)
        # and fewer checkpoints: each one copies every page the commits since the last one
        # changed back into the file and syncs it; with the default (1,000 pages, 4 MB) nearly
        # every commit of a big ingest did one. 4,000 pages (16 MB) of WAL between checkpoints
        # write the same hot index pages back a quarter as often (1 GB ingest: the writer's
        # time -10 %, its WAL file at most ~31 MB)
        self._autocheckpoint = set_autocheckpoint(self.conn, 4000)
        try:
            with _quiet_stderr(self._spawned):
                self._executor = ProcessPoolExecutor(self.workers, mp_context=context, initializer=init,
                                                     initargs=args)
        except (OSError, ImportError, ValueError):  # no semaphores (some containers): parse here
            self._executor = None
            return
        self._trap_signals()
        for source, js in jobs.items():
            for task in _tasks(js):
                self._queued.append((source, task, sum(js[i].st.st_size - js[i].start for i in task)))
        try:  # the first submit starts every worker (forked: now, while this process has one thread)
            self._submit_ahead()
        except (OSError, RuntimeError) as exc:
            self.failure = f"{type(exc).__name__}: {exc}"
            self.stop()

    def _trap_signals(self) -> None:
        """SIGTERM/SIGHUP kill the workers before they end this process (only where their
        action is the default: an ignored SIGHUP, as under nohup, stays ignored)."""
        import signal

        if threading.current_thread() is not threading.main_thread():
            return
        for sig in _fatal_signals():
            if signal.getsignal(sig) is signal.SIG_DFL:
                self._handlers[sig] = signal.signal(sig, self._on_fatal_signal)

    def _restore_signals(self) -> None:
        if not self._handlers:
            return
        import signal

        while self._handlers:
            sig, previous = self._handlers.popitem()
            signal.signal(sig, previous)

    def _on_fatal_signal(self, signum: int, _frame) -> None:
        self.kill_workers()
        self._restore_signals()
        os.kill(os.getpid(), signum)  # the default action now: end as the signal would have

    def kill_workers(self) -> None:
        """SIGKILL every worker process at once (they hold no state of their own)."""
        import signal

        procs = getattr(self._executor, "_processes", None) or {}
        for proc in list(procs.values()):
            try:
                os.kill(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError, TypeError):
                pass

    def stop(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        self._restore_signals()
        if self._cache_size is not None:
            set_cache_size(self.conn, self._cache_size)
            self._cache_size = None
        if self._autocheckpoint is not None:
            set_autocheckpoint(self.conn, self._autocheckpoint)
            self._autocheckpoint = None
        if self._gc_paused:
            # freeze what the ingest made before collecting again: a first collection over all of
            # it costs ~15 ms and finds nothing; frozen objects are still freed by refcounting
            self._gc_paused = False
            gc.freeze()
            gc.enable()
        self._queued.clear()
        self._pending.clear()
        self._jobs = {}
        _WORK.clear()

    def _submit_ahead(self) -> None:
        """Keep tasks submitted up to WINDOW bytes ahead of the writer, across sources, so the
        workers start on Codex while the last Claude batch is written."""
        ahead = sum(size for _, _, size, _ in self._pending)
        while self._queued and (ahead < WINDOW or not self._pending):
            source, task, size = self._queued.popleft()
            future = (self._executor.submit(_work_sent, [self._jobs[source][i] for i in task]) if self._spawned
                      else self._executor.submit(_work, source, task))
            self._pending.append((source, task, size, future))
            ahead += size

    def parsed(self, source: str, jobs: list[Job], on_bytes):
        """Yield ``(job, parsed, errors)`` for each job, in order: parsed in worker processes
        when they run, else here. If a worker dies (killed, out of memory), the rest is
        parsed here: the ingest still completes, exactly."""
        done = 0  # jobs yielded; tasks cover consecutive jobs in order
        if self._executor is not None:
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
                self.failure = f"{type(exc).__name__}: {exc}"
                self.stop()  # RuntimeError: submit after a shutdown; OSError: cannot fork
        for job in jobs[done:]:
            yield job, *parse_jsonl(job, self.ctx, on_bytes)
