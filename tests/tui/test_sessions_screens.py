"""Sessions and Projects screens, driven with keys only: open, sort, filter, drill in, back;
the time window `w` and the breakdown `b`; a live log's sessions within one refresh."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timezone

import pytest
from textual.widgets import DataTable

from tests.tui.conftest import rendered, settings, wait_for
from tokentui.tui.app import TokentopApp
from tokentui.tui.screens.help_screen import HelpScreen
from tokentui.tui.screens.projects_screen import ProjectsScreen
from tokentui.tui.screens.session_detail import SessionDetailScreen
from tokentui.tui.screens.sessions_screen import SessionsScreen
from tokentui.tui.widgets.nav_bar import NavBar

SIZE = (100, 30)


async def _views(app, pilot, what: str, window: str | None = None):
    def ready():
        v = app.views
        return v is not None and getattr(v, what) is not None and (window is None or v.window.name == window)

    await wait_for(pilot, ready, what=f"{what} view")
    await pilot.pause()
    return app.views


async def test_sessions_screen_sort_filter_open_and_back(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None, what="first snapshot")
        await pilot.press("6")
        views = await _views(app, pilot, "sessions")
        screen = app.screen
        assert isinstance(screen, SessionsScreen)
        table = screen.query_one(DataTable)
        view = views.sessions
        assert table.row_count == len(view.rows) > 10
        costs = [r.totals.cost_pico for r in screen._rows]
        assert costs == sorted(costs, reverse=True)
        assert sum(r.totals.total for r in view.rows) == view.total.total
        live = [r for r in view.rows if r.live]
        assert [r.session for r in live] == ["demo-live-session"]
        await pilot.press("s")
        tokens = [r.totals.total for r in screen._rows]
        assert screen.sort == "tokens" and tokens == sorted(tokens, reverse=True)
        await pilot.press("s")
        lasts = [r.last_ms for r in screen._rows]
        assert screen.sort == "recent" and lasts == sorted(lasts, reverse=True)
        assert screen._rows[0].live
        await pilot.press("slash", *"codex")
        await pilot.pause()
        assert screen._rows and all(r.source == "codex" for r in screen._rows)
        assert table.row_count == len(screen._rows) < len(view.rows)
        assert "filter “codex”" in rendered(screen.query_one("#sessions-summary"))
        await pilot.press("enter")  # back to the table
        await pilot.press("enter")  # open the session under the cursor
        await wait_for(pilot, lambda: isinstance(app.screen, SessionDetailScreen) and app.screen.detail is not None,
                       what="session detail")
        detail = app.screen.detail
        assert detail.row.source == "codex" and detail.by_model
        assert sum(req for _, req, _ in detail.timeline) == detail.row.totals.requests
        body = rendered(app.screen.query_one("#session-body"))
        assert "Models" in body and "cache hit" in body and "Cost by token kind" in body and "Device: demo" in body
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
        await pilot.press("escape")  # clears the filter
        await pilot.pause()
        assert screen.text == "" and table.row_count == len(view.rows)


async def test_projects_screen_breakdown_filter_and_drill_in(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None, what="first snapshot")
        await pilot.press("7")
        views = await _views(app, pilot, "projects")
        screen = app.screen
        assert isinstance(screen, ProjectsScreen)
        names = [r.name for r in views.projects.rows]
        assert {"api-server", "web-app", "infra"} <= set(names)
        assert all(len(r.trend) == 12 and sum(r.trend) == r.totals.total for r in views.projects.rows)
        assert views.projects.total.total == sum(r.totals.total for r in views.projects.rows)
        await pilot.press("b")
        views = await _views(app, pilot, "breakdown")
        assert views.breakdown_by == "model" and "claude-sonnet-4-5-20250929" in [b.key for b in views.breakdown]
        await pilot.press("b")
        await wait_for(pilot, lambda: app.views.breakdown_by == "agent", what="by agent")
        await pilot.pause()
        from tokentui.sources import registry

        assert {b.key for b in app.views.breakdown} <= set(registry.names(registry.LOCAL))  # agents, no API
        await pilot.press("b", "b")  # source, then back to projects
        await _views(app, pilot, "projects")
        await pilot.press("slash", *"api")
        await pilot.pause()
        assert [r.name for r in screen._rows] == ["api-server"]
        await pilot.press("enter", "enter")  # to the table, then drill in
        await wait_for(pilot, lambda: isinstance(app.screen, SessionsScreen) and app.screen._rows, what="sessions")
        sessions = app.screen
        assert sessions.text == "api-server" and all(r.project_name == "api-server" for r in sessions._rows)
        await pilot.press("escape", "escape")  # clear the filter, then back
        await pilot.pause()
        assert isinstance(app.screen, ProjectsScreen)


async def test_window_key_cycles_and_shows_in_the_header(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None, what="first snapshot")
        await pilot.press("6")
        week = (await _views(app, pilot, "sessions", "7d")).sessions
        assert "window 7d" in rendered(app.screen.query_one("#nav-status"))
        await pilot.press("w")
        month = (await _views(app, pilot, "sessions", "30d")).sessions
        assert len(month.rows) > len(week.rows) and month.total.total > week.total.total
        assert "window 30d" in rendered(app.screen.query_one("#nav-status"))
        await pilot.press("w", "w")  # all, then 5m
        five = (await _views(app, pilot, "sessions", "5m")).sessions
        assert [r.session for r in five.rows] == ["demo-live-session"]
        await pilot.press("1")  # the window is shared: the dashboard's header says it too
        await pilot.pause()
        assert "window 5m" in rendered(app.screen.query_one("#nav-status"))
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        keys = rendered(app.screen.query_one("#help-keys"))
        assert "Sessions: sort, filter, open" in keys and "time window" in keys


async def test_help_and_tabs_fit_80_columns(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None, what="first snapshot")
        await pilot.press("question_mark")
        await pilot.pause()
        box = app.screen.query_one("#help-keys")
        assert box.size.height == len(app.help_rows())  # no key line wraps
        await pilot.press("escape", "6")
        await pilot.pause()
        nav = app.screen.query_one(NavBar)
        assert nav.compact and rendered(app.screen.query_one("#nav-sessions")).endswith("Sessions")
        assert rendered(app.screen.query_one("#nav-projects")).strip() == "7"


@pytest.mark.parametrize("width", [120, 132, 160])
async def test_the_header_keeps_its_clock_at_every_width(make_app, width):
    """Seven titled tabs plus "window 7d · demo · 15:30:00" need 132 columns: below that the
    inactive tabs show their key only, and the clock is never cut off."""
    import re

    app = make_app()
    async with app.run_test(size=(width, 40)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None, what="first snapshot")
        await pilot.pause()
        import html

        svg = app.export_screenshot()
        first_row = min(float(y) for y in re.findall(r'<text[^>]*\by="([\d.]+)"', svg))
        top = "".join(html.unescape(t) for y, t in re.findall(r'<text[^>]*\by="([\d.]+)"[^>]*>(.*?)</text>', svg)
                      if float(y) == first_row).replace("\xa0", " ")
        assert re.search(r"window 7d · demo · \d\d:\d\d:\d\d", top), top


def _line(session: str, n: int, output: int, now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    return json.dumps({
        "parentUuid": None, "isSidechain": False, "userType": "external", "cwd": "/home/u/proj",
        "sessionId": session, "version": "2.1.37", "type": "assistant",
        "message": {"model": "claude-sonnet-4-5-20250929", "id": f"msg_{session[:4]}_{n:04d}", "type": "message",
                    "role": "assistant", "content": [{"type": "text", "text": "done"}],
                    "usage": {"input_tokens": 10, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 1000,
                              "output_tokens": output}},
        "requestId": f"req_{session[:4]}_{n:04d}", "uuid": str(uuid.uuid4()),
        "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
    }, separators=(",", ":")) + "\n"


@pytest.mark.serial
async def test_live_log_new_session_appears_and_growing_one_updates(tmp_path, monkeypatch):
    refresh = 1.0
    root = tmp_path / "claude"
    folder = root / "projects" / "-home-u-proj"
    folder.mkdir(parents=True)
    first, second = "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e", "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"
    (folder / f"{first}.jsonl").write_text(_line(first, 1, 100))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(root))
    app = TokentopApp(settings(tmp_path, refresh_seconds=refresh), screen="sessions")
    async with app.run_test(size=SIZE) as pilot:
        def rows():
            v = app.views
            return {r.session: r for r in v.sessions.rows} if v is not None and v.sessions is not None else {}

        await wait_for(pilot, lambda: first in rows(), timeout=15, what="first session")
        assert rows()[first].totals.requests == 1 and rows()[first].live
        with (folder / f"{first}.jsonl").open("a") as fh:
            fh.write(_line(first, 2, 200))
        (folder / f"{second}.jsonl").write_text(_line(second, 1, 50))
        t0 = time.monotonic()
        await wait_for(pilot, lambda: second in rows() and rows()[first].totals.requests == 2,
                       timeout=refresh + 5, what="new and grown sessions")
        elapsed = time.monotonic() - t0
        await pilot.pause()
        assert elapsed < refresh + 1.5, f"took {elapsed:.2f}s"  # one refresh, plus its own time
        table = app.screen.query_one(DataTable)
        assert table.row_count == 2
        assert rows()[first].totals.total == 2 * 1010 + 300


@pytest.mark.parametrize("height", [40, 42, 46, 48, 55])
async def test_the_dashboard_fits_its_height_with_or_without_the_sessions_table(make_app, height):
    """Every panel, the leverage & budgets headline last, is on screen: the sessions table is
    added only where it fits (48+ rows), never pushing the headline below the footer."""
    app = make_app()
    async with app.run_test(size=(120, height)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None, what="first snapshot")
        await pilot.pause(0.3)
        headline = app.screen.query_one("#headline")
        assert headline.region.height > 0 and headline.region.bottom <= height - 1, (headline.region, height)
        assert bool(app.screen.query("#dash-sessions")) == (height >= 48)


async def test_dashboard_shows_recent_sessions_when_tall_only(make_app):
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.views is not None and app.views.sessions is not None, what="sessions")
        await pilot.pause()
        table = app.screen.query_one("#dash-sessions", DataTable)
        assert table.display and table.row_count == 6
        assert table.get_row_at(0)[1].plain == "web-app" and table.get_row_at(0)[0].plain == "●"  # the live one
        assert table.border_title == "Recent sessions · 7d"
        await pilot.press("w")
        await wait_for(pilot, lambda: app.views.window.name == "30d", what="30d")
        await pilot.pause()
        assert table.border_title == "Recent sessions · 30d"
    small = make_app()
    async with small.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: small.snapshot is not None, what="snapshot")
        await pilot.pause()
        assert not small.screen.query("#dash-sessions") and small.views is None


async def test_opened_on_sessions_with_an_empty_history_it_shows_them_after_the_first_sync(tmp_path, monkeypatch):
    """Nothing is painted from an empty history; the sessions the first sync finds are shown
    when it ends, not one refresh later."""
    root = tmp_path / "claude"
    folder = root / "projects" / "-home-u-proj"
    folder.mkdir(parents=True)
    sid = "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e"
    (folder / f"{sid}.jsonl").write_text(_line(sid, 1, 100))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(root))
    app = TokentopApp(settings(tmp_path, refresh_seconds=600), screen="sessions")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.status_line.startswith("synced "), what="the first sync")
        await wait_for(pilot, lambda: app.views is not None and app.views.sessions is not None
                       and [r.session for r in app.views.sessions.rows] == [sid], timeout=5, what="the session")


async def test_an_empty_sessions_or_projects_table_says_why(tmp_path, monkeypatch):
    """While the first sync reads, the summary says so; after it, a window with nothing in it
    says that `w` widens it (the history here is 40 days old), and the wider window fills."""
    root = tmp_path / "claude"
    folder = root / "projects" / "-home-u-proj"
    folder.mkdir(parents=True)
    sid = "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e"
    old = datetime.fromtimestamp(time.time() - 40 * 86400, timezone.utc)
    (folder / f"{sid}.jsonl").write_text(_line(sid, 1, 100, now=old))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(root))
    app = TokentopApp(settings(tmp_path, refresh_seconds=600), screen="sessions")
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, SessionsScreen) and app.snapshot is None
        assert "waiting for data" in screen.empty_hint(0)  # what an empty table says during the first sync
        await wait_for(pilot, lambda: app.status_line.startswith("synced "), what="the first sync")
        await wait_for(pilot, lambda: "w widens" in rendered(screen.query_one("#sessions-summary")),
                       timeout=5, what="the hint")
        assert "0 sessions" in rendered(screen.query_one("#sessions-summary"))
        await pilot.press("7")
        await wait_for(pilot, lambda: "none in the last 7d: w widens" in rendered(app.screen.query_one(
            "#projects-summary")), timeout=5, what="the projects hint")
        for _ in range(2):  # 7d → 30d → all
            await pilot.press("w")
        await wait_for(pilot, lambda: app.views.window.name == "all" and app.views.projects is not None
                       and len(app.views.projects.rows) == 1, timeout=5, what="the wider window")
        await pilot.pause()
        summary = rendered(app.screen.query_one("#projects-summary"))
        assert "1 projects" in summary and "widens" not in summary and "waiting" not in summary


@pytest.mark.parametrize("screen_key, name", [("6", "sessions"), ("7", "projects")])
async def test_rows_of_the_window_just_left_say_the_new_one_is_loading(make_app, screen_key, name):
    """While the rows of a new window (or breakdown) are being read, the summary says so,
    instead of offering the old window's figures and hints under the new window's header."""
    import threading

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None, what="first snapshot")
        await pilot.press(screen_key)
        await _views(app, pilot, name, "7d")
        summary = app.screen.query_one(f"#{name}-summary")
        assert "loading" not in rendered(summary)
        gate = threading.Event()
        real = app.session.views

        def slow(*args, **kw):
            gate.wait(10)
            return real(*args, **kw)

        app.session.views = slow
        try:
            await pilot.press("w")
            await wait_for(pilot, lambda: "loading the 30d window…" in rendered(summary), what="loading note")
            assert "window 7d" in rendered(summary)  # the rows shown are still the old window's, and say so
            if name == "projects":
                gate.set()
                await _views(app, pilot, name, "30d")
                gate.clear()
                await pilot.press("b")
                await wait_for(pilot, lambda: "loading the model breakdown…" in rendered(summary),
                               what="breakdown note")
        finally:
            gate.set()
        await wait_for(pilot, lambda: "loading" not in rendered(summary), what="the new rows")
        assert "window 30d" in rendered(summary)


@pytest.mark.parametrize("screen_key, name", [("6", "sessions"), ("7", "projects")])
async def test_the_summary_keeps_to_one_line_and_leaves_out_the_keys_first(make_app, screen_key, name):
    """At 80 columns the keys in the summary (the footer has them) give way to keep the figures
    on one line; at 140 both fit."""
    for width, keys in ((80, False), (140, True)):
        app = make_app()
        async with app.run_test(size=(width, 30)) as pilot:
            await wait_for(pilot, lambda: app.snapshot is not None, what="first snapshot")
            await pilot.press("w", "w")  # all: the demo's whole history, the longest figures
            await pilot.press(screen_key)
            await _views(app, pilot, name, "all")
            summary = app.screen.query_one(f"#{name}-summary")
            text = rendered(summary)
            assert ("s sort" in text) is keys, (width, text)
            assert len(text) <= width - 2, (width, text)
            assert "window all" in text
            if name == "sessions":
                assert " tokens" in text  # the total stays with the figures
