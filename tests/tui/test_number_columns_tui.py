"""Issue 19 item 6 on the dashboard: the History table and the totals panel keep one number
format per column (tokens compact with one decimal, money with two decimals)."""

from __future__ import annotations

import re

from textual.widgets import DataTable

from tests.tui.conftest import rendered, wait_for
from tests.unit.test_number_columns import MONEY, one_format
from tokentui.tui.widgets.totals_panel import TotalsPanel

SIZE = (120, 34)


async def test_history_and_totals_columns_hold_one_format(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None, what="first snapshot")
        await pilot.pause()
        panel = app.screen.query_one(TotalsPanel)
        lines = [ln.split() for ln in rendered(panel).splitlines()[1:5]]
        assert [ln[0] for ln in lines] == ["today", "week", "month", "quarter"], lines
        assert one_format([ln[1] for ln in lines]) and all(MONEY.fullmatch(ln[2]) for ln in lines), lines
        await pilot.press("2")
        await wait_for(pilot, lambda: app.history is not None and app.history.period == "day", what="daily table")
        table = app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == len(app.history.rows), what="rows painted")
        heads = [str(c.label) for c in table.columns.values()]
        for key, head in zip(table.columns, heads):
            col = [str(c).strip() for c in table.get_column(key)]
            if head.strip().lower() in ("tokens", "input", "output", "cache rd", "cache wr", "cache read",
                                        "cache write", "unpriced"):
                assert one_format(col), (head, col[:20])
                assert any(re.fullmatch(r"\d+\.\d[kMB]", c) for c in col), (head, col[:5])
            if head.strip().lower() == "cost":
                assert all(MONEY.fullmatch(c) for c in col), (head, [c for c in col if not MONEY.fullmatch(c)])


async def test_session_tables_hold_one_format_too(make_app):
    """The dashboard's recent sessions and the Sessions screen: tokens compact with one
    decimal, money with two (no '$0.5545' under '$13.74')."""
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.views is not None and app.views.sessions is not None, what="sessions")
        await pilot.pause()
        tables = [app.screen.query_one("#dash-sessions", DataTable)]
        await pilot.press("6")
        await wait_for(pilot, lambda: app.screen.query(DataTable) and app.screen.query_one(DataTable).row_count,
                       what="sessions table")
        tables.append(app.screen.query_one(DataTable))
        for table in tables:
            assert table.row_count
            for key, column in table.columns.items():
                head = str(column.label).strip().lower()
                col = [str(c).strip().rstrip("*") for c in table.get_column(key)]
                if head == "tokens":
                    assert one_format(col) and all(re.fullmatch(r"\d+(\.\d[kMB])?", c) for c in col), col
                if head == "cost":
                    assert all(MONEY.fullmatch(c) or c == "unpriced" for c in col), col
