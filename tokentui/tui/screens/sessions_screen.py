"""Sessions: one row per agent session in the time window, sorted by cost, tokens or
recency, filtered by text; Enter opens the session."""

from __future__ import annotations

from textual.binding import Binding
from textual.css.query import NoMatches
from textual.content import Content
from textual.widgets import DataTable

from tokentui.core.fmt import duration, tokens_short
from tokentui.services.sessions import SessionRow, Views, filter_rows, sort_rows
from tokentui.tui.screens import rows as cells
from tokentui.tui.screens.table_screen import TableScreen
from tokentui.tui.screens.session_detail import SessionDetailScreen
from tokentui.tui.widgets.text import markup, plain, rich_plain

#: (key, label, width); the wide columns need WIDE_COLUMNS terminal columns
NARROW = (("live", "", 1), ("project", "Project", 16), ("source", "Agent", 11), ("requests", "Reqs", 5),
          ("tokens", "Tokens", 7), ("cost", "Cost", 9), ("last", "Last", 8))
WIDE = (("live", "", 1), ("project", "Project", 20), ("source", "Agent", 11), ("models", "Models", 22),
        ("requests", "Reqs", 5), ("tokens", "Tokens", 7), ("cost", "Cost", 9), ("start", "Start", 11),
        ("length", "Length", 6), ("cache", "Cache", 5), ("last", "Last", 8))
WIDE_COLUMNS = 130


class SessionsScreen(TableScreen):
    """The window's sessions (``app.views.sessions``)."""

    MODE = "sessions"
    KEY = "6"
    TITLE = "Sessions"
    DATA = ("views",)
    VIEWS = ("sessions",)
    AUTO_FOCUS = "#sessions-table"
    NAME = "sessions"
    PLACEHOLDER = "filter: project, agent, model, session id…"
    LEFT = frozenset(("project", "source", "models", "start", "live"))
    BINDINGS = [
        Binding("s", "sort", "Sort"),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("enter", "open", "Open", show=False),
        Binding("escape", "back", "Back", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.return_to: str | None = None  # the screen that drilled in here (escape goes back)
        self._rows: list[SessionRow] = []

    def on_mount(self) -> None:
        box = self.filter_box()
        box.value, box.display = self.text, bool(self.text)  # a drill-in may set it before the mount
        super().on_mount()

    # -- controls -------------------------------------------------------------------------
    def set_filter(self, text: str) -> None:
        self.text = text
        try:
            box = self.filter_box()
        except NoMatches:  # not composed yet: on_mount shows it
            return
        box.value = text
        box.display = bool(text)
        self._fill()

    def action_back(self) -> None:
        box = self.filter_box()
        if box.display:
            self.set_filter("")
            self.query_one(DataTable).focus()
        elif self.return_to:
            back, self.return_to = self.return_to, None
            self.app.action_show_screen(back)

    def action_open(self) -> None:
        dt = self.query_one(DataTable)
        if 0 <= dt.cursor_row < len(self._rows) and self._views is not None:
            self.app.push_screen(SessionDetailScreen(self._rows[dt.cursor_row], self._views.window))

    # -- data -----------------------------------------------------------------------------
    def show_views(self, views: Views) -> None:
        if views.sessions is None:
            return
        self._views = views
        self._fill()

    def _fill(self) -> None:
        views = self._views
        if views is None or views.sessions is None:
            return
        dt = self.query_one(DataTable)
        cols = self._set_columns(dt, WIDE if self.app.size.width >= WIDE_COLUMNS else NARROW)
        keep = dt.cursor_row
        view = views.sessions
        self._rows = sort_rows(filter_rows(view.rows, self.text), self.sort)
        dt.clear()
        tz = self.app.tz
        width = dict((k, w) for k, _, w in cols)
        for r in self._rows:
            values = {
                "live": rich_plain("●", "green") if r.live else rich_plain(""),
                "project": cells.name(r.project_name, width["project"]),
                "source": rich_plain(r.source),
                "models": cells.models(r.models, width.get("models", 0)) if "models" in width else None,
                "requests": cells.num(tokens_short(r.totals.requests)),
                "tokens": cells.tokens(r.totals.total),
                "cost": cells.cost(r.totals),
                "start": rich_plain(cells.stamp(r.first_ms, tz)),
                "length": cells.num(duration(r.duration_ms)),
                "cache": cells.ratio(r.efficiency.cache_hit),
                "last": cells.num(cells.ago(r.last_ms, view.now_ms)),
            }
            dt.add_row(*(values[k] for k, _, _ in cols))
        if self._rows:
            dt.move_cursor(row=min(keep, len(self._rows) - 1))
        shown = len(self._rows)
        count = f"{shown:,} of {len(view.rows):,}" if shown != len(view.rows) else f"{shown:,}"
        live = sum(1 for r in view.rows if r.live)
        hint = self.empty_hint(len(view.rows))  # instead of the figures and keys (the footer has those)
        self.set_summary(
            Content.assemble(plain(f"{count} sessions · {live} live · window {views.window.name} · by {self.sort}"),
                             plain(f" · filter “{self.text}”" if self.text else ""),
                             "" if hint else markup(f" · [b]{tokens_short(view.total.total)}[/] tokens")),
            plain(hint) if hint else markup(" · [dim]s sort · / filter · ⏎ open · w window[/]"), keys=not hint)
