"""Issue 19 item 6: one number format per column everywhere (CLI tables, the dashboard's
tables, exports). A column of token counts is all exact ('4,823,495') or all compact with one
decimal ('24.0M'); money always has two decimals; a cost with no price is 'unpriced'."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from tokentui.core import fmt

EXACT = re.compile(rf"^{fmt.EXACT}$")
COMPACT = re.compile(rf"^{fmt.COMPACT}$")
MONEY = re.compile(rf"^(?:{fmt.MONEY})$")


def one_format(cells: list[str]) -> bool:
    """Every cell exact, or every cell compact (figures below 1,000 are both)."""
    cells = [c for c in cells if c]
    return all(EXACT.match(c) for c in cells) or all(COMPACT.match(c) for c in cells)


def test_compact_tokens_always_have_one_decimal():
    assert [fmt.tokens_compact(n) for n in (0, 950, 1_000, 11_000, 11_234, 9_960_000, 10_000_000, 52_000_000,
                                            999_960, 45_300_000_000, -2_500)] == \
        ["0", "950", "1.0k", "11.0k", "11.2k", "10.0M", "10.0M", "52.0M", "1.0M", "45.3B", "-2.5k"]


def test_a_token_column_is_exact_when_it_fits_else_compact_throughout():
    assert fmt.token_column([24_000_000, 4_823_495, 12], 10) == ["24,000,000", "4,823,495", "12"]
    assert fmt.token_column([24_000_000, 4_823_495, 12], 9) == ["24.0M", "4.8M", "12"]
    assert fmt.token_column([52_000_000, 9_960_000]) == ["52,000,000", "9,960,000"]


def test_money_has_two_decimals_and_unpriced_is_never_zero_dollars():
    assert [fmt.money(Decimal(x)) for x in ("0", "0.4987", "12.3", "1234.5", "0.004")] == \
        ["$0.00", "$0.50", "$12.30", "$1,234.50", "<$0.01"]
    assert fmt.cost_cell(Decimal(0), 150) == "unpriced" and fmt.cost_cell(None) == "unpriced"
    assert fmt.cost_cell(Decimal("0.5"), 150) == "$0.50*" and fmt.cost_cell(Decimal("0.5")) == "$0.50"


def _report(rows):
    def fields(tokens, cost, unpriced=0):
        return {"inputTokens": tokens // 4, "outputTokens": tokens // 4, "cacheCreationTokens": tokens // 4,
                "cacheReadTokens": tokens - 3 * (tokens // 4), "totalTokens": tokens, "totalCost": cost,
                "unpricedTokens": unpriced, "modelBreakdowns": []}
    daily = [{"date": d, **fields(t, c, u)} for d, t, c, u in rows]
    total = fields(sum(r[1] for r in rows), sum(r[2] for r in rows), sum(r[3] for r in rows))
    return {"daily": daily, "totals": total}


@pytest.mark.parametrize("width", [80, 120])
def test_the_cli_report_table_never_mixes_formats_in_a_column(width):
    from tokentui.services.report import render_table

    report = _report([("2026-11-01", 96_000_000, 52.0, 0), ("2026-11-02", 4_823_495, 0.4987, 0),
                      ("2026-11-03", 19_293_980, 0.0, 1_200), ("2026-11-04", 812, 0.0031, 0)])
    lines = render_table(report, "daily", width).splitlines()
    body = [ln for ln in lines if ln[:4].isdigit() or ln.startswith("Total")]
    cols = list(zip(*(ln.split()[-6:] for ln in body)))
    for col in cols[:5]:
        assert one_format(list(col)), col
    assert all(MONEY.match(c) for c in cols[5]), cols[5]
    assert cols[5][2] == "unpriced" and "$0.00" not in cols[5]  # a day with only unpriced tokens
    assert cols[5][1] == "$0.50" and cols[5][3] == "<$0.01"


def test_export_tables_never_mix_formats_in_a_column(isolated):
    from tests.unit.test_export import NOW, known_records, seed
    from tokentui.config import load_settings
    from tokentui.export import render
    from tokentui.services.snapshot import ExportOptions, build
    from tokentui.services.sync import open_store

    seed(known_records(NOW) + [__import__("tests.unit.test_export", fromlist=["rec"]).rec(
        "codex", "big", int(NOW.timestamp() * 1000) - 3_600_000, "gpt-5", 96_000_000_000, 1_000, cost="9.5")])
    conn = open_store()
    snap = build(conn, load_settings(), ExportOptions(now=NOW))
    md = render(snap, "md")
    conn.close()
    tables = re.findall(r"(?m)^(\| .+\|\n\|[-:|]+\|\n(?:\|.*\|\n)+)", md)
    assert len(tables) >= 4
    for t in tables:
        rows = [[c.strip().replace("\\*", "*") for c in ln.strip("|").split(" | ")] for ln in t.splitlines()]
        head, body = rows[0], rows[2:]
        for i, name in enumerate(head):
            col = [r[i] for r in body]
            if name in ("Input", "Output", "Cache W", "Cache R", "Total", "Tokens"):
                assert one_format(col), (name, col)
            if name in ("Cost", "Billed"):
                assert all(MONEY.match(c) for c in col), (name, col)
    assert "$0.00*" not in md and "| mystery-model |" in md
    assert re.search(r"\| mystery-model \|.*\| unpriced \|", md)
    html = render(snap, "html")
    assert html.count("<table>") >= 4
    for t in re.findall(r"<table>(.*?)</table>", html, re.S):
        head = [re.sub("<[^>]+>", "", h) for h in re.findall(r"<th[^>]*>(.*?)</th>", t)]
        body = [[re.sub("<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", r)]
                for r in re.findall(r"<tr>(.*?)</tr>", t, re.S) if "<td" in r]
        for i, name in enumerate(head):
            col = [r[i] for r in body]
            if name in ("Input", "Output", "Cache write", "Cache read", "Total", "Tokens"):
                assert one_format(col), (name, col)
            if name in ("Cost", "Billed"):
                assert all(MONEY.match(c) for c in col), (name, col)
    assert "$0.00 *" not in html and "$0.00*" not in html


def test_a_session_length_reads_the_same_everywhere():
    """One formatter for the TUI's Sessions screen, its detail view and `report session`:
    units always written ('1h05m', never '1h05')."""
    assert [fmt.duration(m * 60_000) for m in (0, 42, 65, 600, 1440 + 61, 99 * 1440)] == [
        "0m", "42m", "1h05m", "10h00m", "1d01h", "99d00h"]
    assert fmt.duration(-5) == "0m"
    import inspect

    from tokentui.services import report
    from tokentui.tui.screens import session_detail, sessions_screen

    for module in (report, session_detail, sessions_screen):
        assert "duration(" in inspect.getsource(module), module.__name__
