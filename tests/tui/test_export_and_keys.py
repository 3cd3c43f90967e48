"""The export modal (``e``) and the key modal (``k`` / ``x`` on the Sources screen)."""

from __future__ import annotations

import json

import keyring
import pytest
from keyring.backends import fail
from textual.widgets import DataTable, Input, Select, Switch

from tests.tui.conftest import FROZEN_NOW, rendered, settings, wait_for
from tokentui.export.verify import verify_file
from tokentui.sources import registry
from tokentui.tui.screens.export_screen import ExportScreen
from tokentui.tui.screens.key_screen import KeyScreen

SIZE = (100, 30)
SECRET = "sk-admin-THIS-IS-A-TEST-KEY-9f3a"


async def _export(app, pilot, period: str, fmt: str, label: str = "", projects: bool = False) -> str:
    before = len(app._notifications)
    await pilot.press("e")
    await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen), what="export modal")
    modal = app.screen
    modal.query_one("#export-period", Select).value = period
    modal.query_one("#export-format", Select).value = fmt
    modal.query_one("#export-label", Input).value = label
    modal.query_one("#export-projects", Switch).value = projects
    await pilot.click("#export-go")
    await wait_for(pilot, lambda: any(n.title == "Export" and "written to" in n.message
                                      for n in list(app._notifications)[before:]), timeout=20, what="export")
    note = [n for n in list(app._notifications)[before:] if "written to" in n.message][-1]
    return note.message.split("written to ", 1)[1].split("\n", 1)[0]


async def test_export_writes_a_snapshot_that_verifies(make_app, tmp_path, monkeypatch):
    out = tmp_path / "exports"
    out.mkdir()
    monkeypatch.chdir(out)
    app = make_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None and app.budgets is not None)
        path = await _export(app, pilot, "7d", "json", label="Q4 review", projects=True)
        assert path.startswith(str(out)) and path.endswith(".json") and "Q4-review" in path
        verdict = verify_file(out / path.rsplit("/", 1)[1])
        assert verdict.ok, verdict
        data = json.loads((out / path.rsplit("/", 1)[1]).read_text())["data"]
        assert data["label"] == "Q4 review" and data["period"]["start"] == "2026-11-14"
        assert data["projects"]  # asked for; names only
        assert [b["name"] for b in data["budgets"]] == ["api-monthly", "tokens-fy"]
        assert "team" in data
        html = await _export(app, pilot, "month", "html")
        assert html.endswith(".html") and verify_file(out / html.rsplit("/", 1)[1]).ok
        assert sorted(p.suffix for p in out.iterdir()) == [".html", ".json"]


async def test_export_failure_is_one_clear_notice(make_app, tmp_path, monkeypatch):
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()  # the current directory no longer exists: writing fails
    app = make_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen))
        await pilot.click("#export-go")
        await wait_for(pilot, lambda: any(n.title == "Export failed" for n in app._notifications), timeout=20)
        assert app.is_running


async def _sources_row(app, pilot, name: str):
    await pilot.press("5")
    table = app.screen.query_one(DataTable)
    await wait_for(pilot, lambda: table.row_count == len(registry.names()), what="source rows")  # 13 today
    names = [str(table.get_row_at(i)[1]) for i in range(table.row_count)]
    table.focus()
    table.move_cursor(row=names.index(name))
    await pilot.pause()
    return table


def _everything_shown(app) -> str:
    """Every text the user could see: all widgets of every screen, notifications, a screenshot."""
    texts = [str(w.render()) for screen in app.screen_stack for w in screen.query("*")]
    texts += [f"{n.title} {n.message}" for n in app._notifications]
    texts.append(app.export_screenshot())
    return "\n".join(texts)


async def test_key_modal_stores_in_the_keyring_and_never_shows_the_key(tmp_path, memkeyring, monkeypatch):
    from tokentui.tui.app import TokentopApp
    from tokentui.services import poll

    checked = []

    def fake_check(source, settings, **kw):  # no network in tests: the answer check_key would give
        from tokentui.credentials import get_key, redact

        key, origin = get_key(source)
        checked.append(source)
        return True, f"OpenAI key {redact(key)} from {origin}: organization usage readable"

    monkeypatch.setattr(poll, "check_key", fake_check)
    monkeypatch.setattr(poll, "poll_all", lambda conn, settings, only=(), **kw: [])
    app = TokentopApp(settings(tmp_path), clock=lambda: FROZEN_NOW)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None and app.snapshot.sources)
        await _sources_row(app, pilot, "openai")
        await pilot.press("k")
        await wait_for(pilot, lambda: isinstance(app.screen, KeyScreen), what="key modal")
        modal = app.screen
        field = modal.query_one("#key-input", Input)
        assert field.password and app.focused is field
        await pilot.press(*SECRET)
        assert SECRET not in app.export_screenshot()  # masked while typed
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, KeyScreen), what="modal closed")
        assert memkeyring.store == {("tokentop", "openai"): SECRET}
        await wait_for(pilot, lambda: any("stored in the OS keyring" in n.message for n in app._notifications))
        assert any("…9f3a" in n.message for n in app._notifications)
        # the Sources screen shows the tail after the next full refresh
        await wait_for(pilot, lambda: any(r.key_hint == "…9f3a (keyring)" for r in app.snapshot.sources),
                       what="key hint")
        await pilot.pause()
        assert "…9f3a (keyring)" in rendered(app.screen.query_one("#source-detail"))
        # x: one test call in a worker
        await pilot.press("x")
        await wait_for(pilot, lambda: any(n.title == "openai key works" for n in app._notifications))
        assert checked == ["openai"]
        assert SECRET not in _everything_shown(app)
        assert SECRET[:-4] not in _everything_shown(app)
        assert all(SECRET not in repr(w) for w in app.workers)


async def test_without_a_keyring_backend_the_modal_names_the_env_var(tmp_path, monkeypatch):
    from tokentui.tui.app import TokentopApp
    from tokentui.services import poll

    monkeypatch.setattr(poll, "poll_all", lambda conn, settings, only=(), **kw: [])
    keyring.set_keyring(fail.Keyring())
    app = TokentopApp(settings(tmp_path), clock=lambda: FROZEN_NOW)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None and app.snapshot.sources)
        await _sources_row(app, pilot, "anthropic")
        await pilot.press("k")
        await wait_for(pilot, lambda: isinstance(app.screen, KeyScreen))
        await pilot.press(*SECRET)
        await pilot.press("enter")
        modal = app.screen
        await wait_for(pilot, lambda: "keyring" in rendered(modal.query_one("#key-error")), what="the reason")
        error = rendered(modal.query_one("#key-error"))
        assert "no working OS keyring backend" in error and "ANTHROPIC_ADMIN_KEY" in error
        assert isinstance(app.screen, KeyScreen)  # stays open: the user reads what to do
        assert modal.query_one("#key-input", Input).value == ""
        assert SECRET not in _everything_shown(app)


@pytest.mark.parametrize("typed,expected", [("", "paste a key first"), ("has space", "whitespace")])
async def test_empty_or_bad_keys_are_refused(tmp_path, memkeyring, monkeypatch, typed, expected):
    from tokentui.tui.app import TokentopApp
    from tokentui.services import poll

    monkeypatch.setattr(poll, "poll_all", lambda conn, settings, only=(), **kw: [])
    app = TokentopApp(settings(tmp_path), clock=lambda: FROZEN_NOW)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None and app.snapshot.sources)
        await _sources_row(app, pilot, "deepseek")
        await pilot.press("k")
        await wait_for(pilot, lambda: isinstance(app.screen, KeyScreen))
        modal = app.screen
        modal.query_one("#key-input", Input).value = typed
        await pilot.press("enter")
        await wait_for(pilot, lambda: expected in rendered(modal.query_one("#key-error")), what=expected)
        assert memkeyring.store == {}


async def test_sources_screen_says_when_an_api_source_is_polled_next(tmp_path, memkeyring, monkeypatch):
    from tokentui.tui.app import TokentopApp
    from tokentui.services import poll

    memkeyring.set_password("tokentop", "openai", SECRET)
    polled = []

    def fake_poll_all(conn, settings, only=(), **kw):
        polled.append(tuple(only))
        return [poll.PollResult(s, "ok", "polled") for s in only]

    monkeypatch.setattr(poll, "poll_all", fake_poll_all)
    app = TokentopApp(settings(tmp_path), clock=lambda: FROZEN_NOW)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None and app.snapshot.sources and polled)
        await wait_for(pilot, lambda: app.next_poll_in("openai") is not None, what="poll recorded")
        assert 290 < app.next_poll_in("openai") <= 300  # the default interval: 5 minutes
        await _sources_row(app, pilot, "openai")
        await wait_for(pilot, lambda: "next poll in 5 min" in rendered(app.screen.query_one("#source-detail")),
                       what="next poll shown")
        await _sources_row(app, pilot, "claude-code")
        assert "next poll" not in rendered(app.screen.query_one("#source-detail"))  # local: read, not polled


def test_next_poll_wording():
    from tokentui.tui.screens.sources_screen import _in

    assert [_in(s) for s in (0, 0.4, 1, 59.4, 60, 299.6, 3599, 3600, 7500)] == [
        "now", "now", "in 1 s", "in 59 s", "in 1 min", "in 5 min", "in 1 h 0 min", "in 1 h 0 min", "in 2 h 5 min"]


async def test_a_source_with_nothing_to_read_says_when_it_looked_not_when_it_synced(tmp_path):
    """An empty HOME: every local source is not set up. Its row has no "last sync" time (nothing
    was synced) and its details say when tokentop last looked."""
    from tokentui.tui.app import TokentopApp

    app = TokentopApp(settings(tmp_path), clock=lambda: FROZEN_NOW)
    async with app.run_test(size=SIZE) as pilot:
        table = await _sources_row(app, pilot, "claude-code")
        screen = app.screen
        await wait_for(pilot, lambda: "looked" in str(screen.query_one("#source-detail").render()),
                       what="the looked line")
        row = table.get_row_at(table.cursor_row)
        assert str(row[3]) == "not configured" and str(row[4]) == ""
        detail = str(screen.query_one("#source-detail").render())
        assert "looked 0s ago" in detail and "last sync" not in detail, detail
