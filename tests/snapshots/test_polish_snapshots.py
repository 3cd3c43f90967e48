"""SVG snapshots of the screens issue 19's polish changed (number columns, charts with axes and
scales, readable light-theme text), at the sizes tests/snapshots/test_dashboard_snapshots.py
does not picture: History, Budgets, Leverage and Sources wide, Sources at 80×24, and Budgets in
the light theme at 80×24 (its dim text)."""

from __future__ import annotations

import pytest

from tests.snapshots.test_dashboard_snapshots import _app, _painted, template  # noqa: F401 (fixture)
from tests.tui.conftest import wait_for


def _show(key: str):
    async def show(pilot) -> None:
        await _painted(pilot)
        await pilot.press(key)
        app = pilot.app
        if key == "2":
            await wait_for(pilot, lambda: app.history is not None, what="history table")
        await pilot.pause()
        await pilot.pause()

    return show


@pytest.mark.parametrize("key", ["2", "3", "4", "5"], ids=["history", "budgets", "leverage", "sources"])
def test_screen_160x48(snap_compare, template, tmp_path, key):  # noqa: F811
    assert snap_compare(_app(template, tmp_path, "tokentop-dark"), terminal_size=(160, 48), run_before=_show(key))


def test_budgets_light_80x24(snap_compare, template, tmp_path):  # noqa: F811
    assert snap_compare(_app(template, tmp_path, "tokentop-light"), terminal_size=(80, 24), run_before=_show("3"))


def test_sources_80x24(snap_compare, template, tmp_path):  # noqa: F811
    assert snap_compare(_app(template, tmp_path, "tokentop-dark"), terminal_size=(80, 24), run_before=_show("5"))
