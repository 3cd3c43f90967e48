"""A screen that explains what will be here and what to use meanwhile (Budgets, Leverage)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from tokentui.screens.base import TokentopScreen


class PlaceholderScreen(TokentopScreen):
    """Body text in ``TEXT`` (Textual markup)."""

    TITLE_TEXT = ""
    TEXT = ""

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="placeholder"):
            yield Static(f"[b]{self.TITLE_TEXT}[/b] [$warning]coming soon[/]", classes="placeholder-title")
            yield Static(self.TEXT, classes="placeholder-text")
            yield Static("", id="placeholder-figure")
