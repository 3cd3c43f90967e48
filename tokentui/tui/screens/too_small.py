"""What the App shows instead of its screens while the terminal is smaller than they need."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import ModalScreen
from textual.widgets import Static


class TooSmallScreen(ModalScreen[None]):
    """One centred notice: the terminal's size and the size tokentop needs. The App pushes it
    on a resize below its minimum and dismisses it when the terminal is big enough again
    (whatever was open underneath, a form included, comes back as it was). While it is up the
    screen keys wait (it is a modal); ``q`` still quits."""

    def __init__(self, size: tuple[int, int], needed: tuple[int, int]) -> None:
        super().__init__()
        self._terminal = size
        self.needed = needed

    def compose(self) -> ComposeResult:
        yield Static(self._text(), id="too-small-text")

    def show_size(self, size: tuple[int, int]) -> None:
        self._terminal = size
        if self.is_mounted:
            self.query_one("#too-small-text", Static).update(self._text())

    def _text(self) -> str:
        (w, h), (need_w, need_h) = self._terminal, self.needed
        return (f"Terminal too small: {w}×{h}.\n"
                f"tokentop needs at least {need_w}×{need_h}; make the window larger.\n"
                "q quits; `tokentop report daily` prints a table at any size.")
