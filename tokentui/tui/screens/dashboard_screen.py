"""Dashboard: burn meter, totals, top models, sources, the leverage headline and the most
urgent budget."""

from __future__ import annotations

from typing import Sequence

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Static

from tokentui.tui.screens.base import TokentopScreen
from tokentui.services.budgets import BudgetResult
from tokentui.services.dashboard import BudgetsView, Snapshot
from tokentui.services.leverage import LeverageReport
from tokentui.services.sessions import Views, sort_rows
from tokentui.tui.screens import rows as cells
from tokentui.tui.widgets.bar_chart import BarChart
from tokentui.tui.widgets.budget_gauge import STATUS_WORDS, BudgetGauge, status_color
from tokentui.tui.widgets.burn_meter import BurnMeter
from tokentui.tui.widgets.quota_gauge import QuotaGauges
from tokentui.tui.widgets.source_status_list import SourceStatusList
from tokentui.tui.widgets.top_list import TopList
from tokentui.tui.widgets.totals_panel import TotalsPanel
from tokentui.tui.widgets.text import plain, rich_plain

#: budget status → urgency (higher first)
URGENCY = {"over": 3, "projected_over": 2, "warning": 1, "ok": 0}
#: the compact sessions table on tall terminals: (key, label, width)
DASH_SESSIONS = (("live", "", 1), ("project", "Project", 20), ("source", "Agent", 11), ("models", "Models", 28),
                 ("requests", "Reqs", 6), ("tokens", "Tokens", 7), ("cost", "Cost", 9), ("last", "Last", 8))
DASH_SESSION_ROWS = 6
EMPTY = "No usage stored yet: [b]5[/b] shows what tokentop can read · try [b]tokentop --demo[/b]"


def most_urgent(results: Sequence[BudgetResult]) -> BudgetResult | None:
    """The budget to show first: over, then projected over, then alerting; the most used wins a tie."""
    return max(results, key=lambda r: (URGENCY.get(r.status, 0), r.used_fraction), default=None)


class DashboardScreen(TokentopScreen):
    """The first screen: how fast am I burning, how much so far, and where it leads."""

    MODE = "dashboard"
    KEY = "1"
    TITLE = "Dashboard"
    DATA = ("snapshot", "leverage", "budgets", "views")

    def __init__(self) -> None:
        super().__init__()
        self._empty = False

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="dash-top"):
            yield BurnMeter(id="burn")
            yield TotalsPanel(id="totals")
        with Horizontal(id="dash-mid"):
            yield TopList(id="top-models")
            yield SourceStatusList(id="source-list")
        yield BarChart(id="daily-chart")
        yield QuotaGauges(id="dash-quotas")
        with Vertical(id="headline"):
            yield Static("[dim]waiting for data…[/]", id="leverage-line")
            with Horizontal(id="budget-line"):
                yield Static("", id="dash-budget-name")
                yield BudgetGauge(id="dash-gauge")
                yield Static("", id="budget-status")
            yield Static("[dim]budgets: press 3[/]", id="budget-headline")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#top-models", TopList).border_title = "Top models · 7 days"
        self.query_one("#source-list", SourceStatusList).border_title = "Sources · 7-day share"
        box = self.query_one("#headline")
        box.border_title = "Leverage & budgets"
        box.border_subtitle = "3 → budgets · 4 → leverage"  # keys, not counts
        self.query_one("#daily-chart", BarChart).border_title = "Tokens per day · 28 days"
        self.query_one("#dash-gauge").display = False
        quotas = self.query_one("#dash-quotas", QuotaGauges)
        quotas.border_title = "Plan limits · official · ┃ even pace"
        quotas.border_subtitle = "3 → curves"
        quotas.display = False
        self._sessions_table()

    def _sessions_table(self) -> DataTable | None:
        """The compact sessions table, mounted the first time the terminal is tall enough
        (a dashboard that never shows it never pays for it)."""
        if not self.has_class("-roomy"):
            return None
        found = self.query("#dash-sessions")
        if found:
            return found.first(DataTable)
        table = DataTable(id="dash-sessions", cursor_type="none", zebra_stripes=True, show_cursor=False)
        table.can_focus = False
        table.border_title = "Recent sessions"
        table.border_subtitle = "6 → sessions"
        for key, label, width in DASH_SESSIONS:
            table.add_column(rich_plain(label, justify="left" if key in ("live", "project", "source", "models")
                                        else "right"), key=key, width=width)
        self.mount(table, before=self.query_one("#daily-chart"))
        return table

    def views_wanted(self) -> tuple[str, ...]:
        return ("sessions",) if self.has_class("-roomy") else ()

    def on_resize(self) -> None:
        super().on_resize()
        if self.views_wanted():
            self._sessions_table()
            if self.app.views is None:
                self.app.request_views()

    def show_views(self, views: Views) -> None:
        """The compact sessions table (tall terminals): the window's most recent sessions."""
        table = self._sessions_table()
        if views.sessions is None or table is None:
            return
        table.border_title = f"Recent sessions · {views.window.name}"
        table.clear()
        now = views.sessions.now_ms
        for r in sort_rows(views.sessions.rows, "recent")[:DASH_SESSION_ROWS]:
            table.add_row(rich_plain("●", "green") if r.live else rich_plain(""), cells.name(r.project_name, 20),
                          rich_plain(r.source), cells.models(r.models, 28), cells.num(f"{r.totals.requests:,}"),
                          cells.tokens(r.totals.total), cells.cost(r.totals), cells.num(cells.ago(r.last_ms, now)))

    def show_snapshot(self, snap: Snapshot) -> None:
        meter = self.query_one(BurnMeter)
        meter.burn, meter.hour, meter.day = snap.burn, snap.spark_hour, snap.spark_day
        self.query_one(TotalsPanel).periods = snap.periods
        models = self.query_one("#top-models", TopList)
        models.rates, models.items = dict(snap.burn.by_model), snap.top_models
        sources = self.query_one(SourceStatusList)
        sources.now_ms, sources.shares, sources.rates = snap.now_ms, snap.top_sources, dict(snap.burn.by_source)
        sources.devices = snap.devices
        sources.rows = snap.sources
        chart = self.query_one("#daily-chart", BarChart)
        chart.values = tuple((day[5:], float(tokens)) for day, tokens in snap.daily)
        chart.highlight = snap.daily[-1][0][5:] if snap.daily else None
        self.show_quotas(snap)
        quarter = snap.period("quarter")
        self._empty = not snap.tokens_per_week and not (quarter and quarter.tokens)
        if self._empty:
            self.query_one("#leverage-line", Static).update(EMPTY)
        elif self.app.leverage is not None:
            self.show_leverage(self.app.leverage)

    def show_quotas(self, snap: Snapshot) -> None:
        """The official plan-limit gauges; hidden until a window was ever recorded."""
        gauges = self.query_one("#dash-quotas", QuotaGauges)
        view = snap.quotas
        if view is None:  # the first paint, before the refresh read them: keep what is shown
            return
        gauges.display = bool(view)
        gauges.limit = 4 if self.screen.has_class("-tall") else 2
        gauges.tz = self.app.tz
        gauges.now_ms, gauges.states = view.now_ms, tuple(view.states)

    def show_leverage(self, report: LeverageReport) -> None:
        # the Leverage screen's own headline, so the two screens always agree
        if not self._empty:
            self.query_one("#leverage-line", Static).update(plain(report.headline))

    def show_budgets(self, view: BudgetsView) -> None:
        name = self.query_one("#dash-budget-name", Static)
        gauge = self.query_one("#dash-gauge", BudgetGauge)
        status = self.query_one("#budget-status", Static)
        text = self.query_one("#budget-headline", Static)
        r = most_urgent(view.results)
        gauge.display = r is not None
        name.update(plain(r.budget.name, "b") if r is not None else "")
        if view.problem:
            status.update("")
            text.update("[$error]⚠ budgets in the config cannot be read: see 3[/]")
        elif r is None:
            status.update("")
            text.update("[dim]no budgets yet: press 3, then a[/]")
        else:
            gauge.used, gauge.elapsed, gauge.status = r.used_fraction, r.elapsed_fraction, r.status
            more = f" [dim](+{len(view.results) - 1} more: 3 → budgets)[/]" if len(view.results) > 1 else ""
            status.update(f"[{status_color(r.status)}]{STATUS_WORDS.get(r.status, r.status)}[/]{more}")
            # the headline without its "monthly budget 'name':" (the name is on the line above)
            text.update(plain(r.headline.split(": ", 1)[-1]))
