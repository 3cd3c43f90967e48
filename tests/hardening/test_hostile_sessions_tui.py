"""Hostile session ids and project names (escape sequences, markup, a live @click) on the
Sessions and Projects screens and in an opened session: text, never markup or actions."""

from __future__ import annotations

from tests.hardening import hostile_text as H
from tests.hardening.test_hostile_render_tui import (SIZE, _started, assert_alive, assert_clean,  # noqa: F401
                                                     click_text, hostile_app)
from tests.tui.conftest import wait_for


async def test_sessions_projects_and_detail_show_hostile_names_as_text(hostile_app):  # noqa: F811
    from tokentui.tui.screens.session_detail import SessionDetailScreen

    app = hostile_app
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await _started(app, pilot)
        await pilot.press("6")
        await wait_for(pilot, lambda: app.views is not None and app.views.sessions is not None
                       and app.views.sessions.rows, what="sessions")
        await pilot.pause()
        text = assert_clean(app)
        assert "…u001b]0;pwned\\u0007" in text  # the project's tail, its escape shown literally
        assert [r.project for r in app.views.sessions.rows if r.session == H.SESSION] == [H.PROJECT]
        app.screen.set_filter("bold")  # the session id's markup is matched as text
        await pilot.pause()
        assert [r.session for r in app.screen._rows] == [H.SESSION]
        await click_text(pilot, app, "pwned")
        assert_alive(app)
        app.screen.query_one("#sessions-table").focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, SessionDetailScreen) and app.screen.detail is not None,
                       what="session detail")
        await pilot.pause()
        text = assert_clean(app)
        assert "sess\\u001b]0;pwned\\u0007[bold]" in text and "[@click=app.quit]" in text
        await click_text(pilot, app, "[@click=app.quit]")
        assert_alive(app)
        await pilot.press("escape", "escape", "7")
        await wait_for(pilot, lambda: app.views is not None and app.views.projects is not None, what="projects")
        await pilot.pause()
        text = assert_clean(app)
        assert "[@click=app.quit]" in text
        await click_text(pilot, app, "[@click=app.quit]")
        assert_alive(app)
