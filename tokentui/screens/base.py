"""What every tokentop screen shares: the navigation bar, the footer, and how data arrives.

A screen watches the App's ``snapshot`` (and ``status_line``). Updates that arrive while the
screen is hidden are not painted; the latest one is applied when the screen comes back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

from tokentui.widgets.nav_bar import NavBar

if TYPE_CHECKING:
    from tokentui.services.dashboard import Snapshot


class TokentopScreen(Screen):
    """Base of the five screens. Subclasses set ``MODE`` and implement ``compose_body``
    and ``show_snapshot``."""

    MODE: ClassVar[str] = ""

    def __init__(self) -> None:
        super().__init__()
        self._stale = False

    def compose(self) -> ComposeResult:
        yield NavBar(id="nav")
        yield from self.compose_body()
        yield Footer()

    def compose_body(self) -> ComposeResult:  # pragma: no cover - overridden
        yield from ()

    def on_mount(self) -> None:
        self._size_classes()
        self.query_one(NavBar).current = self.MODE
        self.watch(self.app, "snapshot", self._snapshot_changed, init=True)
        self.watch(self.app, "status_line", self._status_changed, init=True)

    def _status_changed(self, status: str) -> None:
        self.query_one(NavBar).status = status

    def _snapshot_changed(self, snapshot: Snapshot | None) -> None:
        if snapshot is None:
            return
        if self.is_current:
            self._stale = False
            self.show_snapshot(snapshot)
        else:
            self._stale = True  # hidden: skip painting until the screen is shown again

    def on_resize(self) -> None:
        self._size_classes()

    def _size_classes(self) -> None:
        w, h = self.app.size
        self.set_class(w < 90, "-narrow")
        self.set_class(w >= 120, "-wide")
        self.set_class(h >= 40, "-tall")

    def on_screen_resume(self) -> None:
        self._size_classes()
        snapshot = getattr(self.app, "snapshot", None)
        if self._stale and snapshot is not None:
            self._stale = False
            self.show_snapshot(snapshot)

    def show_snapshot(self, snapshot: Snapshot) -> None:
        """Paint ``snapshot`` (called only while the screen is visible)."""
