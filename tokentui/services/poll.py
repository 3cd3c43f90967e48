"""Poll every API source once: fetch concurrently, write each source in one transaction.

* A source with no key is ``not configured`` (the status names the env var and command).
* Each source's records, deletions, sync state and status commit together; a source that
  fails writes only its error status, so stored history and the other sources are intact.
* Windows: the first successful poll backfills ``backfill_days``; later polls re-fetch the
  last 3 days, or back to the previous success when that is older (``covered_from`` and
  ``last_ok_day`` in ``sync_state``). See :mod:`tokentui.sources.api.base`.
* Polls never overlap: a second ``poll_all`` while one runs (another thread, or another
  process using the same store) returns ``skipped`` results at once instead of waiting.
* No key reaches the store: messages and raw bodies are scrubbed of the key string.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from tokentui.config import Settings
from tokentui.core.pricing import Pricer
from tokentui.credentials import get_key, key_env, key_problem, redact
from tokentui.errors import ConfigError, StoreError
from tokentui.sources import registry
from tokentui.sources.api import PROVIDERS, Provider, resolve_base_url
from tokentui.sources.api.base import Fetched, PollContext, Window, plan_window
from tokentui.sources.api.http import ApiClient, ApiError, RetryPolicy
from tokentui.store import ledger
from tokentui.store.db import transaction

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
        results: dict[str, PollResult] = {}
        jobs = []
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
            state = _states(conn, name)
            ctx = PollContext(name, now, _window(PROVIDERS[name], settings, now, state), state, pricer, key)
            jobs.append(_fetch_one(PROVIDERS[name], key, base, ctx, transport, retry))
        for done in asyncio.as_completed(jobs):
            p, key, ctx, fetched, error, requests = await done
            results[p.name] = _write(conn, settings, p, key, ctx, fetched, error, requests)
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
                     transport: httpx.AsyncBaseTransport | None, retry: RetryPolicy | None):
    client = ApiClient(p.label, base, p.headers(key), secret=key, retry=retry, transport=transport)
    try:
        async with client:
            fetched = await p.fetch(client, ctx)
        fetched.notes[:0] = client.notes
        return p, key, ctx, fetched, None, client.requests
    except ApiError as exc:
        return p, key, ctx, None, client.scrub(p.explain(exc, key)), client.requests
    except Exception as exc:  # a parser bug in one source must not take the others down
        return p, key, ctx, None, client.scrub(f"unexpected {type(exc).__name__} while reading {p.label}: "
                                               f"{exc}"), client.requests


def _write(conn: sqlite3.Connection, settings: Settings, p: Provider, key: str, ctx: PollContext,
           fetched: Fetched | None, error: str | None, requests: int) -> PollResult:
    if fetched is None:
        return _status_only(conn, p.name, ERROR, error or "failed", {"requests": requests})
    for r in fetched.records:  # belt and braces: a body echoing the key must not store it
        if r.raw and key in r.raw:
            r.raw = r.raw.replace(key, redact(key))
    message = "; ".join(m for m in [fetched.summary, *fetched.notes] if m).replace(key, redact(key))
    state = dict(fetched.state)
    if p.windowed:
        old = ctx.state.get("covered_from")
        start = ctx.window.start.isoformat()
        state["covered_from"] = min(old, start) if old else start
        state["last_ok_day"] = ctx.today.isoformat()
    detail = {**fetched.detail, "requests": requests, "records": len(fetched.records),
              "window": [ctx.window.start.isoformat(), ctx.window.end.isoformat()]}
    try:
        with transaction(conn):
            ledger.upsert(conn, fetched.records, settings.device)
            ledger.delete_keys(conn, p.name, fetched.delete)
            for name, value in state.items():
                ledger.set_sync_state(conn, p.name, name, value)
            ledger.set_status(conn, p.name, OK, message, detail=detail)
    except (sqlite3.Error, StoreError, OverflowError) as exc:
        msg = f"fetched, but could not write to the history store: {exc}"
        return _status_only(conn, p.name, ERROR, msg, {"requests": requests})
    return PollResult(p.name, OK, message, len(fetched.records), requests, detail)


def _status_only(conn: sqlite3.Connection, name: str, status: str, message: str,
                 detail: dict | None = None) -> PollResult:
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
        db = next((row[2] for row in conn.execute("PRAGMA database_list") if row[1] == "main"), "")
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

    try:
        message = asyncio.run(one_call())
    except ApiError as exc:
        return False, client.scrub(p.explain(exc, key))
    return True, client.scrub(f"{p.label} key {redact(key)} from {origin}: {message}")
