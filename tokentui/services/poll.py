"""Poll every API source once: fetch concurrently, write each source in one transaction.

* A source with no key is ``not configured`` (the status names the env var and command).
* Each source's records, deletions, sync state and status commit together; a source that
  fails writes only its error status, so stored history and the other sources are intact.
* Windows: the first successful poll backfills ``backfill_days``; later polls re-fetch the
  last 3 days, or back to the previous success when that is older (``covered_from`` and
  ``last_ok_day`` in ``sync_state``). See :mod:`tokentui.sources.api.base`.
* Polls never overlap: a second ``poll_all`` while one runs (another thread, or another
  process using the same store) returns ``skipped`` results at once instead of waiting.
* Every poll has a deadline (:data:`tokentui.sources.api.http.POLL_DEADLINE`): no request,
  retry or Retry-After wait runs past it. A source cut short keeps what its provider says
  stays exact without the rest (``Fetched.incomplete``): those records are written, its
  status is ``error`` saying what was cut short, and its window is not advanced, so the
  next poll fetches the same days again.
* No key reaches the store: every string that came from an API (records' text fields and
  natural keys, raw bodies, messages, status detail, sync state) is redacted of every
  configured key and anything shaped like a key (:mod:`tokentui.core.secrets`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from tokentui.config import Settings
from tokentui.core.pricing import Pricer
from tokentui.core.secrets import redact_secrets, redact_tree
from tokentui.credentials import configured_keys, get_key, key_env, key_problem, redact
from tokentui.errors import ConfigError, StoreError
from tokentui.sources import registry
from tokentui.sources.api import PROVIDERS, Provider, http, resolve_base_url
from tokentui.sources.api.base import Fetched, PollContext, Window, plan_window
from tokentui.sources.api.http import ApiClient, ApiError, RetryPolicy
from tokentui.store import ledger
from tokentui.store.db import file_of, transaction

if TYPE_CHECKING:
    import httpx

OK, ERROR, NOT_CONFIGURED, SKIPPED = "ok", "error", "not configured", "skipped"

_THREAD_LOCK = threading.Lock()


@dataclass
class PollResult:
    """What one source's poll did. ``status``: ok | error | not configured | skipped."""

    source: str
    status: str
    message: str
    records: int = 0  # ledger records written
    requests: int = 0  # HTTP requests sent, retries included
    detail: dict[str, Any] = field(default_factory=dict)


def poll_all(conn: sqlite3.Connection, settings: Settings, *, only: Sequence[str] = (), now: datetime | None = None,
             transport: httpx.AsyncBaseTransport | None = None, retry: RetryPolicy | None = None,
             pricer: Pricer | None = None) -> list[PollResult]:
    """Poll every enabled API source that has a key (``only`` restricts the set); blocking.

    Safe to call from a worker thread or from inside a running event loop (it then runs
    the poll on a helper thread). ``transport`` and ``retry`` exist for tests.
    """
    coro = poll_all_async(conn, settings, only=only, now=now, transport=transport, retry=retry, pricer=pricer)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(1, thread_name_prefix="tokentop-poll") as pool:
        return pool.submit(asyncio.run, coro).result()


async def poll_all_async(conn: sqlite3.Connection, settings: Settings, *, only: Sequence[str] = (),
                         now: datetime | None = None, transport: httpx.AsyncBaseTransport | None = None,
                         retry: RetryPolicy | None = None, pricer: Pricer | None = None) -> list[PollResult]:
    """The async form of :func:`poll_all`."""
    names = [n for n in registry.names(registry.API) if settings.source(n).enabled and (not only or n in only)]
    with _exclusive(conn) as acquired:
        if not acquired:
            return [PollResult(n, SKIPPED, "another poll is running; skipped") for n in names]
        now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
        pricer = pricer or Pricer.from_settings(settings)
        deadline = time.monotonic() + http.POLL_DEADLINE
        results: dict[str, PollResult] = {}
        jobs = []
        keys: list[str] = []  # every key in use: redacted from whatever the APIs send back
        for name in names:
            key, _origin = get_key(name)
            if not key:
                msg = f"no key: set {key_env(name)} or run `tokentop keys add {name}`"
                results[name] = _status_only(conn, name, NOT_CONFIGURED, msg)
                continue
            if key_problem(key):
                msg = (f"the {name} key (from {_origin}) {key_problem(key)}: set it again with only the key "
                       f"({key_env(name)} or `tokentop keys add {name}`)")
                results[name] = _status_only(conn, name, ERROR, msg)
                continue
            try:
                base = resolve_base_url(name, settings)
            except ConfigError as exc:
                results[name] = _status_only(conn, name, ERROR, f"{exc.message} ({exc.hint})")
                continue
            keys.append(key)
            state = _states(conn, name)
            ctx = PollContext(name, now, _window(PROVIDERS[name], settings, now, state), state, pricer, key)
            jobs.append(_fetch_one(PROVIDERS[name], key, base, ctx, transport, retry, deadline))
        if jobs:
            keys.extend(configured_keys())  # a gateway may echo another source's key
        for done in asyncio.as_completed(jobs):
            p, key, ctx, fetched, error, requests = await done
            results[p.name] = _write(conn, settings, p, tuple(dict.fromkeys(keys)), ctx, fetched, error, requests)
        return [results[n] for n in names]


def _window(p: Provider, settings: Settings, now: datetime, state: dict[str, str]) -> Window:
    today = now.date()
    if not p.windowed:
        return Window(today, today)

    def day(name: str) -> date | None:
        try:
            return date.fromisoformat(state[name])
        except (KeyError, ValueError):
            return None

    return plan_window(today, settings.source(p.name).backfill_days, day("covered_from"), day("last_ok_day"))


async def _fetch_one(p: Provider, key: str, base: str, ctx: PollContext,
                     transport: httpx.AsyncBaseTransport | None, retry: RetryPolicy | None, deadline: float):
    client = ApiClient(p.label, base, p.headers(key), secret=key, retry=retry, transport=transport,
                       deadline=deadline)
    try:
        async with client:
            # the client ends every request and wait at the deadline; this only catches what
            # is not HTTP (it cannot keep a partial fetch)
            async with asyncio.timeout(max(0.0, deadline - time.monotonic()) + 5.0):
                fetched = await p.fetch(client, ctx)
        fetched.notes[:0] = client.notes
        return p, key, ctx, fetched, None, client.requests
    except ApiError as exc:
        return p, key, ctx, None, client.scrub(p.explain(exc, key)), client.requests
    except TimeoutError:
        return p, key, ctx, None, (f"{p.label} did not finish within this poll's {http.POLL_DEADLINE:g} s; "
                                   "the next poll tries again"), client.requests
    except Exception as exc:  # a parser bug in one source must not take the others down
        return p, key, ctx, None, client.scrub(f"unexpected {type(exc).__name__} while reading {p.label}: "
                                               f"{exc}"), client.requests


def _redact_fetched(fetched: Fetched, keys: Sequence[str]) -> None:
    """Every string the API sent, as it will be stored: no key in it (see the module doc). A
    natural key that held a key is rewritten, and its old form deleted, so a record stored
    before redaction existed is replaced rather than counted twice."""
    for r in fetched.records:
        clean = redact_secrets(r.key, keys, identity=True)
        if clean != r.key:
            fetched.delete.append(r.key)
            r.key = clean
        for name in ("model", "project", "session", "msg_id", "raw"):
            value = getattr(r, name)
            if value:
                setattr(r, name, redact_secrets(value, keys))
    fetched.notes = [redact_secrets(n, keys) for n in fetched.notes]
    fetched.incomplete = [redact_secrets(n, keys) for n in fetched.incomplete]
    fetched.summary = redact_secrets(fetched.summary, keys)
    fetched.detail = redact_tree(fetched.detail, keys)
    fetched.state = {k: redact_secrets(v, keys) for k, v in fetched.state.items()}


def _write(conn: sqlite3.Connection, settings: Settings, p: Provider, keys: Sequence[str], ctx: PollContext,
           fetched: Fetched | None, error: str | None, requests: int) -> PollResult:
    if fetched is None:
        return _status_only(conn, p.name, ERROR, error or "failed", {"requests": requests}, keys)
    _redact_fetched(fetched, keys)
    parts = [fetched.summary, *fetched.notes]
    status = OK
    state = dict(fetched.state)
    if fetched.incomplete:
        status = ERROR
        parts += [f"incomplete: {'; '.join(fetched.incomplete)}",
                  f"kept the {len(fetched.records):,} record(s) fetched; the next poll fetches the rest"]
    elif p.windowed:  # a poll cut short covered nothing new: the next one fetches the same days
        old = ctx.state.get("covered_from")
        start = ctx.window.start.isoformat()
        state["covered_from"] = min(old, start) if old else start
        state["last_ok_day"] = ctx.today.isoformat()
    message = "; ".join(m for m in parts if m)
    detail = {**fetched.detail, "requests": requests, "records": len(fetched.records),
              "window": [ctx.window.start.isoformat(), ctx.window.end.isoformat()]}
    try:
        with transaction(conn):
            ledger.upsert(conn, fetched.records, settings.device)
            ledger.delete_keys(conn, p.name, fetched.delete)
            for name, value in state.items():
                ledger.set_sync_state(conn, p.name, name, value)
            ledger.set_status(conn, p.name, status, message, detail=detail)
    except (sqlite3.Error, StoreError, OverflowError) as exc:
        msg = f"fetched, but could not write to the history store: {exc}"
        return _status_only(conn, p.name, ERROR, msg, {"requests": requests}, keys)
    return PollResult(p.name, status, message, len(fetched.records), requests, detail)


def _status_only(conn: sqlite3.Connection, name: str, status: str, message: str,
                 detail: dict | None = None, keys: Sequence[str] = ()) -> PollResult:
    message = redact_secrets(message, keys)
    with contextlib.suppress(sqlite3.Error):  # a locked store must not hide the real problem
        with transaction(conn):
            ledger.set_status(conn, name, status, message, detail=detail)
    return PollResult(name, status, message, 0, (detail or {}).get("requests", 0), detail or {})


def _states(conn: sqlite3.Connection, source: str) -> dict[str, str]:
    return ledger.sync_states(conn, source)


@contextlib.contextmanager
def _exclusive(conn: sqlite3.Connection) -> Iterator[bool]:
    """Hold the in-process lock and, where supported, a lock file next to the store."""
    if not _THREAD_LOCK.acquire(blocking=False):
        yield False
        return
    handle = None
    try:
        db = file_of(conn)
        if db:
            try:
                import fcntl
            except ImportError:  # Windows: the in-process lock is all there is
                fcntl = None
            if fcntl is not None:
                handle = os.fdopen(os.open(f"{db}.poll.lock", os.O_RDWR | os.O_CREAT, 0o600), "a+")
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    handle.close()
                    handle = None
                    yield False
                    return
        yield True
    finally:
        if handle is not None:
            handle.close()  # closing releases the flock
        _THREAD_LOCK.release()


def check_key(source: str, settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None,
             now: datetime | None = None) -> tuple[bool, str]:
    """Make exactly one call with ``source``'s key; ``(ok, plain-words explanation)``."""
    key, origin = get_key(source, refresh=True)  # a user-initiated check asks the keyring itself
    if not key:
        return False, f"no key for {source}: set {key_env(source)} or run `tokentop keys add {source}`"
    if key_problem(key):
        return False, f"the {source} key (from {origin}) {key_problem(key)}: set it again with only the key"
    p = PROVIDERS[source]
    base = resolve_base_url(source, settings)
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    ctx = PollContext(source, now, Window(now.date(), now.date()), {}, None, key)
    client = ApiClient(p.label, base, p.headers(key), secret=key, retry=RetryPolicy(attempts=1),
                       transport=transport)

    async def one_call() -> str:
        async with client:
            return await p.check(client, ctx)

    keys = (key, *configured_keys(keyring=False))
    try:
        message = asyncio.run(one_call())
    except ApiError as exc:
        return False, redact_secrets(client.scrub(p.explain(exc, key)), keys)
    return True, redact_secrets(client.scrub(f"{p.label} key {redact(key)} from {origin}: {message}"), keys)
