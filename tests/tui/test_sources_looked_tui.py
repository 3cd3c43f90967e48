"""Issue 19 item 10 on the Sources screen: a local source that finds nothing shows every
folder it tried and the env var that moves it."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable

from tests.tui.conftest import rendered, wait_for


async def test_sources_screen_says_where_a_source_looked(make_app, isolated, tmp_path):
    home = Path(isolated) / "home"
    app = make_app(db_path=tmp_path / "fresh" / "history.db", demo=False)
    async with app.run_test(size=(100, 34)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None, what="first snapshot")
        await pilot.press("5")
        await pilot.pause()
        table = app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count > 0, what="sources listed")
        detail = app.screen.query_one("#source-detail")
        await wait_for(pilot, lambda: "looked in" in rendered(detail), what="where it looked")
        text = rendered(detail)
        assert "claude-code" in text and "CLAUDE_CONFIG_DIR" in text
        assert f"looked in {home / '.claude' / 'projects'} (not found)" in text
        assert f"looked in {home / '.config' / 'claude' / 'projects'} (not found)" in text
