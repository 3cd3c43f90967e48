"""The App's loads of what the History, Sessions and Projects screens show: built in workers
(the newest request wins; a running one is cancelled) and kept on the App when they still match
what is asked. A mixin of :class:`~tokentui.tui.app.TokentopApp` (it uses the App's ``session``,
``screen``, ``snapshot``, ``window`` and ``breakdown_by``)."""

from __future__ import annotations

from textual import work
from textual.worker import get_current_worker

from tokentui.core.windows import Window, next_window
from tokentui.tui.messages import HistoryLoaded, HistoryQuery, HistoryRequested, ViewsLoaded
from tokentui.tui.screens.sessions_screen import SessionsScreen


class DataLoads:
    """History tables and session/project views for the App (see the module doc)."""

    # --- history ----------------------------------------------------------------------------
    def on_history_requested(self, message: HistoryRequested) -> None:
        self._history_query = message.query
        self._load_history(message.query)

    @work(thread=True, name="history", group="history", exclusive=True, exit_on_error=False)
    def _load_history(self, query: HistoryQuery) -> None:
        worker = get_current_worker()
        table = self.session.history(query.period, query.source, query.model, cancelled=lambda: worker.is_cancelled,
                                     device=query.device)
        if table is not None and not worker.is_cancelled:
            self.post_message(HistoryLoaded(query, table))

    def on_history_loaded(self, message: HistoryLoaded) -> None:
        if message.query == self._history_query:
            self.history = message.table

    # --- sessions and projects ----------------------------------------------------------------
    def request_views(self) -> None:
        """Build what the current screen shows of sessions and projects, in a worker (the
        newest request wins; a running one is cancelled)."""
        screen = self.screen
        wanted = tuple(screen.views_wanted()) if hasattr(screen, "views_wanted") else ()
        if self.snapshot is None and self._first_views == wanted:
            return  # the first refresh builds them (see _start_refresh)
        if wanted:
            self._load_views(self.window, wanted, self.breakdown_by)

    @work(thread=True, name="views", group="views", exclusive=True, exit_on_error=False)
    def _load_views(self, window: Window, wanted: tuple[str, ...], breakdown_by: str) -> None:
        worker = get_current_worker()
        views = self.session.views(window, wanted, breakdown_by, cancelled=lambda: worker.is_cancelled)
        if views is not None and not worker.is_cancelled:
            self.post_message(ViewsLoaded(views))

    def on_views_loaded(self, message: ViewsLoaded) -> None:
        if message.views.window == self.window and message.views.breakdown_by == self.breakdown_by:
            self.views = message.views

    def action_cycle_window(self) -> None:
        self.window = next_window(self.window)

    def watch_window(self) -> None:
        if self.is_running:
            self.request_views()

    def watch_breakdown_by(self) -> None:
        if self.is_running:
            self.request_views()

    def show_sessions_of(self, text: str, back_to: str | None = None) -> None:
        """The Sessions screen filtered by ``text``; escape there returns to ``back_to``."""
        self.action_show_screen(SessionsScreen.MODE)
        screen = self.screen
        if isinstance(screen, SessionsScreen):
            screen.return_to = back_to
            screen.set_filter(text)
