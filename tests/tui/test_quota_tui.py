"""Plan limits in the TUI: gauges on the dashboard, curves on the Budgets screen, one toast per
window forecast to run out (never again after a restart)."""

from __future__ import annotations

import shutil
from datetime import timedelta

import pytest

from tests.tui.conftest import FROZEN_NOW, settings, wait_for, write_template
from tests.tui.quota_data import add_samples


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return write_template(tmp_path_factory.mktemp("quota-demo") / "history.db")


def _app(template, tmp_path, quotas: bool = True):
    from tokentui.tui.app import TokentopApp

    db = tmp_path / "store" / "history.db"
    if not db.exists():
        db.parent.mkdir(exist_ok=True)
        shutil.copy(template, db)
        if quotas:
            add_samples(db)
    return TokentopApp(settings(tmp_path), db_path=db, demo=True, clock=lambda: FROZEN_NOW)


def _plan_toasts(app):
    return [n for n in app._notifications if n.title == "Plan limit"]


async def test_gauges_curves_and_one_toast(template, tmp_path):
    from tokentui.tui.widgets.quota_gauge import QuotaCurves, QuotaGauges

    app = _app(template, tmp_path)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None and app.snapshot.quotas is not None, what="quotas")
        await wait_for(pilot, lambda: _plan_toasts(app), what="the run-out toast")
        toasts = [n.message for n in _plan_toasts(app)]
        assert any("Claude plan 5h runs out" in t and "at this pace" in t for t in toasts), toasts
        assert any("Claude plan 5h passed 80%" in t for t in toasts)
        assert len(toasts) == 2 and not any("Codex" in t or "7d" in t for t in toasts), toasts  # others on track
        gauges = app.screen.query_one("#dash-quotas", QuotaGauges)
        assert gauges.display and gauges.states[0].lim == "account" and gauges.states[0].win == "five_hour"
        await pilot.press("3")
        await pilot.pause()
        curves = app.screen.query_one("#budget-quotas", QuotaCurves)
        assert curves.display and len(curves.curves) == len(curves.states) == 4
        assert [u for _t, u in curves.curves[0]] == [20.0, 41.0, 66.0, 85.0]
    again = _app(template, tmp_path)  # a restart: the alerts were noted in the store
    async with again.run_test(size=(120, 40), notifications=True) as pilot:
        await wait_for(pilot, lambda: again.snapshot is not None and again.snapshot.quotas is not None,
                       what="quotas")
        await pilot.pause()
        assert _plan_toasts(again) == []


async def test_no_samples_no_gauges(template, tmp_path):
    from tokentui.tui.widgets.quota_gauge import QuotaGauges

    app = _app(template, tmp_path, quotas=False)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None and app.snapshot.quotas is not None, what="quotas")
        await pilot.pause()
        assert not app.screen.query_one("#dash-quotas", QuotaGauges).display
        assert _plan_toasts(app) == []


def test_curve_text():
    from tokentui.tui.widgets.quota_gauge import curve_text

    pts = [(10, 10.0), (50, 60.0)]
    assert curve_text(pts, 0, 100, 60, 10) == "▁▁▁▁▅▅    "
    assert curve_text([], 0, 100, 100, 4) == "····"


async def test_windows_that_all_reset_long_ago_are_explained_on_budgets(template, tmp_path):
    """Samples exist, but every window they showed has reset: the Budgets panel stays and says
    when and where they were last read (the dashboard keeps its room)."""
    from tokentui.tui.app import TokentopApp
    from tokentui.tui.widgets.quota_gauge import QuotaCurves, QuotaGauges

    _app(template, tmp_path)  # the store, with its samples
    later = FROZEN_NOW + timedelta(days=30)
    app = TokentopApp(settings(tmp_path), db_path=tmp_path / "store" / "history.db", demo=True, clock=lambda: later)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None and app.snapshot.quotas is not None, what="quotas")
        assert not app.snapshot.quotas.states and app.snapshot.quotas.seen
        assert not app.screen.query_one("#dash-quotas", QuotaGauges).display
        await pilot.press("3")
        await pilot.pause()
        curves = app.screen.query_one("#budget-quotas", QuotaCurves)
        text = str(curves.render())
        assert curves.display and text.startswith("Last read 30d ago") and "has reset since" in text
        assert _plan_toasts(app) == []
