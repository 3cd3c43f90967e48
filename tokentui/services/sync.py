"""One sync: ingest local sources incrementally (and poll API sources once they exist)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Callable, Sequence

from tokentui import paths
from tokentui.config import Settings
from tokentui.core.pricing import Pricer
from tokentui.errors import StoreMissing
from tokentui.services.ingest import Ingestor
from tokentui.services.ingest_result import SourceResult
from tokentui.services.quota_gates import spool_path
from tokentui.sources import registry
from tokentui.store import ledger
from tokentui.store.db import connect


#: new log bytes from which a sync shows how far it is (the command line's bar, the dashboard's header)
PROGRESS_FROM = 16 << 20


def open_store(db: Path | None = None, readonly: bool = False) -> sqlite3.Connection:
    """The history store; a damaged one is moved aside and rebuilt (see :func:`connect`)."""
    return connect(db or paths.history_db(), readonly=readonly, recover=not readonly)


def open_stored(db: Path | None = None) -> tuple[sqlite3.Connection, bool]:
    """The store for a command that reads only what is stored (``--no-sync``), and whether it
    had to be repaired on the way (then what it holds is incomplete until the logs are read
    again). A missing store is :class:`~tokentui.errors.StoreMissing`: never an empty new one
    that reports zeros as if nothing had been spent."""
    from tokentui.store import db as store_db

    path = db or paths.history_db()
    if not path.exists():
        raise StoreMissing(path)
    before = len(store_db.NOTICES)
    conn = open_store(path)
    return conn, len(store_db.NOTICES) > before


def local_sources(settings: Settings, only: Sequence[str] = ()) -> list[str]:
    names = [s for s in registry.names(registry.LOCAL) if settings.source(s).enabled]
    if only:
        names = [s for s in names if s in only]
    return names


def sync_local(conn: sqlite3.Connection, settings: Settings, *, only: Sequence[str] = (),
               progress: Callable[[int, int], None] | None = None, pricer: Pricer | None = None
               ) -> list[SourceResult]:
    """Ingest new lines of every enabled local source (``only`` restricts the set)."""
    pricer = pricer or Pricer.from_settings(settings)
    extra = {name: settings.source(name).paths for name in registry.names(registry.LOCAL)}
    ing = Ingestor(conn, pricer, device=settings.device, mode=settings.pricing_mode, extra_paths=extra,
                   progress=progress)
    results = ing.run(local_sources(settings, only))
    if (not only or "claude-code" in only) and spool_path().exists():
        from tokentui.services.quota import ingest_spool

        ingest_spool(conn, settings.device)  # what `tokentop statusline` recorded
    return results


def api_poll_needed(conn: sqlite3.Connection, settings: Settings) -> bool:
    """Whether polling the API sources could do anything: one has a key, or one's stored status
    is not yet "not configured" (a key was removed). Cheap once the keyring index knows each
    source (no keyring, no httpx), so a sync without keys starts fast."""
    from tokentui.credentials import has_key, keyring_index

    names = [n for n in registry.names(registry.API) if settings.source(n).enabled]
    index = keyring_index()  # one read for every source
    if any(has_key(n, index) for n in names):
        return True
    return bool(names) and ledger.any_status_other_than(conn, names, "not configured")
