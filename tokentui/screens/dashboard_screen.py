"""Dashboard: burn meter, totals, top models, sources and the leverage headline."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from tokentui.core.fmt import tokens_short
from tokentui.screens.base import TokentopScreen
from tokentui.services.dashboard import Snapshot
from tokentui.widgets.bar_chart import BarChart
from tokentui.widgets.burn_meter import BurnMeter
from tokentui.widgets.source_status_list import SourceStatusList
from tokentui.widgets.top_list import TopList
from tokentui.widgets.totals_panel import TotalsPanel


class DashboardScreen(TokentopScreen):
    """The first screen: how fast am I burning, and how much so far."""

    MODE = "dashboard"

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="dash-top"):
            yield BurnMeter(id="burn")
            yield TotalsPanel(id="totals")
        with Horizontal(id="dash-mid"):
            yield TopList(id="top-models")
            yield SourceStatusList(id="source-list")
        yield BarChart(id="daily-chart")
        yield Static("", id="headline")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#top-models", TopList).border_title = "Top models · 7 days"
        self.query_one("#source-list", SourceStatusList).border_title = "Sources · 7-day share"
        self.query_one("#headline", Static).border_title = "Leverage & budgets"
        self.query_one("#daily-chart", BarChart).border_title = "Tokens per day · 28 days"
        self.query_one("#headline", Static).update("[dim]waiting for data…[/]")

    def show_snapshot(self, snap: Snapshot) -> None:
        meter = self.query_one(BurnMeter)
        meter.burn, meter.hour, meter.day = snap.burn, snap.spark_hour, snap.spark_day
        self.query_one(TotalsPanel).periods = snap.periods
        models = self.query_one("#top-models", TopList)
        models.rates, models.items = dict(snap.burn.by_model), snap.top_models
        sources = self.query_one(SourceStatusList)
        sources.now_ms, sources.shares, sources.rates = snap.now_ms, snap.top_sources, dict(snap.burn.by_source)
        sources.rows = snap.sources
        chart = self.query_one("#daily-chart", BarChart)
        chart.values = tuple((day[5:], float(tokens)) for day, tokens in snap.daily)
        chart.highlight = snap.daily[-1][0][5:] if snap.daily else None
        quarter = snap.period("quarter")
        if not snap.tokens_per_week and not (quarter and quarter.tokens):
            self.query_one("#headline", Static).update(
                "No usage stored yet: [b]5[/b] shows what tokentop can read · try [b]tokentop --demo[/b]")
            return
        parts = [f"[b]{tokens_short(snap.tokens_per_week)}[/] tokens/week [dim](28-day avg)[/]"]
        if snap.cache_hit_ratio is not None:
            parts.append(f"cache hits [b]{snap.cache_hit_ratio:.0%}[/]")
        parts.append("[dim]budgets: 3 · vs team: 4[/]")
        self.query_one("#headline", Static).update(" · ".join(parts))
