"""The SQLite ledger: migrations, idempotent upserts, grouping in a timezone."""

from __future__ import annotations

import sqlite3
import stat
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tokentui.core.records import BILLED, ESTIMATED, UNPRICED, UsageRecord
from tokentui.errors import StoreError
from tokentui.store import db, ledger, queries


def _rec(key: str, ts_ms: int, **kw) -> UsageRecord:
    base = dict(source="claude-code", key=key, ts_ms=ts_ms, model="m", input=10, output=5, cache_read=100,
                cost_pico=1000, cost_label=ESTIMATED)
    base.update(kw)
    return UsageRecord(**base)


def test_new_store_is_wal_versioned_and_private(tmp_path: Path) -> None:
    path = tmp_path / "d" / "history.db"
    conn = db.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == db.SCHEMA_VERSION
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"ledger", "files", "source_status", "sync_state", "meta"} <= tables


def test_migrations_apply_in_order_and_only_once(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "h.db"
    conn = db.connect(path)
    conn.close()
    extra = db.MIGRATIONS + [(db.SCHEMA_VERSION + 1, "ALTER TABLE ledger ADD COLUMN note TEXT")]
    monkeypatch.setattr(db, "MIGRATIONS", extra)
    monkeypatch.setattr(db, "SCHEMA_VERSION", db.SCHEMA_VERSION + 1)
    conn = db.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == db.SCHEMA_VERSION
    cols = [r[1] for r in conn.execute("PRAGMA table_info(ledger)")]
    assert "note" in cols
    conn.close()
    db.connect(path).close()  # re-running migrate is a no-op, not a duplicate-column error


def test_refuses_a_newer_schema(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    conn = db.connect(path)
    conn.execute(f"PRAGMA user_version = {db.SCHEMA_VERSION + 5}")
    conn.close()
    with pytest.raises(StoreError, match="newer than this tokentop"):
        db.connect(path)


def test_damaged_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="cannot open the history store"):
        db.connect(path)


def test_upsert_is_idempotent(tmp_path: Path) -> None:
    conn = db.connect(tmp_path / "h.db")
    recs = [_rec("a", 1_700_000_000_000), _rec("b", 1_700_000_060_000, source="codex")]
    for _ in range(3):
        with db.transaction(conn):
            ledger.upsert(conn, recs, "laptop")
    t = queries.totals(conn, queries.Filter())
    assert (t.records, t.input, t.output, t.cache_read, t.cost_pico) == (2, 20, 10, 200, 2000)


def test_upsert_updates_a_changed_bucket_and_keeps_device_as_provenance(tmp_path: Path) -> None:
    conn = db.connect(tmp_path / "h.db")
    with db.transaction(conn):
        ledger.upsert(conn, [_rec("bucket", 0 + 1_700_000_000_000, kind="api", source="openai", input=5,
                                  cost_label=BILLED)], "laptop")
    with db.transaction(conn):  # a later poll sees more usage in the same bucket, on another device
        ledger.upsert(conn, [_rec("bucket", 1_700_000_000_000, kind="api", source="openai", input=9,
                                  cost_label=BILLED)], "desktop")
    rows = conn.execute("SELECT input, device FROM ledger").fetchall()
    assert rows == [(9, "laptop")]


def test_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    conn = db.connect(tmp_path / "h.db")
    with pytest.raises(RuntimeError):
        with db.transaction(conn):
            ledger.upsert(conn, [_rec("a", 1_700_000_000_000)], "d")
            raise RuntimeError("boom")
    assert queries.record_count(conn) == 0


def test_grouping_by_day_in_a_timezone_and_unpriced_share(tmp_path: Path) -> None:
    conn = db.connect(tmp_path / "h.db")
    # 2026-11-21 00:50 UTC is still 2026-11-20 in Los Angeles; 2026-11-20 16:00 UTC is 08:00 there
    recs = [_rec("a", 1795222200000), _rec("b", 1795190400000, model="mystery", cost_pico=None,
                                             cost_label=UNPRICED)]
    with db.transaction(conn):
        ledger.upsert(conn, recs, "d")
    utc = queries.grouped(conn, queries.Filter(), ZoneInfo("UTC"), "day")
    la = queries.grouped(conn, queries.Filter(), ZoneInfo("America/Los_Angeles"), "day")
    assert sorted(utc) == ["2026-11-20", "2026-11-21"]
    assert sorted(la) == ["2026-11-20"]
    t = queries.totals(conn, queries.Filter())
    assert t.unpriced_tokens == 115 and t.cost_pico == 1000
    assert list(t.models) == ["mystery", "m"]


def test_period_keys_and_bounds() -> None:
    d = date(2026, 11, 22)  # a Sunday
    assert queries.period_key(d, "week") == "2026-11-16"
    assert queries.period_key(d, "week", week_start=6) == "2026-11-22"
    assert queries.period_key(d, "month") == "2026-11"
    assert queries.period_key(d, "quarter") == "2026-Q4"
    from datetime import datetime, timezone
    now = datetime(2026, 11, 22, 12, tzinfo=timezone.utc)
    a, b = queries.period_bounds("year", now, ZoneInfo("UTC"), start=date(2020, 4, 1))
    assert (a.date(), b.date()) == (date(2026, 4, 1), date(2027, 4, 1))
    a, b = queries.period_bounds("quarter", now, ZoneInfo("UTC"))
    assert (a.date(), b.date()) == (date(2026, 10, 1), date(2027, 1, 1))


def test_two_connections_see_committed_data_only(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    writer, reader = db.connect(path), db.connect(path)
    writer.execute("BEGIN IMMEDIATE")
    ledger.upsert(writer, [_rec("a", 1_700_000_000_000)], "d")
    assert queries.record_count(reader) == 0  # readers never see half a sync
    writer.execute("COMMIT")
    assert queries.record_count(reader) == 1
    with pytest.raises(sqlite3.OperationalError):
        locked = db.connect(path, timeout=0.05)
        writer.execute("BEGIN IMMEDIATE")
        try:
            locked.execute("BEGIN IMMEDIATE")
        finally:
            writer.execute("ROLLBACK")


def test_a_model_filter_matches_the_name_the_dashboard_shows(tmp_path: Path) -> None:
    """`--model claude-sonnet-4-5` (the dashboard's name) matches the dated ids the logs hold
    (`claude-sonnet-4-5-20250929`) and the name itself; never a longer or different model."""
    conn = db.connect(tmp_path / "h.db")
    models = {"a": "claude-sonnet-4-5-20250929", "b": "claude-sonnet-4-5", "c": "claude-sonnet-4-50",
              "d": "claude-sonnet-4-5-extra", "e": "claude-sonnet-4-5-2025092", "f": "gpt-5"}
    with db.transaction(conn):
        ledger.upsert(conn, [_rec(k, 1_700_000_000_000 + i, model=m) for i, (k, m) in enumerate(models.items())],
                      "laptop")
    assert queries.totals(conn, queries.Filter(models=("claude-sonnet-4-5",))).records == 2
    assert queries.totals(conn, queries.Filter(models=("claude-sonnet-4-5-20250929",))).records == 1
    assert queries.totals(conn, queries.Filter(models=("claude-sonnet-4-5", "gpt-5"))).records == 3
    assert queries.totals(conn, queries.Filter(models=("claude-sonnet-4",))).records == 0
