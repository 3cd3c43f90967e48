"""Drive every screen and key of the TUI on demo data (Pilot, headless)."""

from __future__ import annotations

import time

import pytest
from textual.widgets import DataTable, Select

from tests.tui.conftest import rendered, wait_for
from tokentui.sources import registry
from tokentui.tui.screens.budgets_screen import BudgetsScreen
from tokentui.tui.screens.dashboard_screen import DashboardScreen
from tokentui.tui.screens.export_screen import ExportScreen
from tokentui.tui.screens.help_screen import HelpScreen
from tokentui.tui.screens.history_screen import HistoryScreen
from tokentui.tui.screens.key_screen import KeyScreen
from tokentui.tui.screens.leverage_screen import LeverageScreen
from tokentui.tui.screens.sources_screen import SourcesScreen
from tokentui.tui.widgets.burn_meter import BurnMeter
from tokentui.tui.widgets.nav_bar import NavBar
from tokentui.tui.widgets.source_status_list import SourceStatusList
from tokentui.tui.widgets.top_list import TopList
from tokentui.tui.widgets.totals_panel import TotalsPanel

SIZE = (100, 30)


async def _ready(app, pilot):
    await wait_for(pilot, lambda: app.snapshot is not None, what="first snapshot")
    await pilot.pause()


async def test_dashboard_shows_the_figures(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await _ready(app, pilot)
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        snap = app.snapshot
        totals = rendered(screen.query_one(TotalsPanel))
        for name in ("today", "week", "month", "quarter"):
            assert name in totals
        from tokentui.core.fmt import tokens_compact

        assert tokens_compact(snap.period("today").tokens) in totals
        burn = str(screen.query_one("#burn-rate").render())
        assert "tok/min" in burn and "/h" in burn
        assert screen.query_one(BurnMeter).hour == snap.spark_hour
        assert "claude-sonnet-4-5" in rendered(screen.query_one(TopList))
        sources = rendered(screen.query_one(SourceStatusList))
        assert "claude-code" in sources and "error" in sources and "not set up" in sources
        await wait_for(pilot, lambda: app.leverage is not None and app.budgets is not None, what="figures")
        await pilot.pause()
        # the leverage headline is the Leverage screen's own (one figure, one source)
        assert str(screen.query_one("#leverage-line").render()) == app.leverage.headline
        assert "tokens/week" in app.leverage.headline and "p58 of Platform team (demo)" in app.leverage.headline
        # the most urgent budget: the monthly one, projected over
        assert str(screen.query_one("#dash-budget-name").render()) == "api-monthly"
        status = str(screen.query_one("#budget-status").render())
        # key hints read as keys, not as counts ("3 budgets" read as three budgets)
        assert "projected over" in status and "(+1 more: 3 → budgets)" in status
        assert screen.query_one("#headline").border_subtitle == "3 → budgets · 4 → leverage"
        line = str(screen.query_one("#budget-headline").render())
        assert line == app.budgets.get("api-monthly").headline.split(": ", 1)[1] and "runs out" in line
        assert screen.query_one(NavBar).status == "demo · 15:30:00"


@pytest.mark.parametrize("key,mode,cls", [("2", "history", HistoryScreen), ("3", "budgets", BudgetsScreen),
                                          ("4", "leverage", LeverageScreen), ("5", "sources", SourcesScreen),
                                          ("1", "dashboard", DashboardScreen)])
async def test_number_keys_switch_screens(make_app, key, mode, cls):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await _ready(app, pilot)
        await pilot.press("3" if key == "1" else "1")
        await pilot.press(key)
        await pilot.pause()
        assert app.current_mode == mode and isinstance(app.screen, cls)
        assert app.screen.query_one(NavBar).current == mode
        assert app.screen.query_one(f"#nav-{mode}").has_class("-active")


async def test_clicking_a_tab_switches_screen(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await _ready(app, pilot)
        await pilot.click("#nav-sources")
        await pilot.pause()
        assert app.current_mode == "sources"
        await pilot.click("#nav-dashboard")
        await pilot.pause()
        assert app.current_mode == "dashboard"


async def test_history_periods_filters_and_scrolling(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await _ready(app, pilot)
        await pilot.press("2")
        await wait_for(pilot, lambda: app.history is not None and app.history.period == "day", what="daily table")
        screen = app.screen
        table = screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == len(app.history.rows), what="rows painted")
        assert 90 <= table.row_count <= 91
        assert "Fri 20 Nov 2026" in str(table.get_row_at(0)[0])
        # weekly and monthly by key
        await pilot.press("w")
        await wait_for(pilot, lambda: app.history.period == "week", what="weekly table")
        await wait_for(pilot, lambda: table.row_count == len(app.history.rows))
        assert 13 <= table.row_count <= 15
        await pilot.press("m")
        await wait_for(pilot, lambda: app.history.period == "month", what="monthly table")
        months = app.history.rows
        # filter by source, then by model
        screen.query_one("#history-source", Select).value = "codex"
        await wait_for(pilot, lambda: app.history.source == "codex", what="source filter")
        assert 0 < app.history.total_tokens < sum(r.tokens for r in months)
        screen.query_one("#history-model", Select).value = "gpt-5-codex"
        await wait_for(pilot, lambda: app.history.model == "gpt-5-codex", what="model filter")
        assert "gpt-5-codex" in str(screen.query_one("#history-summary").render())
        screen.query_one("#history-source", Select).clear()
        await wait_for(pilot, lambda: app.history.source is None, what="source filter cleared")
        # back to days; scroll to the oldest day and back
        await pilot.press("d")
        await wait_for(pilot, lambda: app.history.period == "day" and table.row_count > 80)
        table.focus()
        for _ in range(3):
            await pilot.press("pagedown")
        await pilot.pause()
        assert 10 < table.cursor_row < table.row_count - 1
        await pilot.press("ctrl+end")
        await pilot.pause()
        assert table.cursor_row == table.row_count - 1
        assert screen.query_one("#history-chart").highlight == app.history.rows[-1].key
        await pilot.press("ctrl+home")
        await pilot.pause()
        assert table.cursor_row == 0


async def test_sources_screen_details_and_keys_in_demo(make_app, memkeyring):
    app = make_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await _ready(app, pilot)
        await pilot.press("5")
        screen = app.screen
        table = screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == len(registry.names()), what="source rows")
        table.focus()
        names = [str(table.get_row_at(i)[1]) for i in range(table.row_count)]
        statuses = {names[i]: str(table.get_row_at(i)[3]) for i in range(table.row_count)}
        assert statuses["gemini-cli"] == statuses["opencode"] == "not configured"
        # the demo shows more agents (issue 16): these have history, the rest are not set up
        assert {statuses[s] for s in ("openclaw", "amp", "copilot", "qwen-code", "cline")} == {"ok"}
        assert {statuses[s] for s in ("roo-code", "kilo-code", "zed")} == {"not configured"}
        synced = {names[i]: str(table.get_row_at(i)[4]) for i in range(table.row_count)}
        assert synced["zed"] == "" and synced["openclaw"].endswith("ago")  # nothing synced from what is not set up
        table.move_cursor(row=names.index("zed"))
        await pilot.pause()
        detail = str(screen.query_one("#source-detail").render())
        assert "last sync" not in detail and "records stored" not in detail, detail
        assert "planned" not in statuses.values()
        table.move_cursor(row=names.index("anthropic"))
        await pilot.pause()
        detail = str(screen.query_one("#source-detail").render())
        assert "failing" in detail and "401" in detail and "k: add a key" in detail
        # the demo opens the key modal but never stores or tests a key
        await pilot.press("k")
        await pilot.pause()
        assert isinstance(app.screen, KeyScreen) and app.screen.source == "anthropic"
        await pilot.press(*"sk-ant-admin-demo-123456")
        await pilot.press("enter")
        await pilot.pause()
        assert "demo mode" in str(app.screen.query_one("#key-error").render())
        assert memkeyring.store == {}
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("x")
        await pilot.pause()
        assert any("demo mode" in n.message for n in app._notifications)
        table.move_cursor(row=names.index("claude-code"))
        await pilot.press("k")
        await pilot.pause()
        assert any("needs no key" in n.message for n in app._notifications)


async def test_refresh_key_runs_a_refresh(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await _ready(app, pilot)
        before = app.session.refreshes
        await pilot.press("r")
        await wait_for(pilot, lambda: app.session.refreshes == before + 1 and not app._refresh_worker.is_running,
                       what="second refresh")
        assert app.status_line == "demo · 15:30:00"


async def test_theme_cycles_with_t(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await _ready(app, pilot)
        assert app.theme == "tokentop-dark"
        seen = [app.theme]
        for _ in range(3):
            await pilot.press("t")
            await pilot.pause()
            seen.append(app.theme)
        assert seen == ["tokentop-dark", "tokentop-high-contrast", "tokentop-light", "tokentop-dark"]
        await pilot.press("t")
        config = app.settings.path  # demo mode: its own config next to the demo store
        await wait_for(pilot, lambda: config.exists() and "tokentop-high-contrast" in config.read_text(),
                       what="theme saved")
        from tokentui.config import load_settings

        assert load_settings(config).theme == "tokentop-high-contrast"
        assert app.settings.theme == "tokentop-high-contrast"


async def test_a_theme_that_cannot_be_saved_says_so(make_app, tmp_path):
    app = make_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await _ready(app, pilot)
        app.settings.path.parent.mkdir(parents=True, exist_ok=True)
        app.settings.path.write_text("theme = [broken\n")  # a config the user broke meanwhile
        await pilot.press("t")
        await wait_for(pilot, lambda: any("not saved" in str(n.message) for n in app._notifications),
                       what="warning")
        assert app.theme == "tokentop-high-contrast"  # still applied
        assert app.settings.path.read_text() == "theme = [broken\n"  # and the file left alone


async def test_help_export_palette_and_quit(make_app):
    app = make_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await _ready(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert "command palette" in str(app.screen.query_one("#help-keys").render())
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ExportScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
        # the command palette knows the screens
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"History screen")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.current_mode == "history", what="palette switch")
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code in (0, None)
    assert not app.is_running


async def test_mouse_scroll_in_history(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await _ready(app, pilot)
        await pilot.press("2")
        table = app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: app.history is not None and table.row_count > 80)
        await pilot.click("#history-table", offset=(2, 3))
        await pilot.pause()
        assert table.cursor_row == 2
        table.scroll_down(animate=False)
        await pilot.pause()
        assert table.scroll_y > 0


async def test_a_year_of_history_scrolls_without_lag(tmp_path):
    from tests.tui.conftest import FROZEN_NOW, fixed_pricer, settings
    from tokentui.tui.app import TokentopApp
    from tokentui.services.demo import generate
    from tokentui.store.db import connect
    import time

    db = tmp_path / "year" / "history.db"
    conn = connect(db)
    generate(conn, now=FROZEN_NOW, days=365, pricer=fixed_pricer())
    conn.close()
    app = TokentopApp(settings(tmp_path), db_path=db, demo=True, clock=lambda: FROZEN_NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(app, pilot)
        t0 = time.monotonic()
        await pilot.press("2")
        table = app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: app.history is not None and table.row_count == len(app.history.rows))
        assert table.row_count >= 365
        loaded = time.monotonic() - t0
        table.focus()
        t0 = time.monotonic()
        for _ in range(60):  # a page at a time, through the whole year
            await pilot.press("pagedown")
        await pilot.pause()
        scrolled = time.monotonic() - t0
        assert table.cursor_row == table.row_count - 1
        assert loaded < 3.0, f"history took {loaded:.2f}s to load"
        # Pilot itself spends ~60 ms a key press (a bare DataTable: 6 s per 100 presses); ours adds ~8 ms
        assert scrolled < 12.0, f"60 page-downs took {scrolled:.2f}s"


async def test_first_run_with_nothing_to_read_says_what_to_do(tmp_path, monkeypatch):
    from tests.tui.conftest import settings
    from tokentui.tui.app import TokentopApp

    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "nope"))
    app = TokentopApp(settings(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None and app.snapshot.sources, what="statuses")
        await pilot.pause()
        assert "No usage stored yet" in str(app.screen.query_one("#leverage-line").render())
        assert "idle" in str(app.screen.query_one("#burn-rate").render())
        await pilot.press("5")
        await pilot.pause()
        detail = str(app.screen.query_one("#source-detail").render())
        assert "failing" in detail and "CLAUDE_CONFIG_DIR" in detail
        assert app.status_line.startswith("synced ")


def test_the_help_is_built_from_the_bindings(make_app, monkeypatch):
    """Every App key and each screen's own keys (not those Textual's Screen gives every screen),
    so a key added to a screen is in the help without editing it."""
    from textual.binding import Binding

    rows = dict(make_app().help_rows())
    assert rows["d w m"] == "History: daily, weekly, monthly"
    assert rows["k x"] == "Sources: add key, test key" and rows["a ⏎"] == "Budgets: add budget, edit"
    assert rows["r"].startswith("refresh now") and rows["q"] == "quit" and "ctrl+p" in rows
    assert not any("focus next" in what for what in rows.values())
    monkeypatch.setattr(LeverageScreen, "BINDINGS", [Binding("s", "sort", "Sort rows")], raising=False)
    assert dict(make_app().help_rows())["s"] == "Leverage: sort rows"


async def test_forms_keep_the_screen_keys(make_app):
    """While a form is open, 1 … 5, e and ? are the form's (check_action), never a screen switch."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await _ready(app, pilot)
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ExportScreen)
        assert app.check_action("show_screen", ("history",)) is False
        assert app.check_action("help", ()) is False and app.check_action("refresh", ()) is True
        await pilot.press("escape")
        await pilot.pause()
        assert app.check_action("show_screen", ("history",)) is True


async def test_too_small_terminal_says_so_instead_of_a_garbled_layout(make_app):
    """Below the smallest size at which every screen is usable, one notice with the size it
    needs; the screens come back as they were when the terminal grows. Tried in tmux: below 76
    columns model names and the leverage table's range column are cut; below 20 rows the
    dashboard loses its budget line."""
    from tokentui.tui.app import MIN_SIZE, TooSmallScreen

    assert MIN_SIZE == (76, 20)
    app = make_app()
    async with app.run_test(size=(60, 18)) as pilot:
        await _ready(app, pilot)
        assert isinstance(app.screen, TooSmallScreen)
        text = rendered(app.screen.query_one("#too-small-text"))
        assert "too small" in text and "60×18" in text and "76×20" in text
        await pilot.press("2")  # screen keys wait until it fits
        await pilot.resize_terminal(100, 30)
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("3")
        await pilot.pause()
        assert isinstance(app.screen, BudgetsScreen)
        for size in ((75, 30), (100, 19)):  # one dimension short is too small too
            await pilot.resize_terminal(*size)
            await pilot.pause()
            assert isinstance(app.screen, TooSmallScreen), size
            await pilot.resize_terminal(*MIN_SIZE)
            await pilot.pause()
            assert isinstance(app.screen, BudgetsScreen), size
        await pilot.press("a")  # a form open when the terminal shrinks is still there after
        await pilot.pause()
        form = app.screen
        await pilot.resize_terminal(50, 10)
        await pilot.pause()
        assert isinstance(app.screen, TooSmallScreen)
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert app.screen is form


async def test_palette_screenshot_without_a_downloads_folder_saves_here_and_says_where(make_app, tmp_path,
                                                                                      monkeypatch):
    """No ~/Downloads (a server, a container): the screenshot goes to the current directory and
    the notice names the file, instead of a bare "Failed"."""
    home, here = tmp_path / "no-downloads-home", tmp_path / "here"
    home.mkdir()
    here.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_DOWNLOAD_DIR", raising=False)
    monkeypatch.chdir(here)
    app = make_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await _ready(app, pilot)
        (command,) = [c for c in app.get_system_commands(app.screen) if c.title == "Screenshot"]
        command.callback()
        await wait_for(pilot, lambda: any("Screenshot" in n.title for n in app._notifications), what="notice")
        await pilot.pause()
        saved = list(here.glob("*.svg"))
        assert len(saved) == 1 and saved[0].read_text(encoding="utf-8").startswith("<svg")
        (notice,) = [n for n in app._notifications if "Screenshot" in n.title]
        assert str(saved[0]) in notice.message and notice.severity == "information"
        assert not (home / "Downloads").exists()


async def test_refresh_key_says_when_it_is_done(make_app):
    """`r` shows that it did something: a short notice when the refresh it asked for has finished
    (a refresh takes milliseconds, so "refreshing…" alone is never seen); timer refreshes stay quiet."""
    app = make_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await _ready(app, pilot)
        await pilot.pause()
        app.clear_notifications()
        before = app.session.refreshes
        app._start_refresh()  # a timer's refresh: no notice
        await wait_for(pilot, lambda: app.session.refreshes == before + 1 and not app._refresh_worker.is_running,
                       what="timer refresh")
        await pilot.pause()
        assert not [n for n in app._notifications if n.title == "Refresh"]
        await pilot.press("r")
        await wait_for(pilot, lambda: any(n.title == "Refresh" for n in app._notifications), what="refresh notice")
        (notice,) = [n for n in app._notifications if n.title == "Refresh"]
        assert notice.message == "refreshed at 15:30:00" and notice.severity == "information"


@pytest.mark.parametrize("size", [(76, 20), (80, 24), (120, 30)])
async def test_help_box_fits_every_usable_terminal(make_app, size):
    """The ? box never runs off the screen (it clipped its own border and text below 80
    columns): from the smallest usable size up, the box and every key line are inside it."""
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await _ready(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        box, keys = app.screen.query_one("#help-box"), app.screen.query_one("#help-keys")
        assert box.region.x >= 0 and box.region.right <= size[0] and box.region.bottom <= size[1]
        assert keys.region.right <= box.region.right - 3  # border and padding stay visible
        longest = max(len(line) for line in str(keys.render()).splitlines())
        assert keys.size.width >= longest or keys.size.height > len(app.help_rows())  # fits, or wraps


def _big_first_sync(monkeypatch):
    """``sync_local`` that reports reading 32 MB, up to 75 %, then waits for the event it returns."""
    import threading

    from tokentui.services import sync as sync_service

    go_on = threading.Event()
    real = sync_service.sync_local

    def big_sync(conn, settings_, *, only=(), progress=None, pricer=None):
        for done in (0, 8 << 20, 8 << 20, 16 << 20, 24 << 20):
            progress(done, 32 << 20)
        go_on.wait(20)
        progress(32 << 20, 32 << 20)
        return real(conn, settings_, only=only, pricer=pricer)

    monkeypatch.setattr(sync_service, "sync_local", big_sync)
    return go_on


async def test_a_long_first_sync_says_it_is_reading_the_logs(tmp_path, monkeypatch):
    """A new history: nothing is painted before the first sync ends (its zeros would read as
    nothing spent); the header says the logs are being read, then how far, never "synced"
    before it is."""
    from tests.tui.conftest import settings
    from tokentui.tui.app import TokentopApp

    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "nope"))
    go_on = _big_first_sync(monkeypatch)
    seen: list[str] = []
    monkeypatch.setattr(TokentopApp, "watch_status_line", lambda self, value: seen.append(value), raising=False)
    app = TokentopApp(settings(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.status_line == "reading logs 75%", what="progress shown")
        assert app.snapshot is None
        assert "waiting for data" in str(app.screen.query_one("TotalsPanel").render())
        go_on.set()
        await wait_for(pilot, lambda: app.status_line.startswith("synced "), what="the end of the sync")
    assert seen[:7] == ["starting…", "reading logs…", "reading logs 0%", "reading logs 25%", "reading logs 50%",
                        "reading logs 75%", "reading logs 100%"]
    assert seen[7].startswith("synced ") and len(seen) == 8


async def test_a_history_is_painted_before_the_first_sync_reads_the_logs(tmp_path, monkeypatch):
    from tests.tui.conftest import settings
    from tokentui.core.records import UsageRecord
    from tokentui.services.sync import open_store
    from tokentui.store import ledger
    from tokentui.store.db import transaction
    from tokentui.tui.app import TokentopApp

    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "nope"))
    conn = open_store()
    with transaction(conn):
        ledger.upsert(conn, [UsageRecord("codex", "k", int(time.time() * 1000) - 1000, "gpt-5", 1000, 500,
                                         cost_pico=10**10, cost_label="estimated")], "dev")
    conn.close()
    go_on = _big_first_sync(monkeypatch)
    app = TokentopApp(settings(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.status_line == "reading logs 75%", what="progress shown")
        await wait_for(pilot, lambda: app.snapshot is not None, what="the stored figures painted")
        quarter = next(p for p in app.snapshot.periods if p.name == "quarter")
        assert quarter.tokens == 1500 and app.status_line == "reading logs 75%"
        go_on.set()
        await wait_for(pilot, lambda: app.status_line.startswith("synced "), what="the end of the sync")
