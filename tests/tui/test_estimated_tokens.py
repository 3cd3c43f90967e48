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


async def test_editing_a_budget_in_the_form_keeps_include_estimated(tmp_path) -> None:
    """The form has no field for it: a budget that leaves estimated tokens out keeps that setting."""
    import tomllib

    from tokentui.core.budgets import parse_budget
    from tokentui.sources import registry
    from tokentui.tui.screens.budget_form import BudgetFormScreen

    config = tmp_path / "config.toml"
    config.write_text('[budgets.exact]\ntokens = 1000\nperiod = "month"\ninclude_estimated = false\n')
    budget = parse_budget("exact", {"tokens": 1000, "period": "month", "include_estimated": False},
                          registry.catalog())
    results = []

    class Host(App):
        def on_mount(self) -> None:
            self.push_screen(BudgetFormScreen(config, budget), results.append)

    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        app.screen.query_one("#budget-amount").value = "2000"
        await pilot.press("ctrl+s")
        for _ in range(50):
            await pilot.pause(0.05)
            if results:
                break
    raw = tomllib.loads(config.read_text())["budgets"]["exact"]
    assert raw["tokens"] == 2000 and raw["include_estimated"] is False
