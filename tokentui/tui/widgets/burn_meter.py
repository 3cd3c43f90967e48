"""The live burn meter: tokens per minute and dollars per hour, with two sparklines, each on
a time axis (where it starts, ``now`` where it ends) with its scale (the highest bar's value)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.widgets import Label, Sparkline, Static

from tokentui.core.figures import Burn
from tokentui.core.fmt import tokens_short, usd
from tokentui.tui.widgets.bars import rate


class BurnMeter(Vertical):
    """Shows ``burn`` (rates over 5 minutes and 1 hour) and the per-minute / per-hour series."""

    burn: reactive[Burn | None] = reactive(None)
    hour: reactive[tuple[int, ...]] = reactive(())
    day: reactive[tuple[int, ...]] = reactive(())

    def compose(self) -> ComposeResult:
        yield Static("waiting for data…", id="burn-rate")
        yield Static("", id="burn-avg")
        with Horizontal(classes="spark-row"):
            yield Label("-1h", classes="spark-label")
            yield Sparkline((), id="spark-hour")
            yield Label("now", id="spark-hour-end", classes="spark-end")
        with Horizontal(classes="spark-row"):
            yield Label("-24h", classes="spark-label")
            yield Sparkline((), id="spark-day")
            yield Label("now", id="spark-day-end", classes="spark-end")

    def on_mount(self) -> None:
        self.border_title = "Burn · last 5 min"

    def watch_burn(self, burn: Burn | None) -> None:
        if burn is None:
            return
        top = self.query_one("#burn-rate", Static)
        if burn.tokens_per_min_5m <= 0:
            top.update("[dim]idle · no tokens in 5 min[/]")
        else:
            top.update(f"[b $burn-color]{rate(burn.tokens_per_min_5m)}[/] tok/min  "
                       f"[b]{usd(burn.usd_per_hour_5m, places=2)}[/]/h")
        self.query_one("#burn-avg", Static).update(
            f"[dim]1h avg[/] {rate(burn.tokens_per_min_1h)}/min · {usd(burn.usd_per_hour_1h, places=2)}/h")

    def watch_hour(self, hour: tuple[int, ...]) -> None:
        spark = self.query_one("#spark-hour", Sparkline)
        spark.data = list(hour)
        peak = tokens_short(max(hour, default=0))
        spark.tooltip = f"tokens per minute, last hour (peak {peak})"
        self.query_one("#spark-hour-end", Label).update(f"now\n▲{peak}/m")

    def watch_day(self, day: tuple[int, ...]) -> None:
        spark = self.query_one("#spark-day", Sparkline)
        spark.data = list(day)
        peak = tokens_short(max(day, default=0))
        spark.tooltip = f"tokens per hour, last 24 hours (peak {peak})"
        self.query_one("#spark-day-end", Label).update(f"now\n▲{peak}/h")
