"""Projects: spend and tokens by project over the time window, each with its trend and top
models (projects folded by core.projects); ``b`` switches the breakdown to model, agent or
source; Enter shows a project's sessions."""

from __future__ import annotations

from textual.binding import Binding
from textual.content import Content
from textual.widgets import DataTable

from tokentui.core.fmt import tokens_short
from tokentui.services.report import short_model, spark
from tokentui.services.sessions import BREAKDOWNS, Views, filter_rows, sort_rows
from tokentui.tui.screens import rows as cells
from tokentui.tui.screens.table_screen import TableScreen
from tokentui.tui.widgets.text import markup, plain, rich_plain

NARROW = (("project", "Project", 16), ("sessions", "Sess", 5), ("tokens", "Tokens", 7), ("cost", "Cost", 9),
          ("trend", "Trend", 12), ("top", "Top model", 14))
WIDE = (("project", "Project", 22), ("sessions", "Sess", 5), ("tokens", "Tokens", 7), ("cost", "Cost", 9),
        ("trend", "Trend", 12), ("top", "Top models", 26), ("cache", "Cache", 5), ("output", "Out", 5),
        ("per_req", "$/req", 8), ("last", "Last", 8))
BREAKDOWN = (("key", "Name", 26), ("requests", "Reqs", 6), ("tokens", "Tokens", 7), ("cost", "Cost", 9),
             ("share", "Share", 6), ("cache", "Cache", 5), ("per_req", "$/req", 8))
WIDE_COLUMNS = 130


class _Row:
    """A breakdown row as the filter and sort see it."""

    def __init__(self, key: str, totals, api: bool = False) -> None:
        self.key, self.totals, self.last_ms, self.api = key, totals, 0, api

    def matches(self, text: str) -> bool:
        return all(w in self.key.lower() for w in text.lower().split())


class ProjectsScreen(TableScreen):
    MODE = "projects"
    KEY = "7"
    TITLE = "Projects"
    DATA = ("views",)
    VIEWS = ("projects",)
    AUTO_FOCUS = "#projects-table"
    NAME = "projects"
    BY_BREAKDOWN = True
    PLACEHOLDER = "filter: project, model, agent…"
    LEFT = frozenset(("project", "key", "trend", "top"))
    BINDINGS = [
        Binding("b", "breakdown", "Breakdown"),
        Binding("s", "sort", "Sort"),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("enter", "open", "Sessions", show=False),
        Binding("escape", "clear", "Clear", show=False),
    ]

    def on_mount(self) -> None:
        self.filter_box().display = False
        super().on_mount()

    # -- controls -------------------------------------------------------------------------
    def action_breakdown(self) -> None:
        by = self.app.breakdown_by
        self.app.breakdown_by = BREAKDOWNS[(BREAKDOWNS.index(by) + 1) % len(BREAKDOWNS)]

    def action_clear(self) -> None:
        box = self.filter_box()
        box.value, box.display, self.text = "", False, ""
        self.query_one(DataTable).focus()
        self._fill()

    def action_open(self) -> None:
        """Drill in: the Sessions screen filtered to this project (escape there comes back)."""
        dt = self.query_one(DataTable)
        if not (0 <= dt.cursor_row < len(self._rows)):
            return
        row = self._rows[dt.cursor_row]
        text = row.name if hasattr(row, "name") else row.key
        self.app.show_sessions_of(text, back_to=self.MODE)

    # -- data -----------------------------------------------------------------------------
    def show_views(self, views: Views) -> None:
        if views.projects is None and views.breakdown is None:
            return
        self._views = views
        self._fill()

    def _fill(self) -> None:
        views = self._views
        if views is None:
            return
        dt = self.query_one(DataTable)
        keep = dt.cursor_row
        if views.projects is not None:
            cols = WIDE if self.app.size.width >= WIDE_COLUMNS else NARROW
            view = views.projects
            rows = sort_rows(filter_rows(view.rows, self.text), self.sort)
            total, now_ms, what = view.total, view.now_ms, "projects"
        else:
            cols = BREAKDOWN
            rows = sort_rows(filter_rows([_Row(b.key, b.totals, b.api) for b in views.breakdown], self.text),
                             "tokens" if self.sort == "tokens" else "cost")  # no recency per model
            total, now_ms, what = None, 0, f"{views.breakdown_by}s"
        self._set_columns(dt, cols)
        dt.clear()
        width = dict((k, w) for k, _, w in cols)
        # the share of the agent logs' tokens; a provider API's row is the same usage seen from
        # the other side: listed, never added (its share shows as "API")
        grand = total.total if total is not None else sum(r.totals.total for r in rows if not r.api) or 1
        for r in rows:
            t = r.totals
            if views.projects is not None:
                e = r.efficiency
                top = r.models[:3] if "output" in width else r.models[:1]
                values = {"project": cells.name(r.name, width["project"]), "sessions": cells.num(f"{r.sessions:,}"),
                          "tokens": cells.tokens(t.total), "cost": cells.cost(t), "trend": rich_plain(spark(r.trend)),
                          "top": cells.models(top, width["top"]), "cache": cells.ratio(e.cache_hit),
                          "output": cells.ratio(e.output_share), "per_req": cells.per_request(e.cost_per_request_pico),
                          "last": cells.num(cells.ago(r.last_ms, now_ms))}
            else:
                from tokentui.core.windows import efficiency

                e = efficiency(t, {})
                key = short_model(r.key) if views.breakdown_by == "model" else r.key
                key = f"{key} (API)" if r.api else key
                values = {"key": cells.name(key, width["key"]), "requests": cells.num(tokens_short(t.requests)),
                          "tokens": cells.tokens(t.total), "cost": cells.cost(t),
                          "share": cells.num("API") if r.api else cells.ratio(t.total / grand),
                          "cache": cells.ratio(e.cache_hit),
                          "per_req": cells.per_request(e.cost_per_request_pico)}
            dt.add_row(*(values[k] for k, _, _ in cols))
        self._rows = rows
        if rows:
            dt.move_cursor(row=min(keep, len(rows) - 1))
        hint = self.empty_hint(len(views.projects.rows) if views.projects is not None else len(views.breakdown))
        self.set_summary(
            Content.assemble(plain(f"{len(rows):,} {what} · window {views.window.name} · by {self.sort}"),
                             plain(f" · filter “{self.text}”" if self.text else "")),
            plain(hint) if hint else markup(" · [dim]b breakdown · s sort · / filter · ⏎ sessions · w window[/]"),
            keys=not hint)
