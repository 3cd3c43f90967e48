"""The export modal (``e``): period, format, label and projects; the App writes the
snapshot in a worker and says where it went."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static, Switch

from tokentui.tui.widgets.text import markup, plain

PERIODS = (("last 7 days", "7d"), ("last 28 days", "28d"), ("this month", "month"), ("this quarter", "quarter"),
           ("this year", "year"))
FORMATS = (("Markdown (.md)", "md"), ("HTML, one file (.html)", "html"), ("JSON (.json)", "json"),
           ("TOML (.toml)", "toml"), ("CSV, daily rows (.csv)", "csv"))


@dataclass(frozen=True, slots=True)
class ExportChoice:
    """What to export; the App turns it into ``ExportOptions``."""

    period: str = "28d"
    format: str = "md"
    label: str | None = None
    include_projects: bool = False


class ExportScreen(ModalScreen[ExportChoice | None]):
    """``folder``: where the file will be written (shown, not editable: as ``tokentop export``)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "export", "Export")]

    def __init__(self, folder: str, demo: bool = False) -> None:
        super().__init__()
        self.folder = folder
        self.demo = demo

    def compose(self) -> ComposeResult:
        with Vertical(id="export-form"):
            with Horizontal(classes="form-row"):
                yield Label("Period", classes="form-label")
                yield Select(PERIODS, value="28d", allow_blank=False, id="export-period", compact=True)
            with Horizontal(classes="form-row"):
                yield Label("Format", classes="form-label")
                yield Select(FORMATS, value="md", allow_blank=False, id="export-format", compact=True)
            with Horizontal(classes="form-row"):
                yield Label("Label", classes="form-label")
                yield Input(placeholder="optional, e.g. Q4 review", id="export-label", compact=True,
                            max_length=80)
            with Horizontal(classes="form-row"):
                yield Label("Projects", classes="form-label")
                yield Switch(False, id="export-projects")
                yield Static("[dim]include project names (never paths)[/]", id="export-projects-help")
            demo = "[$warning]demo data[/] · " if self.demo else ""
            yield Static(Content.assemble(  # the folder's name is text, never markup
                markup(f"[dim]{demo}writes to[/] "), plain(self.folder),
                markup("\n[dim]No key, prompt or file path is ever exported; anyone can check the file "
                       "with [b]tokentop verify FILE[/b].[/]")), id="export-where")
            with Horizontal(id="export-buttons"):
                yield Button("Export", id="export-go", variant="primary", compact=True)
                yield Button("Cancel", id="export-cancel", compact=True)

    def on_mount(self) -> None:
        box = self.query_one("#export-form")
        box.border_title = "Export a snapshot"
        box.border_subtitle = "enter / ctrl+s: export · esc: cancel"
        self.query_one("#export-period", Select).focus()

    def choice(self) -> ExportChoice:
        label = self.query_one("#export-label", Input).value.strip()
        return ExportChoice(str(self.query_one("#export-period", Select).value),
                            str(self.query_one("#export-format", Select).value), label or None,
                            self.query_one("#export-projects", Switch).value)

    def action_export(self) -> None:
        self.dismiss(self.choice())

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_export()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "export-go":
            self.action_export()
        else:
            self.dismiss(None)
