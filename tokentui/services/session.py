"""The dashboard's backend, UI-free: one object owns the store connections and their locks,
demo mode, and the refresh and poll schedules. The TUI composes it: its workers call the
methods below (each in a thread, each with its own connection) and show what they return.

Refresh: a refresh syncs the local logs (or, in demo mode, extends the demo's live session)
and builds an immutable :class:`~tokentui.services.dashboard.Snapshot`; every
:data:`FULL_STATUS_EVERY` refreshes (and when asked) it re-checks every source in full, and
every :data:`SLOW_FIGURES_SECONDS` (and when asked) it also evaluates budgets and leverage.
:meth:`Session.next_refresh` decides which, so the UI only asks and shows.

Polls: one poll of the API sources at a time, each source on its own interval with backoff
(:class:`~tokentui.services.dashboard.PollSchedule`); never in demo mode.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from tokentui.config import Settings
from tokentui.errors import TokentopError
from tokentui.services import dashboard, status
from tokentui.services.dashboard import Figures, PollSchedule, Snapshot
from tokentui.services.history import HistoryTable
from tokentui.sources import registry
from tokentui.store import ledger
from tokentui.store.figures import QuarterCells

FULL_STATUS_EVERY = 12  # refreshes between full source checks (paths, keys, record counts)
#: seconds between budget and leverage evaluations (a budget's projection costs ~0.1 s of CPU)
SLOW_FIGURES_SECONDS = 30.0

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True, slots=True)
class RefreshPlan:
    full: bool  # re-check every source's paths and keys
    figures: bool  # evaluate budgets and leverage too


@dataclass(frozen=True, slots=True)
class RefreshResult:
    snapshot: Snapshot
    figures: Figures | None  # None when the plan did not ask for them
    #: (title, text) for the user, e.g. a damaged store was repaired
    notices: tuple[tuple[str, str], ...] = ()


class Session:
    """``db_path`` is the store; ``demo`` fills an empty store with generated history (and its
    own budgets and team file, next to the store) and never reads the user's logs, keys or
    files; ``clock`` gives "now" (tests freeze it)."""

    def __init__(self, settings: Settings, *, db_path: Path, demo: bool = False, clock: Clock | None = None,
                 demo_seed: int = 7) -> None:
        self.demo = demo
        self.db_path = db_path
        if demo:  # from the start, nothing of the user's config is shown or written
            settings = settings.replace(path=db_path.parent / "config.toml", raw={})
        self.settings = settings  # replaced (never mutated) when a budget is saved
        self._config_stamp = None if demo else _stamp(settings.path)  # the demo never reads it again
        self.clock: Clock = clock or utc_now
        self.demo_seed = demo_seed
        self.tz = settings.tz()
        self.polls = PollSchedule()
        self._conn = None  # the refresh worker's
        self._read_conn = None  # history workers', one at a time
        self._poll_conn = None  # the poll worker's
        self._conn_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._poll_lock = threading.Lock()
        self.refreshes = 0
        self._contacts: tuple | None = None  # the dashboard's device lines (see _share)
        self._cells = QuarterCells()  # the dashboard's quarter-hour totals, kept while the ledger is unchanged
        self._want_full = True
        self._figures_due = 0.0  # monotonic time of the next budget/leverage evaluation
        self._demo_pricer = None
        self._demo_configured = False

    # --- scheduling (UI thread; no I/O) ---------------------------------------------------------
    def ask_refresh(self, *, full: bool = False, figures: bool = False) -> None:
        """Note what the next refresh must include (a key was stored, ``r`` was pressed …)."""
        self._want_full |= full
        if full or figures:
            self._figures_due = 0.0

    def next_refresh(self) -> RefreshPlan:
        """What the refresh about to start does; resets what was asked."""
        self.refreshes += 1
        full = self._want_full or self.refreshes % FULL_STATUS_EVERY == 1
        self._want_full = False
        figures = time.monotonic() >= self._figures_due
        if figures:
            self._figures_due = time.monotonic() + SLOW_FIGURES_SECONDS
        return RefreshPlan(full, figures)

    def settings_saved(self, raw: dict) -> None:
        """The config document changed (a budget was saved): use it from now on."""
        self.settings = self.settings.replace(raw=raw)
        if not self.demo:
            self._config_stamp = _stamp(self.settings.path)

    def _reload_config(self, notices: list[tuple[str, str]]) -> bool:
        """Read config.toml again if it changed on disk since it was read (``tokentop budget set``,
        ``team use``, an editor); True when the settings were replaced. A file that does not parse
        keeps the settings in use, and says why once per change."""
        from tokentui.config import load_settings

        stamp = _stamp(self.settings.path)
        if self.demo or stamp == self._config_stamp:
            return False
        self._config_stamp = stamp
        try:
            new = load_settings(self.settings.path)
        except TokentopError as exc:
            notices.append(("Config not reloaded", f"{exc}; the dashboard keeps the settings it had"))
            return False
        changed = {k: v for k, v in new.raw.items() if k != "theme"} != \
            {k: v for k, v in self.settings.raw.items() if k != "theme"}
        self.settings, self.tz = new, new.tz()
        if changed:  # the dashboard's own theme save is no news
            notices.append(("Config reloaded", f"{self.settings.path} changed; budgets and settings updated"))
        return True

    # --- refresh (a worker thread) ----------------------------------------------------------------
    def refresh(self, plan: RefreshPlan, previous: Snapshot | None,
                first_paint: Callable[[Snapshot], None] | None = None, first_views=None,
                progress: Callable[[int, int], None] | None = None) -> RefreshResult:
        """Sync, then the snapshot (and, when planned, the figures). ``first_paint`` gets what is
        stored before any log is read, on the first refresh of a real store; so does
        ``first_views`` = (window, wanted, breakdown_by, callback), the Sessions/Projects data
        of the screen the app opens on (one thread, no contention with the sync). ``progress``
        gets the sync's (bytes read, bytes to read)."""
        import sqlite3

        from tokentui.store.db import NOTICES, StoreDamaged, store_error

        with self._conn_lock:
            notices: list[tuple[str, str]] = []
            conn = self.store(notices)
            while NOTICES:  # a damaged store was moved aside and rebuilt (store.recover)
                notices.append(("History store repaired", NOTICES.pop(0)))
            if self._reload_config(notices):
                plan = RefreshPlan(True, True)  # sources, budgets and leverage under the new settings
            try:
                snap, figs = self._refresh(conn, plan, previous, first_paint, notices, first_views, progress)
                notices.extend(("Plan limit", text) for text in (snap.quotas.alerts if snap.quotas else ()))
            except sqlite3.Error as exc:  # one plain line; a damaged store is repaired on the next refresh
                err = store_error(exc, self.db_path)
                if isinstance(err, StoreDamaged) and self._conn is not None:
                    self._conn.close()
                    self._conn = None  # the next refresh opens it with recover=True
                raise err from None
        return RefreshResult(snap, figs, tuple(notices))

    def _refresh(self, conn, plan: RefreshPlan, previous: Snapshot | None,
                 first_paint: Callable[[Snapshot], None] | None,
                 notices: list[tuple[str, str]] | None = None,
                 first_views=None, progress: Callable[[int, int], None] | None = None
                 ) -> tuple[Snapshot, Figures | None]:
        devices: tuple = ()
        if self.demo:
            rows = self._demo_sync(conn)
        else:
            from tokentui.services.sync import sync_local

            if previous is None and first_views is not None:
                from tokentui.services.sessions import build_views

                window, wanted, by, show = first_views
                show(build_views(conn, window, int(self.clock().timestamp() * 1000), wanted, by))
            if previous is None and first_paint is not None and ledger.holds_records(conn):
                # what is stored, before the logs are read; an empty history is not painted (its
                # zeros would read as nothing spent while the first sync runs)
                first_paint(dashboard.build_snapshot(conn, self.clock(), self.tz, cells=self._cells))
            sync_local(conn, self.settings, progress=progress)
            devices = self._share(conn, notices if notices is not None else [])
            if plan.full or previous is None or not previous.sources:
                rows = tuple(status.source_statuses(conn, self.settings, key_hints=True))
            else:
                rows = status.refresh_statuses(conn, previous.sources)
        snap = dashboard.build_snapshot(conn, self.clock(), self.tz, rows, self._cells)
        from tokentui.services.quota import oauth_enabled, poll_oauth, warn_threshold
        from tokentui.services.quota import view as quota_view

        if not self.demo and oauth_enabled(self.settings):
            try:  # opted in: at most every 5 minutes, 20 s at most; a failure is in `sources`
                poll_oauth(conn, self.settings)
            except Exception:  # noqa: BLE001 - never lose the refresh over an opt-in extra
                pass
        snap = replace(snap, quotas=quota_view(conn, snap.now_ms, warn=warn_threshold(self.settings)))
        if not self.demo and devices:
            snap = replace(snap, devices=devices)
        figs = dashboard.build_figures(conn, self.settings, self.clock(), self.tz) if plan.figures else None
        if not self.demo:  # today, burn and the most urgent budget, for `tokentop statusline`
            from tokentui.services.quota import write_summary

            write_summary(self.db_path.parent, snap, figs.budgets.results if figs is not None else None)
        return snap, figs

    def _share(self, conn, notices: list[tuple[str, str]]) -> tuple:
        """Export to and import from the share folder (at most every few minutes for the export),
        each new problem as a notice; the device lines for the dashboard."""
        if not self.settings.share_folder:
            return ()
        from tokentui.services.devices import contacts, sync_share

        res = sync_share(conn, self.settings, dashboard=True)
        for p in res.new_problems if res else ():
            notices.append(("Share folder", p.line()))
        cached = self._contacts
        if cached is None or (res and (res.imported or res.exported)) or self.refreshes % 60 == 0:
            # counting records per device reads the whole ledger: only when something moved
            # (or every 60th refresh, for our own new records)
            self._contacts = cached = contacts(conn, self.settings)
        return cached

    def store(self, notices: list[tuple[str, str]] | None = None):
        """The refresh worker's connection (opened, and a damaged store repaired, on first use).
        A history.db deleted, replaced or emptied under it is never written on: the connection
        is closed, what happened goes to ``notices``, and the path is opened again."""
        from tokentui.store.db import connect
        from tokentui.store.dbfile import close_if_moved, moved_message

        if self._conn is not None:
            why = close_if_moved(self._conn)
            if why:
                self._conn = None
                if notices is not None:
                    notices.append(("History store", moved_message(self.db_path, why)))
        if self._conn is None:
            self._conn = connect(self.db_path, recover=True)
        return self._conn

    def _demo_sync(self, conn):
        from tokentui.services import demo
        from tokentui.store.ledger import get_sync_state

        if self._demo_pricer is None:
            from tokentui.core.pricing import Pricer

            self._demo_pricer = Pricer()  # kept: it caches each model's rates
        if not self._demo_configured:  # budgets and a team file in the demo's own folder
            self.settings = demo.demo_settings(self.settings, self.db_path.parent, now=self.clock())
            self._demo_configured = True
        if get_sync_state(conn, "demo", "live_until_ms") is None:
            demo.generate(conn, now=self.clock(), tz=self.tz, seed=self.demo_seed, pricer=self._demo_pricer)
        else:
            demo.tick(conn, now=self.clock(), seed=self.demo_seed, pricer=self._demo_pricer)
        return status.stored_statuses(conn)

    # --- history (a worker thread) ----------------------------------------------------------------
    def history(self, period: str, source: str | None, model: str | None,
                cancelled: Callable[[], bool] = lambda: False, device: str | None = None) -> HistoryTable | None:
        """The History table, or None when ``cancelled()`` turned true while waiting."""
        from tokentui.services.history import build_history

        with self._read_lock:
            if cancelled():
                return None
            from tokentui.store.db import connect
            from tokentui.store.dbfile import close_if_moved

            if self._read_conn is not None and close_if_moved(self._read_conn):
                self._read_conn = None  # the refresh says what happened to the file
            if self._read_conn is None:
                self._read_conn = connect(self.db_path)
            return build_history(self._read_conn, self.tz, period, source, model, device)

    # --- sessions and projects (a worker thread) --------------------------------------------------
    def _reader(self):
        """The read workers' connection (call with ``_read_lock`` held)."""
        from tokentui.store.db import connect
        from tokentui.store.dbfile import close_if_moved

        if self._read_conn is not None and close_if_moved(self._read_conn):
            self._read_conn = None  # the refresh says what happened to the file
        if self._read_conn is None:
            self._read_conn = connect(self.db_path)
        return self._read_conn

    def views(self, window, wanted: tuple[str, ...], breakdown_by: str = "project",
              cancelled: Callable[[], bool] = lambda: False):
        """The Sessions/Projects data over ``window`` (a :class:`~tokentui.core.windows.Window`),
        or None when ``cancelled()`` turned true while waiting."""
        from tokentui.services.sessions import build_views

        with self._read_lock:
            if cancelled():
                return None
            now_ms = int(self.clock().timestamp() * 1000)
            return build_views(self._reader(), window, now_ms, wanted, breakdown_by)

    def session_detail(self, row, window):
        """One session's requests over time, models, cost by token kind, sub-agents, devices."""
        from tokentui.core.pricing import Pricer
        from tokentui.services.sessions import session_detail

        pricer = Pricer.from_settings(self.settings)

        def rates(model: str):
            r = pricer.rates(model)
            return None if r is None else (r.base[0], r.base[1], r.base[2], r.base[4])

        with self._read_lock:
            now_ms = int(self.clock().timestamp() * 1000)
            return session_detail(self._reader(), row, window, now_ms, rates)

    # --- export (a worker thread) -----------------------------------------------------------------
    def export(self, *, period: str, format: str, label: str | None, include_projects: bool) -> Path:
        from tokentui.services.snapshot import ExportOptions, write_snapshot
        from tokentui.store.db import connect

        options = ExportOptions(period=period, format=format, label=label, include_projects=include_projects,
                                timezone=str(self.tz), now=self.clock())
        conn = connect(self.db_path, readonly=True)
        try:
            return write_snapshot(conn, self.settings, options)
        finally:
            conn.close()

    # --- API polls --------------------------------------------------------------------------------
    def api_sources(self) -> list[str]:
        return [n for n in registry.names(registry.API) if self.settings.source(n).enabled]

    def due_polls(self, force: bool = False) -> tuple[str, ...]:
        """The API sources to poll now (``force``: also those not polled for a minute); none in
        demo mode."""
        if self.demo:
            return ()
        return tuple(self.polls.due_now(self.api_sources(), time.monotonic(), force))

    def poll(self, only: tuple[str, ...]) -> tuple[tuple[str, str, str], ...]:
        """Runs in a worker thread: poll ``only``; ``(source, status, message)`` each."""
        from tokentui.services.poll import poll_all
        from tokentui.services.sync import open_store
        from tokentui.store.dbfile import close_if_moved

        with self._poll_lock:
            if self._poll_conn is not None and close_if_moved(self._poll_conn):
                self._poll_conn = None  # never poll into a deleted file; the refresh says what happened
            if self._poll_conn is None:
                self._poll_conn = open_store(self.db_path)
            results = poll_all(self._poll_conn, self.settings, only=only)
        return tuple((r.source, r.status, r.message) for r in results)

    def polled(self, results: tuple[tuple[str, str, str], ...]) -> bool:
        """Schedule each source's next poll; True when the screens have something new to show."""
        now = time.monotonic()
        for source, state, _text in results:
            self.polls.polled(source, state, now, self.settings.source(source).poll_interval)
        return any(state not in ("skipped", "error") or text for _, state, text in results)

    def poll_failed(self, only: tuple[str, ...]) -> None:
        """A poll raised: back off each source it was for."""
        self.polled(tuple((s, "error", "") for s in only))

    def seconds_to_next_poll(self) -> float | None:
        if self.demo:
            return None
        now = time.monotonic()
        return max(1.0, self.polls.next_at(self.api_sources(), now) - now)

    def next_poll_in(self, source: str) -> float | None:
        """Seconds until ``source`` is polled again (0: due now), or None when no poll is
        scheduled (demo mode, a disabled source, or before the first poll)."""
        due = None if self.demo else self.polls.due.get(source)
        return None if due is None else max(0.0, due - time.monotonic())

    def key_stored(self, source: str) -> None:
        self.polls.due[source] = 0.0
        self.ask_refresh(full=True)

    # --- the end ---------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the workers' connections, each once its worker is done with it (a thread
        worker outlives the app's exit; closing under a running query would crash)."""
        for lock, attr in ((self._conn_lock, "_conn"), (self._read_lock, "_read_conn"),
                           (self._poll_lock, "_poll_conn")):
            held = lock.acquire(timeout=30)
            conn = getattr(self, attr)
            setattr(self, attr, None)
            try:
                if conn is not None:
                    conn.close()
            except Exception:  # closing is best effort on the way out
                pass
            finally:
                if held:
                    lock.release()


def _stamp(path: Path) -> tuple[int, int] | None:
    """What tells a changed config file: modification time and size (None: no file)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size
