"""The keys, on ``?``."""

from __future__ import annotations

from typing import Sequence

from textual.app import ComposeResult
from textual.content import Content
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

class HelpScreen(ModalScreen[None]):
    """A modal listing the keys (``rows``: key, what it does; the App builds them from its
    bindings and the screens'); escape, ? or a click outside closes it."""

    BINDINGS = [Binding("escape", "dismiss", "Close"), Binding("question_mark", "dismiss", "Close")]

    def __init__(self, rows: Sequence[tuple[str, str]]) -> None:
        super().__init__()
        self.rows = tuple(rows)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            width = max((len(key) for key, _ in self.rows), default=6) + 2
            yield Static(Content("\n").join(Content.assemble((key.ljust(width), "bold $accent"), what)
                                             for key, what in self.rows), id="help-keys")
            yield Static("[dim]esc goes back or closes. Local logs refresh every few seconds, API sources "
                         "every few minutes; the mouse works everywhere.[/]", id="help-foot")

    def on_mount(self) -> None:
        self.query_one("#help-box").border_title = "Keys"

    def on_click(self, event) -> None:
        if event.widget is self:
            self.dismiss()


def help_rows(app_bindings, screens) -> tuple[tuple[str, str], ...]:
    """The help table, from the bindings: the screens' keys, the App's shown keys, and each
    screen's own (with those of its ``HELP_WIDGETS``)."""
    rows = [(f"{screens[0].KEY} … {screens[-1].KEY}", " ".join(s.TITLE for s in screens)),
            ("ctrl+p", "command palette: every screen and action by name")]
    for b in app_bindings:
        if isinstance(b, Binding) and b.show:
            rows.append((b.key_display or b.key, b.tooltip or b.description.lower()))
    for s in screens:
        # each class's own keys, not those it inherits from Textual (tab, ctrl+c …)
        # escape (back, close, clear) works everywhere and is said once, in the foot
        own = [b for cls in (s, *s.HELP_WIDGETS) for b in cls.__dict__.get("BINDINGS", ())
               if isinstance(b, Binding) and b.key != "escape"]
        if own:
            rows.append((" ".join(b.key_display or KEY_LABELS.get(b.key, b.key) for b in own),
                         f"{s.TITLE}: " + ", ".join(b.description.lower() for b in own)))
    return tuple(rows)


KEY_LABELS = {"enter": "⏎", "escape": "esc"}

