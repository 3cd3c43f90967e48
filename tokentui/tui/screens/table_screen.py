"""What the Sessions and Projects screens share: a filter box, a table that sorts, opens the
row under the cursor and redraws for the terminal's width, and a summary line below it.

A subclass names its widgets by ``NAME`` (``#NAME-filter``, ``#NAME-table``,
``#NAME-summary``), lists the keys of its left-aligned columns in ``LEFT`` and implements
``_fill`` (paint the rows) and ``action_open``."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.content import Content
from textual.widgets import DataTable, Input, Static

from tokentui.services.sessions import SORTS, Views
from tokentui.tui.screens.base import TokentopScreen
from tokentui.tui.widgets.text import rich_plain


class TableScreen(TokentopScreen):
    NAME = ""
    PLACEHOLDER = ""
    LEFT: frozenset[str] = frozenset()
    #: its rows depend on ``app.breakdown_by`` (``b``) too, not only on the window
    BY_BREAKDOWN = False

    def __init__(self) -> None:
        super().__init__()
        self.sort = "cost"
        self.text = ""
        self._rows: list = []
        self._views: Views | None = None
        self._columns: tuple = ()
        self._summary: tuple[Content, Content, bool] | None = None  # figures, hint or keys, keys?

    def compose_body(self) -> ComposeResult:
        yield Input(placeholder=self.PLACEHOLDER, id=f"{self.NAME}-filter")
        yield DataTable(id=f"{self.NAME}-table", cursor_type="row", zebra_stripes=True)
        yield Static(f"[dim]loading {self.NAME}…[/]", id=f"{self.NAME}-summary")

    def filter_box(self) -> Input:
        return self.query_one(f"#{self.NAME}-filter", Input)

    # -- controls -------------------------------------------------------------------------
    def action_sort(self) -> None:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self._fill()

    def action_filter(self) -> None:
        box = self.filter_box()
        box.display = True
        box.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.text = event.value
        self._fill()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one(DataTable).focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        raise NotImplementedError

    # -- data -----------------------------------------------------------------------------
    def on_resize(self) -> None:
        super().on_resize()
        if self._views is not None:
            self._fill()

    def _set_columns(self, dt: DataTable, cols: tuple) -> tuple:
        """The table's columns, rebuilt only when ``cols`` differ from those shown."""
        if cols != self._columns:
            dt.clear(columns=True)
            for key, label, width in cols:
                dt.add_column(rich_plain(label, justify="left" if key in self.LEFT else "right"), key=key,
                              width=width)
            self._columns = cols
        return cols

    def _fill(self) -> None:
        raise NotImplementedError

    def on_mount(self) -> None:
        super().on_mount()
        self.watch(self.app, "breakdown_by", lambda _by: self._show_summary(), init=False)

    def _window_changed(self, window) -> None:
        super()._window_changed(window)
        self._show_summary()

    def set_summary(self, figures: Content, tail: Content, keys: bool = False) -> None:
        """The line below the table: ``figures`` (what the rows hold), then ``tail``: a hint,
        or with ``keys`` the screen's keys, left out when they would not fit on the line (the
        footer has them too). A loading note replaces either while the rows are of a window or
        breakdown the user has just left."""
        self._summary = (figures, tail, keys)
        self._show_summary()

    def _show_summary(self) -> None:
        if self._summary is None or self._views is None or not self.is_mounted:
            return
        figures, tail, keys = self._summary
        app, views = self.app, self._views
        if views.window != app.window or (self.BY_BREAKDOWN and views.breakdown_by != app.breakdown_by):
            tail = Content(f" · loading the {app.window.name} window…" if views.window != app.window
                           else f" · loading the {app.breakdown_by} breakdown…")
        elif keys and len(figures.plain) + len(tail.plain) > self.app.size.width - 2:
            tail = Content("")
        self.query_one(f"#{self.NAME}-summary", Static).update(Content.assemble(figures, tail))

    def empty_hint(self, rows: int) -> str:
        """What the summary adds when the window holds no row: the first sync is still reading
        the logs, or a wider window (``w``) may hold some. An empty table says why."""
        if rows:
            return ""
        if self.app.snapshot is None and not self.app.demo:
            return " · waiting for data: reading the agents' logs…"
        if self._views is not None and self._views.window.seconds is not None:
            return f" · none in the last {self._views.window.name}: w widens the window"
        return ""
