"""The Budgets screen (key 3): gauges, burn-up, the add/edit form writing config.toml, alerts."""

from __future__ import annotations

import tomllib

import pytest
from textual.widgets import Input, ListView, Select

from tests.tui.conftest import rendered, wait_for
from tokentui.core.budgets import BudgetError
from tokentui.tui.screens.budget_form import BudgetFormScreen, budget_from_form, explain
from tokentui.tui.screens.budgets_screen import BudgetItem, BudgetsScreen
from tokentui.tui.widgets.budget_gauge import BudgetGauge, gauge_markup
from tokentui.tui.widgets.burnup_chart import BurnupChart

SIZE = (100, 32)


async def _budgets(app, pilot):
    await wait_for(pilot, lambda: app.budgets is not None and app.budgets.results, what="budgets evaluated")
    await pilot.press("3")
    await wait_for(pilot, lambda: isinstance(app.screen, BudgetsScreen) and len(app.screen.query(BudgetItem)) > 0,
                   what="budget list")
    await pilot.pause()
    return app.screen


async def _form(app, pilot, key: str = "a") -> BudgetFormScreen:
    await pilot.press(key)
    await wait_for(pilot, lambda: isinstance(app.screen, BudgetFormScreen), what="budget form")
    await pilot.pause()
    return app.screen


def _fill(form: BudgetFormScreen, **fields: str) -> None:
    for name, value in fields.items():
        if name in ("unit", "period"):
            form.query_one(f"#budget-{name}", Select).value = value
        else:
            form.query_one(f"#budget-{name}", Input).value = value


async def test_demo_budgets_show_gauges_burnup_and_projection(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _budgets(app, pilot)
        items = list(screen.query(BudgetItem))
        assert [i.result.budget.name for i in items] == ["api-monthly", "tokens-fy"]
        monthly = items[0].result
        assert monthly.status == "projected_over" and 0.5 < monthly.used_fraction < 1
        title = rendered(items[0].query_one(".budget-title"))
        assert "api-monthly" in title and "$560.00" in title and "projected over" in title
        gauge = items[0].query_one(BudgetGauge)
        assert (gauge.used, gauge.elapsed, gauge.status) == (monthly.used_fraction, monthly.elapsed_fraction,
                                                             "projected_over")
        assert "75%" in rendered(gauge) and "┃" in rendered(gauge)
        chart = screen.query_one(BurnupChart)
        assert chart.points == monthly.projection.burnup and chart.budget == 560.0
        drawn = rendered(chart)
        assert "$560" in drawn and "today 11-20" in drawn and "11-01" in drawn and "11-30" in drawn
        assert "━" in drawn and "╌" in drawn and "█" in drawn
        detail = rendered(screen.query_one("#budget-detail"))
        assert monthly.headline in detail and "P10–P90" in detail and "how this is computed:" in detail
        # the second budget: its chart and projection when highlighted
        screen.query_one(ListView).focus()
        await pilot.press("down")
        await pilot.pause()
        assert chart.budget == 12e9 and "12B" in rendered(chart)
        assert "tokens-fy" in rendered(screen.query_one("#budget-detail"))


def test_gauge_marks_pace_and_fills_by_use():
    bar = gauge_markup(0.5, 0.25, "ok", 20)
    assert "$success" in bar and "┃" in bar
    over = gauge_markup(1.4, 0.5, "over", 10)
    assert "$error" in over and "─" not in over  # over budget: the whole bar is full


INVALID = [  # (fields, what the form says, the field it focuses)
    ({"amount": "-5"}, "must be positive", "budget-amount"),
    ({"amount": "0"}, "must be greater than zero", "budget-amount"),
    ({"amount": "lots"}, "expected an amount in dollars", "budget-amount"),
    ({"amount": "1.5", "unit": "tokens"}, "whole number of tokens", "budget-amount"),
    ({"amount": ""}, "missing", "budget-amount"),
    ({"sources": "claude-code, windsurf"}, "unknown source 'windsurf'", "budget-sources"),
    ({"providers": "acme"}, "unknown provider 'acme'", "budget-providers"),
    ({"start": "next tuesday"}, "expected a date like 2026-04-01", "budget-start"),
    ({"alerts": "80"}, "out of range", "budget-alerts"),
    ({"name": "two words"}, "a budget name is", "budget-name"),
    ({"name": "api-monthly"}, "exists already", "budget-name"),
]


async def test_the_form_says_what_is_wrong_and_writes_nothing(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await _budgets(app, pilot)
        config = app.settings.path
        before = config.read_text()
        form = await _form(app, pilot)
        for fields, problem, field in INVALID:
            _fill(form, **{"name": "new-one", "amount": "100", "unit": "usd", "sources": "", "providers": "",
                           "start": "", "alerts": "", **fields})
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert app.screen is form, fields  # still open
            assert problem in form.error and "⚠" in form.error, (fields, form.error)
            assert form.query_one("#budget-form").has_class("-invalid")
            assert app.focused is form.query_one(f"#{field}"), fields
        assert config.read_text() == before
        # put right, the same form saves and closes
        _fill(form, name="new-one", amount="100", unit="usd", sources="", providers="", start="", alerts="")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is not form, what="form closed")
        assert "new-one" in config.read_text()


def test_an_unknown_period_is_refused_too():
    # the form offers month / quarter / year only; the validation behind it still refuses others
    with pytest.raises(BudgetError) as exc:
        budget_from_form("x", "10", "usd", "fortnight")
    text, field = explain(exc.value)
    assert "unknown period 'fortnight'" in text and field == "budget-period"


async def test_adding_editing_and_removing_a_budget_writes_config(make_app):
    app = make_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await _budgets(app, pilot)
        config = app.settings.path
        assert config.parent == app.db_path.parent  # the demo's own config, never the user's
        form = await _form(app, pilot)
        _fill(form, name="claude-q", amount="2,000,000,000", unit="tokens", period="quarter",
              providers="anthropic", alerts="50%, 90%")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.budgets.get("claude-q") is not None, what="new budget evaluated")
        raw = tomllib.loads(config.read_text())
        assert raw["budgets"]["claude-q"] == {"tokens": 2_000_000_000, "period": "quarter",
                                              "providers": ["anthropic"], "alerts": [0.5, 0.9]}
        assert set(raw["budgets"]) == {"api-monthly", "tokens-fy", "claude-q"}  # the others kept
        assert raw["team"]["file"].endswith("team.toml") and raw["comp_usd"] == 180000
        assert any("claude-q" in n.message and "saved in" in n.message for n in app._notifications)
        screen = app.screen
        await wait_for(pilot, lambda: len(screen.query(BudgetItem)) == 3, what="three gauges")
        # edit: rename and change the amount; the old name goes away
        screen.query_one(ListView).focus()
        screen.query_one(ListView).index = 0
        await pilot.pause()
        form = await _form(app, pilot, "enter")
        assert form.query_one("#budget-name", Input).value == "api-monthly"
        assert form.query_one("#budget-amount", Input).value == "560"
        _fill(form, name="api", amount="900")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.budgets.get("api") is not None, what="renamed budget")
        raw = tomllib.loads(config.read_text())
        assert "api-monthly" not in raw["budgets"] and raw["budgets"]["api"] == {"usd": 900, "period": "month"}
        assert app.budgets.get("api").status in ("ok", "warning")  # $900 is enough this month
        # remove (asks once more first)
        screen.query_one(ListView).index = [r.budget.name for r in app.budgets.results].index("api")
        await pilot.pause()
        form = await _form(app, pilot, "enter")
        await pilot.click("#budget-remove")
        await pilot.pause(0.4)  # past the button's pressed look, when a second click counts
        assert app.screen is form and "press again" in form.error
        await pilot.click("#budget-remove")
        await wait_for(pilot, lambda: app.budgets.get("api") is None, what="budget removed")
        assert "api" not in tomllib.loads(config.read_text())["budgets"]


async def test_escape_cancels_the_form(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _budgets(app, pilot)
        await _form(app, pilot)
        await pilot.press(*"typed")
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen


async def test_an_alert_toasts_and_rings_once_across_refreshes(make_app, monkeypatch):
    from tokentui.tui.app import TokentopApp
    from tokentui.services import dashboard

    bells, evaluations = [], []
    monkeypatch.setattr(TokentopApp, "bell", lambda self: bells.append(1))
    real = dashboard.build_figures

    def counted(*a, **k):
        figures = real(*a, **k)
        evaluations.append(figures)
        return figures

    monkeypatch.setattr(dashboard, "build_figures", counted)
    app = make_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_for(pilot, lambda: app.budgets is not None, what="budgets evaluated")
        await pilot.pause()

        def toasts():
            return [n for n in app._notifications if n.title.startswith("Budget api-monthly")]

        await wait_for(pilot, lambda: len(toasts()) == 1, what="the alert")
        assert "passed 50%" in toasts()[0].message and bells == [1]
        for n in (2, 3):  # two more refreshes, each evaluating the budgets again
            await pilot.press("r")
            await wait_for(pilot, lambda: len(evaluations) == n and not app._refresh_worker.is_running,
                           what="re-evaluated")
            await pilot.pause()
        assert evaluations[-1].budgets.get("api-monthly").crossed == (0.5,)  # still past 50 %
        assert evaluations[-1].alerts == ()
        assert len(toasts()) == 1 and bells == [1]
        assert not any(n.title.startswith("Budget tokens-fy") for n in app._notifications)  # 28 %: no threshold


async def test_no_budgets_and_a_broken_budgets_table_say_what_to_do(make_app, tmp_path):

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.budgets is not None)
        app.settings = app.settings.replace(raw={})
        await pilot.press("r")
        await wait_for(pilot, lambda: not app.budgets.results, what="no budgets")
        await pilot.press("3")
        await pilot.pause()
        assert "No budgets yet" in rendered(app.screen.query_one("#budgets-empty"))
        assert not app.screen.query_one("#burnup").display
        await pilot.press("1")
        await pilot.pause()
        assert "no budgets yet" in rendered(app.screen.query_one("#budget-headline"))
        app.settings = app.settings.replace(raw={"budgets": {"x": {"usd": -1, "period": "month"}}})
        await pilot.press("r")
        await wait_for(pilot, lambda: app.budgets.problem is not None, what="problem")
        await pilot.pause()
        assert "cannot be read" in rendered(app.screen.query_one("#budget-headline"))
        await pilot.press("3")
        await pilot.pause()
        assert "must be positive" in rendered(app.screen.query_one("#budgets-empty"))
