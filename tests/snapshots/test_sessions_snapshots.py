"""SVG snapshots of the Sessions and Projects screens (frozen clock, frozen demo data) at
80×24 and 160×48, and of one session opened at 80×24."""

from __future__ import annotations

import pytest

from tests.snapshots.test_dashboard_snapshots import _app, _painted, template  # noqa: F401 (fixture)
from tests.tui.conftest import wait_for

SIZES = pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])


def _views(key: str, what: str, *more: str):
    async def show(pilot) -> None:
        await _painted(pilot)
        app = pilot.app
        await pilot.press(key)
        await wait_for(pilot, lambda: app.views is not None and getattr(app.views, what) is not None, what=what)
        await pilot.press(*more)
        await pilot.pause()
        await pilot.pause()

    return show


@SIZES
def test_sessions(snap_compare, template, tmp_path, size):  # noqa: F811
    assert snap_compare(_app(template, tmp_path, "tokentop-dark"), terminal_size=size,
                        run_before=_views("6", "sessions"))


@SIZES
def test_projects(snap_compare, template, tmp_path, size):  # noqa: F811
    assert snap_compare(_app(template, tmp_path, "tokentop-dark"), terminal_size=size,
                        run_before=_views("7", "projects"))


def test_session_detail_80x24(snap_compare, template, tmp_path):  # noqa: F811
    async def detail(pilot) -> None:
        await _views("6", "sessions")(pilot)
        app = pilot.app
        await pilot.press("enter")
        await wait_for(pilot, lambda: getattr(app.screen, "detail", None) is not None, what="session detail")
        await pilot.pause()
        await pilot.pause()

    assert snap_compare(_app(template, tmp_path, "tokentop-dark"), terminal_size=(80, 24), run_before=detail)
