"""The Textual App: wiring, workers and app-level reactives (themes: app_themes; API polls: app_polling).

Data flow: an interval only *starts* a refresh worker (a thread); the worker syncs local logs
(or, in demo mode, extends the demo's live session), builds an immutable
:class:`~tokentui.services.dashboard.Snapshot` and posts :class:`UsageUpdated`. The App
replaces its ``snapshot`` reactive; screens watch it. The next refresh is armed only when the
last one has finished, so refreshes never overlap; ``r`` asks for one now (or right after the
running one). Every ``SLOW_FIGURES_SECONDS`` (and on ``r`` or a budget change) the same worker
also evaluates the budgets (announcing thresholds crossed for the first time) and builds the
leverage report: the ``budgets`` and ``leverage`` reactives.

Other workers, each with its own connection or none: history tables; API polls (one at a
time, armed when the last finished, per-source interval with backoff; never in demo mode);
export; storing and testing keys; writing budgets to config.toml.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from dataclasses import replace
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.worker import Worker, WorkerState, get_current_worker

from tokentui import paths
from tokentui.config import Settings
from tokentui.errors import TokentopError
from tokentui.messages import (BudgetSaved, ExportFinished, FiguresUpdated, HistoryLoaded, HistoryQuery,
                               HistoryRequested, KeyStored, RefreshFailed, UsageUpdated)
from tokentui.screens.budgets_screen import BudgetsScreen
from tokentui.screens.dashboard_screen import DashboardScreen
from tokentui.screens.export_screen import ExportChoice, ExportScreen
from tokentui.screens.help_screen import HelpScreen
from tokentui.screens.history_screen import HistoryScreen
from tokentui.screens.leverage_screen import LeverageScreen
from tokentui.screens.sources_screen import SourcesScreen
from tokentui.services import dashboard
from tokentui.services import history as history_service
from tokentui.services.dashboard import BudgetsView, PollSchedule, Snapshot
from tokentui.services.history import HistoryTable
from tokentui.app_polling import PollingMixin
from tokentui.app_themes import DEFAULT_THEME, ThemeCycleMixin, load_themes, resolve_theme, theme_from_spec
from tokentui.widgets.nav_bar import SCREENS, NavBar

if TYPE_CHECKING:
    from tokentui.services.leverage import LeverageReport

FULL_STATUS_EVERY = 12  # refreshes between full source checks (paths, keys, record counts)
#: seconds between budget and leverage evaluations (a budget's projection costs ~0.1 s of CPU)
SLOW_FIGURES_SECONDS = 30.0
WORKER_TITLES = {"refresh": "Refresh failed", "poll": "API poll failed", "export": "Export failed"}
Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _describe(error: BaseException | None) -> str:
    if isinstance(error, TokentopError):
        return str(error)
    return f"{type(error).__name__}: {error}" if error else "unknown error"


class TokentopApp(PollingMixin, ThemeCycleMixin, App[int]):
    """tokentop's TUI. ``db_path`` is the store (the user's by default); ``demo`` fills an
    empty store with generated history (and its own budgets and team file, next to the store)
    and never reads the user's logs, keys or files; ``clock`` gives "now" (tests freeze it)."""

    CSS_PATH = "tokentop.tcss"
    TITLE = "tokentop"
    MODES = {mode: screen for (mode, *_), screen in zip(SCREENS, (
        DashboardScreen, HistoryScreen, BudgetsScreen, LeverageScreen, SourcesScreen))}
    BINDINGS = [
        *(Binding(key, f"show_screen('{mode}')", title, show=False) for mode, key, title in SCREENS),
        Binding("r", "refresh", "Refresh"),
        Binding("t", "cycle_theme", "Theme"),
        Binding("e", "export", "Export"),
        Binding("question_mark", "help", "Keys", key_display="?"),
        Binding("q", "quit", "Quit"),
    ]

    snapshot: reactive[Snapshot | None] = reactive(None)
    history: reactive[HistoryTable | None] = reactive(None)
    budgets: reactive[BudgetsView | None] = reactive(None)
    leverage: reactive[LeverageReport | None] = reactive(None)
    status_line: reactive[str] = reactive("starting…")

    def __init__(self, settings: Settings, *, db_path: Path | None = None, demo: bool = False,
                 theme: str | None = None, clock: Clock | None = None, demo_seed: int = 7,
                 theme_dirs: Iterable[Path] | None = None) -> None:
        super().__init__()
        self.demo = demo
        self.db_path = db_path or paths.history_db()
        if demo:  # from the start, nothing of the user's config is shown or written
            settings = replace(settings, path=self.db_path.parent / "config.toml", raw={})
        self.settings = settings  # replaced (never mutated) when a budget is saved
        self.clock: Clock = clock or _utc_now
        self.demo_seed = demo_seed
        self.tz = settings.tz()
        self._conn = None  # used by the refresh worker only
        self._read_conn = None  # used by history workers, one at a time
        self._poll_conn = None  # used by the poll worker only
        self._read_lock = threading.Lock()
        self._conn_lock = threading.Lock()  # held by the refresh worker while it uses _conn
        self._poll_lock = threading.Lock()  # held by the poll worker while it uses _poll_conn
        self._refresh_worker: Worker | None = None
        self._refresh_again = False
        self._refresh_full = True
        self._refreshes = 0
        self._timer: Timer | None = None
        self._slow_due = 0.0  # monotonic time of the next budget/leverage evaluation
        self._poll_worker: Worker | None = None
        self._poll_again = False
        self._poll_timer: Timer | None = None
        self._polls = PollSchedule()
        self._history_query = HistoryQuery()
        self._last_problem: str | None = None
        self._demo_pricer = None
        self._demo_configured = False
        dirs = list(theme_dirs) if theme_dirs is not None else [paths.builtin_themes_dir(), paths.user_themes_dir()]
        themes, self._theme_problems = load_themes(dirs)
        self.theme_names = [t.name for t in themes]
        for t in themes:
            self.register_theme(t)
        self._wanted_theme = resolve_theme(self, theme or settings.theme, dirs, self._theme_problems)
        if self._wanted_theme in self.available_themes:
            self.theme = self._wanted_theme
        elif DEFAULT_THEME in self.available_themes:
            self.theme = DEFAULT_THEME

    # --- lifecycle ------------------------------------------------------------------------
    def on_mount(self) -> None:
        problems = [str(p) for p in self._theme_problems]
        if self.theme != self._wanted_theme:
            problems.insert(0, f"theme {self._wanted_theme!r} is not available; using {self.theme}")
        if problems:
            self.notify("\n".join(problems[:4]) + ("\n…" if len(problems) > 4 else ""),
                        title="Theme problem", severity="warning", timeout=10)
        self.switch_mode("dashboard")
        self._start_refresh()
        if not self.demo:  # the first poll after the first paint
            self._poll_timer = self.set_timer(1.0, self._start_poll)

    def on_unmount(self) -> None:
        for timer in (self._timer, self._poll_timer):
            if timer is not None:
                timer.stop()

    def close_store(self) -> None:
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

    def get_theme_variable_defaults(self) -> dict[str, str]:
        # themes without tokentop's variables (Textual's own, or a user's) take them from their palette
        t = self.current_theme
        return {"burn-color": t.accent or t.primary, "input-color": t.primary,
                "output-color": t.secondary or t.primary, "cache-color": t.success or t.primary}

    # --- refresh ----------------------------------------------------------------------------
    def _start_refresh(self, full: bool = False, figures: bool = False) -> None:
        """Start a refresh unless one is running (then run again right after). Never does I/O.
        ``figures``: evaluate budgets and leverage in it, whenever they were last done."""
        self._refresh_full |= full
        if full or figures:
            self._slow_due = 0.0
        if self._refresh_worker is not None and self._refresh_worker.is_running:
            self._refresh_again = True
            return
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._refreshes += 1
        full, self._refresh_full = self._refresh_full or self._refreshes % FULL_STATUS_EVERY == 1, False
        slow = time.monotonic() >= self._slow_due
        if slow:
            self._slow_due = time.monotonic() + SLOW_FIGURES_SECONDS
        self._refresh_worker = self.run_worker(partial(self._refresh, full, slow), name="refresh",
                                               group="refresh", thread=True, exit_on_error=False)

    def _store(self):
        from tokentui.store.db import NOTICES, close_if_moved, connect, moved_message

        if self._conn is not None:
            # history.db deleted, replaced or emptied under us: never write on into a file that
            # is gone; say so once and go on with what the path holds now
            why = close_if_moved(self._conn)
            if why:
                self._conn = None
                self.notify(moved_message(self.db_path, why), title="History store", severity="warning",
                            timeout=30)
        if self._conn is None:
            # a damaged store is moved aside and rebuilt (store.recover); say so once
            self._conn = connect(self.db_path, recover=True)
            while NOTICES:
                self.notify(NOTICES.pop(0), title="History store repaired", severity="warning", timeout=20)
        return self._conn

    def _refresh(self, full: bool, slow: bool = True) -> None:
        """Runs in a thread: sync, post a new snapshot; then, when ``slow``, budgets and leverage.
        A SQLite failure is reported in plain words; a damaged store is repaired on the next one."""
        import sqlite3

        with self._conn_lock:
            try:
                self._refresh_locked(full, slow)
            except sqlite3.Error as exc:
                from tokentui.store.db import StoreDamaged, store_error

                err = store_error(exc, self.db_path)
                if isinstance(err, StoreDamaged) and self._conn is not None:
                    self._conn.close()
                    self._conn = None  # the next refresh opens it with recover=True
                raise err from None

    def _refresh_locked(self, full: bool, slow: bool) -> None:
        conn = self._store()
        previous = self.snapshot
        if self.demo:
            rows = self._demo_sync(conn)
        else:
            from tokentui.services.sync import sync_local

            if previous is None:  # first paint: what is stored, before reading any log
                self.post_message(UsageUpdated(dashboard.build_snapshot(conn, self.clock(), self.tz)))
            sync_local(conn, self.settings)
            if full or previous is None or not previous.sources:
                rows = dashboard.source_rows(conn, self.settings)
            else:
                rows = dashboard.refresh_rows(conn, previous.sources)
        self.post_message(UsageUpdated(dashboard.build_snapshot(conn, self.clock(), self.tz, rows)))
        if slow:
            self._figures(conn)

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
        return dashboard.stored_source_rows(conn)

    def _figures(self, conn) -> None:
        self.post_message(FiguresUpdated(dashboard.build_figures(conn, self.settings, self.clock(), self.tz)))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.state not in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            return
        if worker.state == WorkerState.ERROR:
            self.post_message(RefreshFailed(_describe(worker.error), WORKER_TITLES.get(worker.name, "Failed")))
        if worker is self._refresh_worker:
            if self._refresh_again:
                self._refresh_again = False
                self._start_refresh()
            elif self.is_running:
                self._timer = self.set_timer(self.settings.refresh_seconds, self._start_refresh)
        elif worker is self._poll_worker:
            if self._poll_again:
                self._poll_again = False
                self._start_poll(force=True)
            else:
                self._arm_poll()

    def on_usage_updated(self, message: UsageUpdated) -> None:
        self.snapshot = message.snapshot
        self._last_problem = None
        stamp = datetime.fromtimestamp(message.snapshot.now_ms / 1000, self.tz).strftime("%H:%M:%S")
        self.status_line = f"{'demo · ' if self.demo else 'synced '}{stamp}"

    def on_refresh_failed(self, message: RefreshFailed) -> None:
        if message.title == "Refresh failed":
            self.status_line = "⚠ refresh failed"
        if message.problem != self._last_problem:  # one notice per distinct problem
            self._last_problem = message.problem
            self.notify(message.problem, title=message.title, severity="error", timeout=8)

    def on_figures_updated(self, message: FiguresUpdated) -> None:
        figures = message.figures
        self.budgets = figures.budgets
        self.leverage = figures.leverage
        for alert in figures.alerts:  # each crossing comes once (remembered in the store)
            self.notify(alert.message, title=f"Budget {alert.budget}: {alert.threshold:.0%} reached",
                        severity="error" if alert.threshold >= 1 else "warning", timeout=15)
            self.bell()

    def on_budget_saved(self, message: BudgetSaved) -> None:
        self.settings = replace(self.settings, raw=message.raw)
        verb = "removed from" if message.removed else "saved in"
        self.notify(f"budget {message.name!r} {verb} {message.path}", title="Budgets", timeout=5)
        self._start_refresh(figures=True)

    # --- history ----------------------------------------------------------------------------
    def on_history_requested(self, message: HistoryRequested) -> None:
        self._history_query = message.query
        self.run_worker(partial(self._load_history, message.query), name="history", group="history",
                        exclusive=True, thread=True, exit_on_error=False)

    def _load_history(self, query: HistoryQuery) -> None:
        with self._read_lock:
            if get_current_worker().is_cancelled:
                return
            from tokentui.store.db import close_if_moved, connect

            if self._read_conn is not None and close_if_moved(self._read_conn):
                self._read_conn = None  # the refresh worker says what happened to the file
            if self._read_conn is None:
                self._read_conn = connect(self.db_path)
            table = history_service.build_history(self._read_conn, self.tz, query.period, query.source, query.model)
        if not get_current_worker().is_cancelled:
            self.post_message(HistoryLoaded(query, table))

    def on_history_loaded(self, message: HistoryLoaded) -> None:
        if message.query == self._history_query:
            self.history = message.table

    # --- actions ----------------------------------------------------------------------------
    def _modal_open(self) -> bool:
        return isinstance(self.screen, ModalScreen) and not isinstance(self.screen, HelpScreen)

    def action_show_screen(self, mode: str) -> None:
        if self._modal_open():
            return  # a form is open: it keeps the keys until it is closed
        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss()
        self.switch_mode(mode)

    def on_nav_bar_selected(self, message: NavBar.Selected) -> None:
        self.action_show_screen(message.name)

    def action_refresh(self) -> None:
        self.status_line = "refreshing…"
        self._start_refresh(full=True)
        self._start_poll(force=True)

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss()
        elif not self._modal_open():
            self.push_screen(HelpScreen())

    # --- export -------------------------------------------------------------------------------
    def action_export(self) -> None:
        if self._modal_open():
            return
        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss()
        try:
            folder = str(Path.cwd())
        except OSError:  # the directory tokentop started in was removed
            folder = "the current directory (which no longer exists)"
        self.push_screen(ExportScreen(folder, self.demo), self._export_chosen)

    def _export_chosen(self, choice: ExportChoice | None) -> None:
        if choice is not None:
            self.notify(f"writing the {choice.format} snapshot…", title="Export", timeout=3)
            self.run_worker(partial(self._export, choice), name="export", group="export", thread=True,
                            exit_on_error=False)

    def _export(self, choice: ExportChoice) -> None:
        from tokentui.services.snapshot import ExportOptions, write_snapshot
        from tokentui.store.db import connect

        options = ExportOptions(period=choice.period, format=choice.format, label=choice.label,
                                include_projects=choice.include_projects, timezone=str(self.tz), now=self.clock())
        try:
            conn = connect(self.db_path, readonly=True)
            try:
                path = write_snapshot(conn, self.settings, options)
            finally:
                conn.close()
        except (TokentopError, OSError) as exc:
            self.post_message(ExportFinished(None, _describe(exc)))
            return
        self.post_message(ExportFinished(str(path)))

    def on_export_finished(self, message: ExportFinished) -> None:
        if message.error:
            self.notify(message.error, title="Export failed", severity="error", timeout=10)
        else:
            self.notify(f"snapshot written to {message.path}\ncheck it with: tokentop verify FILE",
                        title="Export", timeout=12)

    # --- keys: stored and tested in workers; only redacted tails are ever shown ---------------
    def on_key_stored(self, message: KeyStored) -> None:
        self.notify(f"{message.source} key {message.hint} stored in the OS keyring. x tests it.",
                    title=f"{message.source} key", timeout=8)
        self._polls.due[message.source] = 0.0
        self._start_refresh(full=True)
        self._start_poll()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for mode, key, title in SCREENS:
            yield SystemCommand(f"{title} screen", f"Show the {title} screen (key {key})",
                                partial(self.action_show_screen, mode))
        yield SystemCommand("Refresh now", "Read new log lines, poll APIs and rebuild the figures (r)",
                            self.action_refresh)
        yield SystemCommand("Next theme", "Cycle through tokentop's themes (t)", self.action_cycle_theme)
        yield SystemCommand("Export snapshot", "Write a snapshot for your manager: md, html, json, toml, csv (e)",
                            self.action_export)


def run_app(settings: Settings, *, demo: bool = False, theme: str | None = None) -> int:
    """Run the TUI; with ``demo`` on a temporary store that is removed on exit."""
    tmp = Path(tempfile.mkdtemp(prefix="tokentop-demo-")) if demo else None
    try:
        app = TokentopApp(settings, db_path=tmp / "history.db" if tmp else None, demo=demo, theme=theme)
        try:
            app.run()
        finally:
            app.close_store()
        return app.return_code or 0
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


__all__ = ["TokentopApp", "run_app", "load_themes", "theme_from_spec"]
