"""The one-line bar on top of every screen: screen tabs (clickable) and a status text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.events import Click
from textual.message import Message
from textual.reactive import reactive
from rich.text import Text
from textual.widgets import Static


class NavTab(Static):
    """One clickable screen name."""

    def __init__(self, mode: str, key: str, title: str) -> None:
        super().__init__(f"[b]{key}[/b] {title}", id=f"nav-{mode}", classes="nav-tab", markup=True)
        self.mode = mode
        self.key, self.title = key, title

    def label(self, short: bool) -> None:
        """The key alone (``short``: a compact bar on a narrow terminal) or key and title."""
        self.update(f"[b]{self.key}[/b]" if short else f"[b]{self.key}[/b] {self.title}")

    def on_click(self, event: Click) -> None:
        event.stop()
        self.post_message(NavBar.Selected(self.mode))


class NavBar(Horizontal):
    """Screen tabs; ``current`` marks the active one, ``status`` shows on the right after the
    time ``window``; ``compact``: inactive tabs show their key only (narrow terminals)."""

    @dataclass
    class Selected(Message):
        """A tab was clicked: show the screen (App mode) ``name``."""

        name: str

    current: reactive[str] = reactive("dashboard")
    status: reactive[str] = reactive("")
    window: reactive[str] = reactive("")
    compact: reactive[bool] = reactive(False)

    def __init__(self, tabs: Sequence[tuple[str, str, str]], **kw) -> None:
        """``tabs``: ``(mode, key, title)`` of each screen, in key order."""
        super().__init__(**kw)
        self.tabs = tuple(tabs)

    def compose(self) -> ComposeResult:
        yield Static("tokentop", id="nav-brand")
        for mode, key, title in self.tabs:
            yield NavTab(mode, key, title)
        yield Static("", id="nav-status")

    def watch_current(self, current: str) -> None:
        for tab in self.query(NavTab):
            tab.set_class(tab.mode == current, "-active")
        self._labels()

    def watch_compact(self) -> None:
        self._labels()

    def _labels(self) -> None:
        for tab in self.query(NavTab):
            tab.label(self.compact and tab.mode != self.current)

    def watch_status(self) -> None:
        self._status()

    def watch_window(self) -> None:
        self._status()

    def _status(self) -> None:
        text = f"window {self.window} · {self.status}" if self.window else self.status
        self.query_one("#nav-status", Static).update(Text(text))
