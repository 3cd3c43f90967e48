"""The Totals panel says how many of this month's tokens are estimates (issue 16)."""

from __future__ import annotations

from decimal import Decimal

from textual.app import App, ComposeResult

from tests.tui.conftest import rendered
from tokentui.core.figures import PeriodTotal
from tokentui.tui.widgets.totals_panel import TotalsPanel


class _Host(App):
    def compose(self) -> ComposeResult:
        yield TotalsPanel()


def _month(estimated: int) -> PeriodTotal:
    return PeriodTotal("month", "November", 0, 1, 1_220_000, 1_200_000, 20_000, 0, 0, Decimal("1.5"), Decimal(0), 0,
                       estimated)


async def test_estimated_tokens_line() -> None:
    app = _Host()
    async with app.run_test(size=(80, 12)) as pilot:
        panel = app.query_one(TotalsPanel)
        panel.periods = (_month(1_010_000),)
        await pilot.pause()
        assert "~1.0M tokens this month are estimates" in rendered(panel)
        panel.periods = (_month(0),)
        await pilot.pause()
        assert "estimates" not in rendered(panel)
