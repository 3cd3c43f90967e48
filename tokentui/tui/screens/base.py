"""What every tokentop screen shares: the navigation bar, the footer, and how data arrives.

A screen watches the App reactives named in ``DATA`` (``snapshot``, ``budgets``,
``leverage``) and paints each in ``show_<name>``. Updates that arrive while the screen is
hidden are not painted; the latest of each is applied when the screen comes back.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

from tokentui.tui.widgets.nav_bar import NavBar

if TYPE_CHECKING:
    from tokentui.services.dashboard import BudgetsView, Snapshot
    from tokentui.services.leverage import LeverageReport


class TokentopScreen(Screen):
    """Base of the five screens. Subclasses set ``MODE`` (the App mode, which is the screen's
    name everywhere), ``KEY`` and ``TITLE`` (its tab and key) and ``DATA``, implement
    ``compose_body`` and the ``show_*`` methods of the data they show."""

    MODE: ClassVar[str] = ""
    KEY: ClassVar[str] = ""
    TITLE: ClassVar[str] = ""
    #: widget classes whose keys the help lists under this screen, with the screen's own
    HELP_WIDGETS: ClassVar[tuple[type, ...]] = ()
    #: App reactives this screen shows
    DATA: ClassVar[tuple[str, ...]] = ("snapshot",)
    #: what this screen needs of ``app.views`` (services.sessions.VIEWS): asked for when shown
    VIEWS: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        super().__init__()
        self._stale: set[str] = set()

    def compose(self) -> ComposeResult:
        yield NavBar(self.app.NAV_TABS, id="nav")
        yield from self.compose_body()
        yield Footer()

    def compose_body(self) -> ComposeResult:  # pragma: no cover - overridden
        yield from ()

    def on_mount(self) -> None:
        self._size_classes()
        self.query_one(NavBar).current = self.MODE
        for name in self.DATA:
            self.watch(self.app, name, partial(self._data_changed, name), init=True)
        self.watch(self.app, "status_line", self._status_changed, init=True)
        self.watch(self.app, "window", self._window_changed, init=True)
        if self.views_wanted():
            self.app.request_views()

    def views_wanted(self) -> tuple[str, ...]:
        """What this screen needs of ``app.views`` now (``VIEWS``; the Dashboard: when tall)."""
        return self.VIEWS

    def _window_changed(self, window) -> None:
        self.query_one(NavBar).window = window.name

    def _status_changed(self, status: str) -> None:
        self.query_one(NavBar).status = status

    def _data_changed(self, name: str, value: Any) -> None:
        if value is None:
            return
        if self.is_current:
            self._stale.discard(name)
            getattr(self, f"show_{name}")(value)
        else:
            self._stale.add(name)  # hidden: skip painting until the screen is shown again

    def on_resize(self) -> None:
        self._size_classes()

    def _size_classes(self) -> None:
        w, h = self.app.size
        self.set_class(w < 90, "-narrow")
        self.set_class(w >= 120, "-wide")
        self.set_class(h >= 40, "-tall")
        self.set_class(h >= 48, "-roomy")  # room for the dashboard's sessions table too
        self.query_one(NavBar).compact = w < 132  # seven titled tabs and "window 7d · demo · 12:00:00"

    def on_screen_resume(self) -> None:
        self._size_classes()
        if self.views_wanted() and self.is_mounted:
            self.app.request_views()
        for name in list(self._stale):
            value = getattr(self.app, name, None)
            self._stale.discard(name)
            if value is not None:
                getattr(self, f"show_{name}")(value)

    def mark_stale(self, name: str) -> None:
        """Repaint ``name`` when next shown (or now, if visible)."""
        value = getattr(self.app, name, None)
        if value is not None and self.is_current:
            getattr(self, f"show_{name}")(value)
        else:
            self._stale.add(name)

    def show_snapshot(self, snapshot: Snapshot) -> None:
        """Paint ``snapshot`` (called only while the screen is visible)."""

    def show_budgets(self, view: BudgetsView) -> None:
        """Paint the evaluated budgets."""

    def show_leverage(self, report: LeverageReport) -> None:
        """Paint the leverage report."""

    def show_views(self, views) -> None:
        """Paint the Sessions/Projects data (services.sessions.Views)."""
