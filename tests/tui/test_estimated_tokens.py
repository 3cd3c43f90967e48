"""The Totals panel says how many of this month's tokens are estimates (issue 16), on one line
that fits the box at 80x24 even next to the unpriced tokens."""

from __future__ import annotations

from decimal import Decimal

from textual.app import App, ComposeResult

from tests.tui.conftest import rendered
from tokentui.core.figures import PeriodTotal
from tokentui.tui.widgets.totals_panel import TotalsPanel


class _Host(App):
    def compose(self) -> ComposeResult:
        yield TotalsPanel()


def _month(estimated: int, unpriced: int = 0) -> PeriodTotal:
    return PeriodTotal("month", "November", 0, 1, 1_220_000, 1_200_000, 20_000, 0, 0, Decimal("1.5"), Decimal(0),
                       unpriced, estimated)


async def test_estimated_tokens_line() -> None:
    app = _Host()
    async with app.run_test(size=(38, 12)) as pilot:  # the Totals box's width at 80x24
        panel = app.query_one(TotalsPanel)
        panel.periods = (_month(1_010_000),)
        await pilot.pause()
        lines = rendered(panel).splitlines()
        assert lines[-1] == "~1.0M estimated tokens this month" and len(lines) == 3
        assert len(lines[-1]) <= 36  # the box's inner width at 80x24: no wrapped second line
        panel.periods = (_month(1_010_000, 45_900),)
        await pilot.pause()
        lines = rendered(panel).splitlines()
        assert lines[-1] == "45.9k unpriced · ~1.0M estimated" and len(lines) == 3 and len(lines[-1]) <= 36
        panel.periods = (_month(0),)
        await pilot.pause()
        assert "estimated" not in rendered(panel)
