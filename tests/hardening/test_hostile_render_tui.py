"""Hostile text in the TUI (issue 15, items 1 and 2): model names, a session and project, a
Claude root folder, a team file, a theme file name, a provider's error message and balance
currency carrying terminal escape sequences and Rich/Textual markup. The app must start and
keep running, show the text literally on every screen, put no control character on the
terminal, and never turn data into a live ``@click`` action."""

from __future__ import annotations

import pytest

from tests.api import fakes
from tests.api.server import ProviderServer
from tests.hardening import hostile_text as H
from tests.tui.conftest import wait_for

SIZE = (160, 50)


@pytest.fixture
def hostile_app(tmp_path, monkeypatch):
    """An app (not demo) on a store already holding the hostile data, as after a `tokentop sync`."""
    from tokentui import paths
    from tokentui.tui.app import TokentopApp
    from tokentui.cli import main
    from tokentui.config import load_settings

    server = fakes.install(ProviderServer()).start()
    H.serve_hostile(server)
    planted = H.plant(tmp_path / "planted")
    config = paths.config_file()
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(H.config_toml(planted["root"], planted["team"]), encoding="utf-8")
    urls = fakes.base_urls(server)
    for name, value in (("OPENAI_ADMIN_KEY", fakes.OPENAI_KEY), ("TOKENTOP_OPENAI_BASE_URL", urls["openai"]),
                        ("DEEPSEEK_API_KEY", fakes.DEEPSEEK_KEY), ("TOKENTOP_DEEPSEEK_BASE_URL", urls["deepseek"])):
        monkeypatch.setenv(name, value)
    assert main(["sync", "-q"]) == 1  # the OpenAI source failed: its hostile error is in the store
    app = TokentopApp(load_settings(), theme_dirs=[paths.builtin_themes_dir(), planted["themes"]])
    yield app
    server.stop()


def screen_text(app) -> str:
    """Every cell the terminal would get now (widgets, borders, overlays, toasts), line by line."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def assert_alive(app) -> None:
    assert app.is_running and app.return_code is None and app._exception is None, app._exception


def assert_clean(app) -> str:
    assert_alive(app)
    text = screen_text(app)
    assert not H.control_chars(text), H.control_chars(text)
    return text


async def click_text(pilot, app, needle: str) -> None:
    """Click the first cell showing ``needle`` (where a markup link in it would be live)."""
    for y, line in enumerate(screen_text(app).split("\n")):
        x = line.find(needle)
        if x >= 0:
            await pilot.click(offset=(x + 1, y))
            await pilot.pause()
            return
    raise AssertionError(f"{needle!r} is not on the screen")


async def _started(app, pilot) -> None:
    await wait_for(pilot, lambda: not app.is_running or (app.snapshot is not None and app.budgets is not None
                                                           and app.leverage is not None), what="figures")
    await pilot.pause()


async def test_dashboard_starts_and_shows_hostile_names_as_text(hostile_app):
    app = hostile_app
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await _started(app, pilot)
        text = assert_clean(app)
        for name in ("unclosed", "click", "group", "bold"):  # the top models, literally
            assert H.VISIBLE[name] in text, name
        assert "osc\\u001b]0;pwned\\u0007" in text  # an escape sequence shows as its escape
        assert "team [beta" in text  # the leverage headline names the (hostile) team
        assert "[@click=app.quit]quit-theme" in text  # the broken theme file's notice
        for needle in ("quit-theme", "quit-me"):
            await click_text(pilot, app, needle)
            assert_clean(app)


async def test_history_model_dropdown_is_text_not_actions(hostile_app):
    from textual.visual import visualize
    from textual.widgets import Select
    from textual.widgets._select import SelectOverlay

    app = hostile_app
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await _started(app, pilot)
        await pilot.press("2")
        await wait_for(pilot, lambda: app.history is not None and app.history.models, what="history")
        await pilot.pause()
        assert_clean(app)
        await pilot.click("#history-model")  # open the dropdown: every model is an option
        await pilot.pause()
        assert_clean(app)
        overlay = app.screen.query_one("#history-model").query_one(SelectOverlay)
        shown = [visualize(overlay, overlay.get_option_at_index(i).prompt).plain  # as the option list draws it
                 for i in range(overlay.option_count)]
        for name in H.VISIBLE.values():  # (not all fit on the screen at once)
            assert name in shown, (name, shown)
        assert "osc\\u001b]0;pwned\\u0007title" in shown
        await click_text(pilot, app, "quit-")  # choose it: a filter, not app.quit
        assert_alive(app)
        assert app.screen.query_one("#history-model", Select).value == H.MODELS["click"]
        await wait_for(pilot, lambda: app.history is not None and app.history.model == H.MODELS["click"],
                       what="filtered history")
        await pilot.pause()
        text = assert_clean(app)
        assert "[@click=app.quit]quit-me" in text  # the summary line (the select shows it too, cut)
        await click_text(pilot, app, "quit-")
        assert_alive(app)


async def test_sources_screen_shows_a_hostile_provider_error(hostile_app):
    from textual.widgets import DataTable

    app = hostile_app
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await _started(app, pilot)
        await pilot.press("5")
        await pilot.pause()
        table = app.screen.query_one(DataTable)
        for source, needles in (("openai", ("group_by[", "[@click=app.quit]quit-err", "my-model [beta [bold]x",
                                            "\\u001b]0;pwned\\u0007\\u009b2J")),
                                ("deepseek", ("\\u001b[31M", "[B")),
                                ("claude-code", (H.ROOT.replace(H.OSC_TITLE, "\\u001b]0;PWNED\\u0007")
                                                 .replace("PWNED", "pwned"),))):
            table.move_cursor(row=table.get_row_index(source))  # rows are keyed by source name
            await pilot.pause()
            text = assert_clean(app)
            for needle in needles:
                assert needle in text, (source, needle)
        table.move_cursor(row=table.get_row_index("openai"))
        await pilot.pause()
        await click_text(pilot, app, "quit-err")
        assert_alive(app)


async def test_budgets_and_leverage_show_hostile_scope_and_team(hostile_app):
    app = hostile_app
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await _started(app, pilot)
        await pilot.press("3")
        await wait_for(pilot, lambda: bool(app.screen.query("BudgetItem")), what="budget list")
        await pilot.pause()
        text = assert_clean(app)
        assert "my-model [beta" in text and "group_by[" in text and "[@click=app.quit]quit-me" in text
        await click_text(pilot, app, "quit-me")
        assert_alive(app)
        # the edit form shows the scope escaped, and saving it unchanged keeps the exact names
        from tokentui.config import load_settings
        from tokentui.tui.screens.budget_form import BudgetFormScreen

        before = load_settings().raw["budgets"]["hostile"]
        app.screen.query_one("#budget-list").focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, BudgetFormScreen), what="the budget form")
        await pilot.pause()
        assert "my-model [beta" in assert_clean(app)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, BudgetFormScreen), what="the form saved")
        assert load_settings().raw["budgets"]["hostile"]["models"] == before["models"]
        await pilot.press("4")
        await pilot.pause()
        text = assert_clean(app)
        assert "team [beta \\u001b]0;pwned\\u0007[@click=app.quit]quit-team" in text
        await click_text(pilot, app, "quit-team")
        assert_clean(app)
