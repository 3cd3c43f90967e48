"""The dashboard's kept quarter-hour totals (store.figures.QuarterCells): the same cells as a
fresh read after every kind of ledger write, from this connection, another one or another
process; no re-read of the quarter while nothing changed."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from tokentui.core.records import ESTIMATED, UsageRecord
from tokentui.services import dashboard
from tokentui.store import figures, ledger, share
from tokentui.store.db import connect, transaction
from tokentui.store.queries import QUARTER_MS

NOW = datetime(2026, 11, 20, 15, 37, 12, tzinfo=timezone.utc)
Q = QUARTER_MS


def _ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def _rec(key: str, when: datetime, tokens: int, model: str = "m1", source: str = "claude-code") -> UsageRecord:
    return UsageRecord(source, key, _ms(when), model, input=tokens, output=tokens // 10, cost_pico=tokens * 10**6,
                       cost_label=ESTIMATED)


@pytest.fixture
def conn(tmp_path):
    c = connect(tmp_path / "h.db")
    recs = [_rec(f"k{i}", NOW - timedelta(minutes=7 * i), 100 + i, model=f"m{i % 3}") for i in range(400)]
    with transaction(c):
        ledger.upsert(c, recs, "laptop")
    yield c
    c.close()


def _reads(conn) -> list[str]:
    seen: list[str] = []
    conn.set_trace_callback(lambda sql: seen.append(sql) if "FROM ledger" in sql else None)
    return seen


def _same(conn, cells, lo: int, hi: int) -> None:
    got = cells(conn, lo, hi)
    assert Counter(got) == Counter(figures.quarter_hour_cells(conn, lo, hi))
    assert len(got) == len(set(got))


@pytest.mark.parametrize("lo", [_ms(NOW - timedelta(days=2)),  # on a quarter boundary
                                _ms(NOW - timedelta(days=2)) + 123_457,  # inside a quarter: a part-quarter first
                                _ms(NOW) + 1])  # a range inside one quarter
def test_the_same_cells_as_a_fresh_read(conn, lo) -> None:
    cells = figures.QuarterCells()
    hi = _ms(NOW) + Q
    for _ in range(2):
        _same(conn, cells, lo, hi)


@pytest.mark.parametrize("offset, reads", [(0, 0), (5_000, 1)])
def test_nothing_changed_reads_only_the_part_quarter(conn, offset, reads) -> None:
    """Unchanged ledger: a range from a quarter boundary reads nothing; from inside a quarter,
    only that part-quarter."""
    cells = figures.QuarterCells()
    lo, hi = _ms(NOW.replace(minute=0, second=0) - timedelta(days=1)) + offset, _ms(NOW) + Q
    first = cells(conn, lo, hi)
    seen = _reads(conn)
    with transaction(conn):  # another table's write (a source's status) is no change
        ledger.set_status(conn, "claude-code", "ok", None, _ms(NOW))
    again = cells(conn, lo, hi)
    conn.set_trace_callback(None)
    assert len([sql for sql in seen if "GROUP BY" in sql]) == reads, seen
    assert Counter(again) == Counter(first) == Counter(figures.quarter_hour_cells(conn, lo, hi))


def _writes(conn, other):
    """Every way the ledger changes, each with the connection it is made on."""
    day = NOW - timedelta(hours=3)
    yield "upsert a new record", conn, lambda c: ledger.upsert(c, [_rec("new", day, 5_000)], "laptop")
    yield "upsert a changed record", conn, lambda c: ledger.upsert(c, [_rec("k3", NOW - timedelta(minutes=21), 9_999)],
                                                                   "laptop")
    yield "delete a record", conn, lambda c: ledger.delete_keys(c, "claude-code", ["k5"])
    yield "re-price", conn, lambda c: ledger.set_costs(c, [(7, ESTIMATED, rid) for (rid,) in
                                                           c.execute("SELECT id FROM ledger LIMIT 50")])
    row = [list(r) for r in share.own_rows_since(conn, 0)][:1]
    cols = list(share.EXPORT_COLUMNS)
    row[0][cols.index("key")] = "from-desktop"
    row[0][cols.index("input")] = 77_777
    yield "a share-folder import", conn, lambda c: share.import_rows(c, share.EXPORT_COLUMNS, row, "b" * 32, [])
    yield "another connection's write", other, lambda c: ledger.upsert(c, [_rec("other", day, 4_321)], "laptop")


def test_every_ledger_write_is_seen(conn, tmp_path) -> None:
    other = sqlite3.connect(tmp_path / "h.db", isolation_level=None)
    cells = figures.QuarterCells()
    lo, hi = _ms(NOW - timedelta(days=3)), _ms(NOW) + Q
    for what, on, write in _writes(conn, other):
        before = Counter(cells(conn, lo, hi))
        with transaction(on):
            write(on)
        after = Counter(cells(conn, lo, hi))
        assert after == Counter(figures.quarter_hour_cells(conn, lo, hi)), what
        assert after != before, what  # each write changes some total: a stale cell would show
    other.close()


def test_another_process_write_is_seen(conn, tmp_path) -> None:
    cells = figures.QuarterCells()
    lo, hi = _ms(NOW - timedelta(days=3)), _ms(NOW) + Q
    before = Counter(cells(conn, lo, hi))
    code = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
            "c.execute(\"UPDATE ledger SET input = input + 1 WHERE key = 'k1'\"); c.commit()")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "h.db")], check=True, timeout=60)
    after = Counter(cells(conn, lo, hi))
    assert after != before and after == Counter(figures.quarter_hour_cells(conn, lo, hi))


def test_a_new_connection_reads_afresh(tmp_path, conn) -> None:
    cells = figures.QuarterCells()
    lo, hi = _ms(NOW - timedelta(days=3)), _ms(NOW) + Q
    cells(conn, lo, hi)
    fresh = connect(tmp_path / "g.db")  # another store (a recovered one, say): same token values maybe
    try:
        assert cells(fresh, lo, hi) == []
    finally:
        fresh.close()


@pytest.mark.parametrize("tz", ["UTC", "Asia/Kathmandu", "America/New_York"])
def test_the_dashboard_snapshot_is_the_same_with_kept_cells(conn, tz) -> None:
    cells = figures.QuarterCells()
    zone = ZoneInfo(tz)
    for step in range(6):  # the clock moves on between refreshes, across quarter boundaries
        now = NOW + timedelta(minutes=4 * step, seconds=7 * step)
        if step == 3:
            with transaction(conn):
                ledger.upsert(conn, [_rec(f"late{step}", now - timedelta(minutes=1), 3_000)], "laptop")
        kept = dashboard.build_snapshot(conn, now, zone, cells=cells)
        fresh = dashboard.build_snapshot(conn, now, zone)
        assert replace(kept, build_ms=0) == replace(fresh, build_ms=0)
