"""The keys, on ``?``."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = (
    ("1 … 5", "Dashboard, History, Budgets, Leverage, Sources"),
    ("ctrl+p", "command palette: every screen and action by name"),
    ("r", "refresh now (new log lines; API sources not polled for a minute)"),
    ("t", "next theme"),
    ("e", "export a snapshot for your manager (md, html, json, toml, csv)"),
    ("d w m", "History: daily, weekly, monthly"),
    ("a ⏎", "Budgets: add a budget / edit the highlighted one"),
    ("k x", "Sources: add / test an API key"),
    ("?", "this help"),
    ("q", "quit"),
)


class HelpScreen(ModalScreen[None]):
    """A modal listing the keys; escape, ? or a click outside closes it."""

    BINDINGS = [Binding("escape", "dismiss", "Close"), Binding("question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            rows = "\n".join(f"[b $accent]{key.ljust(8)}[/]{what}" for key, what in KEYS)
            yield Static(rows, id="help-keys")
            yield Static("[dim]Local logs refresh every few seconds, API sources every few minutes; "
                         "the mouse works everywhere.[/]", id="help-foot")

    def on_mount(self) -> None:
        self.query_one("#help-box").border_title = "Keys"

    def on_click(self, event) -> None:
        if event.widget is self:
            self.dismiss()
