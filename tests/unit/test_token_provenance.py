"""The ``estimated`` token provenance (issue 16): session-level totals and character-count
estimates are stored as such, summed apart, shown by reports (``--json`` too) and exports, and a
token budget can leave them out."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from zoneinfo import ZoneInfo

from tokentui.core.records import TOKENS_ESTIMATED, TOKENS_EXACT, UsageRecord
from tokentui.services import report
from tokentui.store import db, ledger, queries
from tokentui.store.db import connect, transaction

DAY = 1795165200000  # 2026-11-20T09:00Z


def _rec(key: str, inp: int, label: str, source: str = "goose") -> UsageRecord:
    return UsageRecord(source, key, DAY, "gpt-5.1", inp, 10, 0, 0, 0, 0, None, key, None, "unpriced",
                       token_label=label)


def _store(tmp_path: Path):
    conn = connect(tmp_path / "h.db")
    with transaction(conn):
        ledger.upsert(conn, [_rec("a", 1000, TOKENS_ESTIMATED), _rec("b", 200, TOKENS_EXACT, "kimi")], "dev")
    return conn


def test_the_label_is_stored_and_summed_apart(tmp_path) -> None:
    conn = _store(tmp_path)
    assert dict(conn.execute("SELECT key, token_label FROM ledger")) == {"a": "estimated", "b": "exact"}
    t = queries.totals(conn, queries.Filter())
    assert (t.total, t.estimated_tokens) == (1220, 1010)


def test_an_old_store_gets_the_column_with_exact_rows(tmp_path) -> None:
    path = tmp_path / "old.db"
    raw = sqlite3.connect(path)
    for stmt in db.MIGRATIONS[0][1].split(";"):
        if stmt.strip():
            raw.execute(stmt)
    raw.execute("PRAGMA user_version = 1")
    raw.execute("INSERT INTO ledger (source, key, kind, device, ts_ms, cost_label, updated_ms, input) "
                "VALUES ('codex', 'k', 'local', 'd', ?, 'unpriced', 0, 5)", (DAY,))
    raw.commit()
    raw.close()
    conn = connect(path)
    assert conn.execute("SELECT token_label FROM ledger").fetchone()[0] == "exact"


def test_reports_say_how_many_tokens_are_estimated(tmp_path) -> None:
    conn = _store(tmp_path)
    rep = report.build(conn, report.ReportRequest("daily", tz=ZoneInfo("UTC")))
    row = rep["daily"][0]
    assert row["totalTokens"] == 1220 and row["estimatedTokens"] == 1010
    assert rep["totals"]["estimatedTokens"] == 1010
    assert row["sources"]["goose"]["estimatedTokens"] == 1010
    assert row["sources"]["kimi"]["estimatedTokens"] == 0
    sess = report.build(conn, report.ReportRequest("session"))
    assert {s["sessionId"]: s["estimatedTokens"] for s in sess["session"]} == {"a": 1010, "b": 0}


def test_tables_footnote_estimated_tokens(tmp_path) -> None:
    conn = _store(tmp_path)
    for kind in ("daily", "session", "project"):
        text = report.render_table(report.build(conn, report.ReportRequest(kind)), kind)
        notes = [line for line in text.splitlines() if line.startswith("~ ")]
        assert len(notes) == 1 and "1,010" in notes[0] and "estimate" in notes[0]
        assert len(notes[0]) <= 80
    conn.execute("UPDATE ledger SET token_label = 'exact'")
    text = report.render_table(report.build(conn, report.ReportRequest("daily")), "daily")
    assert not any(line.startswith("~ ") for line in text.splitlines())


def test_salvage_from_a_store_without_the_column(tmp_path) -> None:
    """A damaged store of the first schema still gives back its rows (as exact)."""
    from tokentui.store import recover

    old = tmp_path / "old.db"
    raw = sqlite3.connect(old)
    for stmt in db.MIGRATIONS[0][1].split(";"):
        if stmt.strip():
            raw.execute(stmt)
    raw.execute("INSERT INTO ledger (source, key, kind, device, ts_ms, cost_label, updated_ms, input) "
                "VALUES ('codex', 'k', 'local', 'd', ?, 'unpriced', 0, 5)", (DAY,))
    raw.commit()
    raw.close()
    new = connect(tmp_path / "new.db")
    new.isolation_level = None
    damaged = recover._open_read_only(old)
    assert recover._salvage(damaged, new) == (1, 0)
    damaged.close()
    assert new.execute("SELECT key, input, token_label FROM ledger").fetchall() == [("k", 5, "exact")]


def test_exports_carry_estimated_tokens(isolated) -> None:
    from datetime import datetime, timezone

    from tokentui.config import load_settings
    from tokentui.export import render
    from tokentui.services.snapshot import ExportOptions, build
    from tokentui.services.sync import open_store

    conn = open_store()
    with transaction(conn):
        ledger.upsert(conn, [_rec("a", 1000, TOKENS_ESTIMATED), _rec("b", 200, TOKENS_EXACT, "kimi")], "dev")
    snap = build(conn, load_settings(), ExportOptions(now=datetime(2026, 11, 21, tzinfo=timezone.utc)))
    data = snap.data
    assert data["totals"]["estimated_tokens"] == 1010 and data["totals"]["total_tokens"] == 1220
    assert {s["source"]: s["estimated_tokens"] for s in data["by_source"]} == {"goose": 1010, "kimi": 0}
    for fmt in ("md", "html"):
        assert "1,010 of the tokens are estimates" in render(snap, fmt)


def test_a_budget_can_leave_estimated_tokens_out(tmp_path) -> None:
    from datetime import datetime, timezone

    from tokentui.core.budgets import parse_budget
    from tokentui.services import budgets as svc
    from tokentui.sources import registry

    conn = _store(tmp_path)
    now = datetime(2026, 11, 21, 12, tzinfo=timezone.utc)
    cat = registry.catalog()
    both = parse_budget("all", {"tokens": 10_000, "period": "month"}, cat)
    exact = parse_budget("exact", {"tokens": 10_000, "period": "month", "include_estimated": False}, cat)
    assert both.include_estimated and not exact.include_estimated
    assert svc.evaluate(conn, both, ZoneInfo("UTC"), now).spent == 1220
    assert svc.evaluate(conn, exact, ZoneInfo("UTC"), now).spent == 210
    assert svc.evaluate(conn, exact, ZoneInfo("UTC"), now).to_json()["scope"]["includeEstimated"] is False
    assert exact.to_raw()["include_estimated"] is False and "include_estimated" not in both.to_raw()
    assert "exact tokens only" in exact.describe()
    import pytest

    from tokentui.core.budgets import BudgetError

    with pytest.raises(BudgetError, match="include_estimated"):
        parse_budget("bad", {"tokens": 10, "period": "month", "include_estimated": "no"}, cat)


def test_budget_set_exclude_estimated_flag(isolated, capsys) -> None:
    from tokentui.cli.main import main
    from tokentui.config import load_settings

    assert main(["budget", "set", "b", "--tokens", "5M", "--period", "month", "--exclude-estimated"]) == 0
    assert load_settings().raw["budgets"]["b"]["include_estimated"] is False
    assert main(["budget", "set", "b", "--include-estimated"]) == 0
    assert "include_estimated" not in load_settings().raw["budgets"]["b"]


def test_the_dashboard_counts_estimated_tokens(tmp_path) -> None:
    from datetime import datetime, timezone

    from tokentui.services import dashboard

    conn = _store(tmp_path)
    snap = dashboard.build_snapshot(conn, datetime(2026, 11, 20, 12, tzinfo=timezone.utc), ZoneInfo("UTC"))
    month = snap.period("month")
    assert (month.tokens, month.estimated_tokens) == (1220, 1010)
    assert snap.period("today").estimated_tokens == 1010


def test_the_readme_says_for_every_agent_whether_its_numbers_are_exact() -> None:
    from tokentui.sources import registry

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## What it reads"):readme.index("## Where data and keys live")]
    for name in registry.names(registry.LOCAL):
        row = next(line for line in table.splitlines() if line.startswith(f"| `{name}` |"))
        assert any(w in row for w in ("exact", "estimated", "cost only")), name
