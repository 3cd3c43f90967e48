"""Leverage: placeholder until the leverage screen lands; shows the one figure we have."""

from __future__ import annotations

from textual.widgets import Static

from tokentui.core.fmt import tokens_short
from tokentui.screens.placeholder import PlaceholderScreen
from tokentui.services.dashboard import Snapshot


class LeverageScreen(PlaceholderScreen):
    MODE = "leverage"
    TITLE_TEXT = "Leverage"
    TEXT = (
        "This screen will place your tokens per week, cost, cache efficiency and tokens per active "
        "hour against your team's benchmark percentiles (from a team.toml) and against public "
        "reference points on a log scale.\n\n"
        "[dim]Meanwhile:[/] [b]tokentop export[/] writes the snapshot your manager can read, and "
        "[b]tokentop team build[/] makes a team benchmark from five or more snapshots.")

    def show_snapshot(self, snap: Snapshot) -> None:
        ratio = f" · cache hits {snap.cache_hit_ratio:.0%}" if snap.cache_hit_ratio is not None else ""
        self.query_one("#placeholder-figure", Static).update(
            f"Your pace now: [b]{tokens_short(snap.tokens_per_week)}[/] tokens/week (28-day average){ratio}")
