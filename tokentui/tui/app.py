"""The Textual App: screens, keys, workers and app-level reactives over one UI-free
:class:`~tokentui.services.session.Session`, which owns the store connections, demo mode and
the refresh and poll schedules.

Data flow: a timer only *starts* a refresh worker (a thread) that runs
:meth:`Session.refresh` and posts :class:`UsageUpdated` (and :class:`FiguresUpdated` when the
session planned budgets and leverage too). The App replaces its reactives; screens watch
them. The next refresh is armed only when the last one has finished, so refreshes never
overlap; ``r`` asks for one now (or right after the running one). API polls work the same
way, one at a time, never in demo mode. History tables, exports and theme saves run in
workers of their own.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from textual import events, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from tokentui import paths
from tokentui.config import Settings
from tokentui.core.text import printable
from tokentui.core.windows import DEFAULT_WINDOW, Window
from tokentui.tui.messages import (BudgetSaved, FiguresUpdated, HistoryQuery, KeyStored, PollFinished,
                               RefreshFailed, SyncProgress, UsageUpdated, ViewsLoaded)
from tokentui.tui.screens.budgets_screen import BudgetsScreen
from tokentui.tui.screens.dashboard_screen import DashboardScreen
from tokentui.tui.screens.help_screen import HelpScreen, help_rows
from tokentui.tui.screens.history_screen import HistoryScreen
from tokentui.tui.screens.leverage_screen import LeverageScreen
from tokentui.tui.screens.projects_screen import ProjectsScreen
from tokentui.tui.screens.sessions_screen import SessionsScreen
from tokentui.tui.screens.sources_screen import SourcesScreen
from tokentui.tui.screens.too_small import TooSmallScreen
from tokentui.services.dashboard import BudgetsView, Snapshot
from tokentui.services.history import HistoryTable
from tokentui.services.sessions import Views
from tokentui.services.session import RefreshPlan, Session, utc_now
from tokentui.tui.app_actions import FileActions, describe
from tokentui.tui.app_loads import DataLoads
from tokentui.tui.theming import ReadableDim, install_themes, load_themes, theme_from_spec
from tokentui.tui.widgets.nav_bar import NavBar

if TYPE_CHECKING:
    from tokentui.services.leverage import LeverageReport

#: the screens, in key order: each is an App mode named by its ``MODE``
SCREENS = (DashboardScreen, HistoryScreen, BudgetsScreen, LeverageScreen, SourcesScreen, SessionsScreen,
           ProjectsScreen)
WORKER_TITLES = {"refresh": "Refresh failed", "poll": "API poll failed", "export": "Export failed"}
#: actions a form (a modal other than the help) keeps for itself while it is open
GUARDED_BY_FORMS = frozenset({"show_screen", "export", "help"})
Clock = Callable[[], datetime]
#: the smallest terminal (columns, rows) at which every screen is usable, found by trying sizes
#: in tmux on the demo: narrower cuts model names on the dashboard and the leverage table's range
#: column; shorter drops the dashboard's budget line. Below it the App shows a notice instead.
MIN_SIZE = (76, 20)


class _SyncProgressPoster:
    """The refresh's sync progress as :class:`SyncProgress` messages: for a big sync only (as
    the command line's bar) and once per percent (called per file, from the refresh thread)."""

    def __init__(self, post) -> None:
        from tokentui.services.sync import PROGRESS_FROM

        self.post = post
        self.min_bytes = PROGRESS_FROM
        self.last = -1

    def __call__(self, done: int, total: int) -> None:
        if total < self.min_bytes:
            return
        pct = done * 100 // total
        if pct != self.last:
            self.last = pct
            self.post(SyncProgress(done, total))


class TokentopApp(FileActions, DataLoads, App[int]):
    """tokentop's TUI over a :class:`Session` (see there for ``db_path``, ``demo`` and ``clock``)."""

    CSS_PATH = "tokentop.tcss"
    TITLE = "tokentop"
    MODES = {s.MODE: s for s in SCREENS}
    NAV_TABS = tuple((s.MODE, s.KEY, s.TITLE) for s in SCREENS)
    BINDINGS = [
        *(Binding(s.KEY, f"show_screen('{s.MODE}')", s.TITLE, show=False) for s in SCREENS),
        Binding("r", "refresh", "Refresh", tooltip="refresh now (new log lines; API sources not polled for a minute)"),
        Binding("w", "cycle_window", "Window", tooltip="time window of Dashboard, Sessions, Projects (5m … all)"),
        Binding("t", "cycle_theme", "Theme", tooltip="next theme"),
        Binding("e", "export", "Export", tooltip="export a snapshot for your manager (md, html, json, toml, csv)"),
        Binding("question_mark", "help", "Keys", key_display="?", tooltip="this help"),
        Binding("q", "quit", "Quit", tooltip="quit"),
    ]

    snapshot: reactive[Snapshot | None] = reactive(None)
    history: reactive[HistoryTable | None] = reactive(None)
    budgets: reactive[BudgetsView | None] = reactive(None)
    leverage: reactive[LeverageReport | None] = reactive(None)
    status_line: reactive[str] = reactive("starting…")
    #: the time window the Dashboard, Sessions and Projects share (``w`` cycles it)
    window: reactive[Window] = reactive(DEFAULT_WINDOW)
    breakdown_by: reactive[str] = reactive("project")
    views: reactive[Views | None] = reactive(None)

    def __init__(self, settings: Settings, *, db_path: Path | None = None, demo: bool = False,
                 theme: str | None = None, clock: Clock | None = None, demo_seed: int = 7,
                 theme_dirs: Iterable[Path] | None = None, screen: str | None = None) -> None:
        """``screen``: the mode to open on (default the Dashboard)."""
        super().__init__()
        self._first_screen = screen or SCREENS[0].MODE
        #: what the first screen shows of sessions/projects: built by the first refresh, before it syncs
        self._first_views = tuple(self.MODES[self._first_screen].VIEWS) if not demo else ()
        self.session = Session(settings, db_path=db_path or paths.history_db(), demo=demo, clock=clock or utc_now,
                               demo_seed=demo_seed)
        self._refresh_worker: Worker | None = None
        self._refresh_again = False
        self._announce_refresh = False  # `r` was pressed: say when its refresh is done
        self._timer: Timer | None = None
        self._poll_worker: Worker | None = None
        self._poll_again = False
        self._poll_timer: Timer | None = None
        self._history_query = HistoryQuery()
        self._last_problem: str | None = None
        dirs = list(theme_dirs) if theme_dirs is not None else [paths.builtin_themes_dir(), paths.user_themes_dir()]
        self._wanted_theme, self._theme_problems = install_themes(self, theme or self.settings.theme, dirs)
        self._readable_dim = ReadableDim()

    def get_line_filters(self):
        """Dim text drawn readable (:class:`~tokentui.tui.theming.ReadableDim`), then Textual's
        filters (whose truecolor filter would otherwise draw dim at a fixed half blend)."""
        return [self._readable_dim, *super().get_line_filters()]

    # --- the session's state, as the screens read it ---------------------------------------
    @property
    def settings(self) -> Settings:
        return self.session.settings

    @settings.setter
    def settings(self, value: Settings) -> None:
        self.session.settings = value

    @property
    def demo(self) -> bool:
        return self.session.demo

    @property
    def db_path(self) -> Path:
        return self.session.db_path

    @property
    def tz(self):
        return self.session.tz

    def next_poll_in(self, source: str) -> float | None:
        return self.session.next_poll_in(source)

    def close_store(self) -> None:
        self.session.close()

    # --- lifecycle ------------------------------------------------------------------------
    def on_mount(self) -> None:
        problems = [str(p) for p in self._theme_problems]
        if self.theme != self._wanted_theme:
            problems.insert(0, f"theme {self._wanted_theme!r} is not available; using {self.theme}")
        if problems:
            self.notify("\n".join(problems[:4]) + ("\n…" if len(problems) > 4 else ""),
                        title="Theme problem", severity="warning", timeout=10)
        self.switch_mode(self._first_screen)
        self._check_size(self.size.width, self.size.height)
        self._start_refresh()
        if not self.demo:  # the first poll after the first paint
            self._poll_timer = self.set_timer(1.0, self._start_poll)

    def on_resize(self, event: events.Resize) -> None:
        self._check_size(event.size.width, event.size.height)

    def _check_size(self, width: int, height: int) -> None:
        """Show the "terminal too small" notice below :data:`MIN_SIZE`, take it away above."""
        too_small = width < MIN_SIZE[0] or height < MIN_SIZE[1]
        top = self.screen_stack[-1] if self.screen_stack else None
        if isinstance(top, TooSmallScreen):
            if too_small:
                top.show_size((width, height))
            else:
                top.dismiss()
        elif too_small and top is not None:
            self.push_screen(TooSmallScreen((width, height), MIN_SIZE))

    def on_unmount(self) -> None:
        for timer in (self._timer, self._poll_timer):
            if timer is not None:
                timer.stop()

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Every notice is text, never markup (``markup`` is ignored): notices quote paths,
        names and provider errors. Control characters are escaped (``core.text.printable``)."""
        super().notify(printable(message, newlines=True), title=printable(title), severity=severity,
                       timeout=timeout, markup=False)

    def action_help_quit(self) -> None:
        # Textual's own ctrl+c hint uses markup; notices here are text (see notify)
        for key, active in self.active_bindings.items():
            if active.binding.action in ("quit", "app.quit"):
                self.notify(f"Press {key} to quit the app", title="Do you want to quit?")
                return

    def get_theme_variable_defaults(self) -> dict[str, str]:
        # themes without tokentop's variables (Textual's own, or a user's) take them from their palette
        t = self.current_theme
        return {"burn-color": t.accent or t.primary, "input-color": t.primary,
                "output-color": t.secondary or t.primary, "cache-color": t.success or t.primary}

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """A form (a modal other than the help) keeps the keys until it is closed."""
        if action in GUARDED_BY_FORMS and isinstance(self.screen, ModalScreen) \
                and not isinstance(self.screen, HelpScreen):
            return False
        return True

    # --- refresh ----------------------------------------------------------------------------
    def _start_refresh(self, full: bool = False, figures: bool = False) -> None:
        """Start a refresh unless one is running (then run again right after). Never does I/O.
        ``full``: re-check every source; ``figures``: evaluate budgets and leverage in it."""
        self.session.ask_refresh(full=full, figures=figures)
        if self._refresh_worker is not None and self._refresh_worker.is_running:
            self._refresh_again = True
            return
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if self.snapshot is None and not self.demo:  # until the first sync ends (see on_usage_updated)
            self.status_line = "reading logs…"
        first_views = None
        if self.snapshot is None and self._first_views:  # the screen the app opens on, before any sync
            first_views = (self.window, self._first_views, self.breakdown_by,
                           lambda v: self.post_message(ViewsLoaded(v)))
        self._refresh_worker = self._refresh(self.session.next_refresh(), self.snapshot, first_views)

    @work(thread=True, name="refresh", group="refresh", exit_on_error=False)
    def _refresh(self, plan: RefreshPlan, previous: Snapshot | None, first_views=None) -> None:
        result = self.session.refresh(plan, previous,
                                      first_paint=lambda s: self.post_message(UsageUpdated(s, stored_only=True)),
                                      first_views=first_views, progress=_SyncProgressPoster(self.post_message))
        for title, text in result.notices:
            self.call_from_thread(self.notify, text, title=title, severity="warning", timeout=20)
        self.post_message(UsageUpdated(result.snapshot))
        if result.figures is not None:
            self.post_message(FiguresUpdated(result.figures))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.state not in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            return
        if worker.state == WorkerState.ERROR:
            self.post_message(RefreshFailed(describe(worker.error), WORKER_TITLES.get(worker.name, "Failed")))
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
        first = message.stored_only and bool(self._first_views)  # the views came with it
        self.snapshot = message.snapshot
        self._first_views = ()
        if hasattr(self.screen, "views_wanted") and self.screen.views_wanted() and not first:
            # sessions and projects follow the logs
            self.request_views()
        self._last_problem = None
        if message.stored_only:  # painted from the history; the logs are being read now
            return
        stamp = datetime.fromtimestamp(message.snapshot.now_ms / 1000, self.tz).strftime("%H:%M:%S")
        self.status_line = f"{'demo · ' if self.demo else 'synced '}{stamp}"
        if self._announce_refresh and not self._refresh_again:  # not the one running when `r` was pressed
            self._announce_refresh = False
            self.notify(f"refreshed at {stamp}", title="Refresh", timeout=3)

    def on_sync_progress(self, message: SyncProgress) -> None:
        self.status_line = f"reading logs {message.done * 100 // max(1, message.total)}%"

    def on_refresh_failed(self, message: RefreshFailed) -> None:
        if message.title == WORKER_TITLES["refresh"]:
            self.status_line = "⚠ refresh failed"
            self._announce_refresh = False  # the error notice below says what happened
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
        self.session.settings_saved(message.raw)
        verb = "removed from" if message.removed else "saved in"
        self.notify(f"budget {message.name!r} {verb} {message.path}", title="Budgets", timeout=5)
        self._start_refresh(figures=True)

    # --- API polls ----------------------------------------------------------------------------
    def _start_poll(self, force: bool = False) -> None:
        """Poll the API sources that are due (``force``: also those not polled for a minute)."""
        if self.demo or not self.is_running:
            return
        if self._poll_worker is not None and self._poll_worker.is_running:
            self._poll_again |= force
            return
        if self._poll_timer is not None:
            self._poll_timer.stop()
            self._poll_timer = None
        due = self.session.due_polls(force)
        if not due:
            self._arm_poll()
            return
        self._poll_worker = self._poll(due)

    @work(thread=True, name="poll", group="poll", exit_on_error=False)
    def _poll(self, only: tuple[str, ...]) -> None:
        try:
            got = self.session.poll(only)
        except Exception:
            self.post_message(PollFinished(tuple((s, "error", "") for s in only)))  # back off, then re-raise
            raise
        self.post_message(PollFinished(got))

    def on_poll_finished(self, message: PollFinished) -> None:
        if self.session.polled(message.results):
            self._start_refresh(full=True)  # new statuses and records on the screens

    def _arm_poll(self) -> None:
        delay = self.session.seconds_to_next_poll()
        if delay is not None and self.is_running:
            self._poll_timer = self.set_timer(delay, self._start_poll)

    # --- actions ----------------------------------------------------------------------------
    def action_show_screen(self, mode: str) -> None:
        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss()
        self.switch_mode(mode)

    def on_nav_bar_selected(self, message: NavBar.Selected) -> None:
        if self.check_action("show_screen", (message.name,)):
            self.action_show_screen(message.name)

    def action_refresh(self) -> None:
        self.status_line = "refreshing…"
        self._announce_refresh = True
        self._start_refresh(full=True)
        self._start_poll(force=True)

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss()
        else:
            self.push_screen(HelpScreen(self.help_rows()))

    def help_rows(self) -> tuple[tuple[str, str], ...]:
        return help_rows(self.BINDINGS, SCREENS)

    # --- keys: stored and tested in workers; only redacted tails are ever shown ---------------
    def on_key_stored(self, message: KeyStored) -> None:
        self.notify(f"{message.source} key {message.hint} stored in the OS keyring. x tests it.",
                    title=f"{message.source} key", timeout=8)
        self.session.key_stored(message.source)
        self._start_refresh(full=True)
        self._start_poll()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for s in SCREENS:
            yield SystemCommand(f"{s.TITLE} screen", f"Show the {s.TITLE} screen (key {s.KEY})",
                                partial(self.action_show_screen, s.MODE))
        yield SystemCommand("Refresh now", "Read new log lines, poll APIs and rebuild the figures (r)",
                            self.action_refresh)
        yield SystemCommand("Next theme", "Cycle through tokentop's themes (t)", self.action_cycle_theme)
        yield SystemCommand("Export snapshot", "Write a snapshot for your manager: md, html, json, toml, csv (e)",
                            self.action_export)


__all__ = ["TokentopApp", "MIN_SIZE", "TooSmallScreen", "load_themes", "theme_from_spec", "SCREENS"]
