"""The dashboard snapshot and history tables: exact figures, timezones, speed."""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tokentui.core.records import BILLED, ESTIMATED, UNPRICED, UsageRecord
from tokentui.services import dashboard, demo, history, status
from tokentui.store import figures, ledger
from tokentui.store.db import connect, transaction
from tokentui.store.queries import Filter, grouped

TZ = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 20, 15, 30, tzinfo=timezone.utc)  # Fri 10:30 in New York
PICO = 10**12


def _ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def _rec(n: int, ts: datetime, tokens: int, cost_usd: str | None = "0.01", source="claude-code", model="m1",
         **kw) -> UsageRecord:
    cost = None if cost_usd is None else int(Decimal(cost_usd) * PICO)
    return UsageRecord(source, f"k{n}", _ms(ts), model, input=tokens, cost_pico=cost,
                       cost_label=UNPRICED if cost is None else kw.pop("label", ESTIMATED), **kw)


@pytest.fixture
def conn(tmp_path):
    c = connect(tmp_path / "h.db")
    recs = [
        _rec(1, NOW - timedelta(minutes=2), 1000, "0.50"),
        _rec(2, NOW - timedelta(minutes=30), 5000, "1.00", source="codex", model="gpt"),
        _rec(3, NOW - timedelta(hours=3), 7000, "2.00"),  # today (NY), outside the hour
        _rec(4, datetime(2026, 11, 20, 4, 59, tzinfo=timezone.utc), 100, "9"),  # 23:59 Thu in NY: yesterday
        _rec(5, datetime(2026, 11, 16, 6, 0, tzinfo=timezone.utc), 300, "3"),  # Mon 01:00 NY: this week
        _rec(6, datetime(2026, 11, 2, 12, 0, tzinfo=timezone.utc), 400, None, model="mystery"),  # month, unpriced
        _rec(7, datetime(2026, 10, 1, 12, 0, tzinfo=timezone.utc), 800, "4"),  # quarter
        _rec(8, datetime(2026, 9, 30, 12, 0, tzinfo=timezone.utc), 5, "4"),  # previous quarter
        # a provider day bucket starting today 00:00 UTC: counted in totals, never in burn or sparklines
        UsageRecord("openai", "completions|x|86400|gpt-4.1", _ms(datetime(2026, 11, 20, 5, tzinfo=timezone.utc)),
                    "gpt-4.1", input=90_000, cost_pico=3 * PICO, cost_label=BILLED, kind="api", width_s=86400),
    ]
    with transaction(c):
        ledger.upsert(c, recs, "test")
    return c


def test_snapshot_figures(conn):
    snap = dashboard.build_snapshot(conn, NOW, TZ)
    b = snap.burn
    assert b.tokens_per_min_5m == 1000 / 5
    assert b.usd_per_hour_5m == Decimal("0.50") * 12
    assert b.tokens_per_min_1h == 6000 / 60
    assert b.usd_per_hour_1h == Decimal("1.50")
    assert b.by_source == (("codex", 5000 / 60), ("claude-code", 1000 / 60))
    assert len(snap.spark_hour) == 60 and sum(snap.spark_hour) == 6000 and snap.spark_hour[-3] == 1000
    assert len(snap.spark_day) == 24 and sum(snap.spark_day) == 6000 + 7000 + 100
    today = snap.period("today")
    assert today.label == "Fri 20 Nov"
    # codex's 5,000 and the OpenAI API's 90,000 are two views of one provider's day: only the
    # larger counts (core.overlap, as in the reports); the burn above is the logs' own
    assert today.tokens == 1000 + 7000 + 90_000
    assert today.cost == Decimal("5.50") and today.billed == Decimal(3)
    assert snap.period("week").tokens == today.tokens + 100 + 300
    month = snap.period("month")
    assert month.tokens == snap.period("week").tokens + 400 and month.unpriced_tokens == 400 and month.label == "November 2026"
    quarter = snap.period("quarter")
    assert quarter.tokens == month.tokens + 800 and quarter.label == "Q4 2026"
    assert [s.name for s in snap.top_sources] == ["openai", "claude-code", "codex"]
    assert snap.top_models[0].name == "gpt-4.1" and "gpt" not in [m.name for m in snap.top_models]
    assert abs(sum(s.share for s in snap.top_models) - 1) < 1e-9
    assert snap.cache_hit_ratio == 0
    assert snap.timezone == "America/New_York"


def test_snapshot_of_an_empty_store(tmp_path):
    snap = dashboard.build_snapshot(connect(tmp_path / "h.db"), NOW, TZ)
    assert snap.burn.tokens_per_min_5m == 0 and snap.period("today").tokens == 0 and snap.top_models == ()
    assert snap.cache_hit_ratio is None
    assert history.build_history(connect(tmp_path / "h.db"), TZ, "day").rows == ()


@pytest.mark.parametrize("period", history.HISTORY_PERIODS)
def test_history_matches_the_report_grouping(conn, period):
    table = history.build_history(conn, TZ, period)
    ref = grouped(conn, Filter(), TZ, period)
    assert {r.key: r.tokens for r in table.rows if r.tokens} == {
        k: sum(t.total for t in v.values()) for k, v in ref.items()}
    keys = [r.key for r in table.rows]
    assert keys == sorted(keys, reverse=True)  # newest first, gaps filled
    if period == "day":
        assert len(keys) == (datetime(2026, 11, 20) - datetime(2026, 9, 30)).days + 1
    assert table.sources == ("claude-code", "codex", "openai")
    assert "mystery" in table.models


def test_history_filters(conn):
    t = history.build_history(conn, TZ, "month", source="codex")
    assert t.total_tokens == 5000 and t.source == "codex"
    t = history.build_history(conn, TZ, "month", model="m1")
    assert t.total_tokens == 1000 + 7000 + 100 + 300 + 800 + 5
    assert t.total_cost == Decimal("0.50") + 2 + 9 + 3 + 4 + 4


@pytest.mark.parametrize("zone", ["Europe/Berlin", "Asia/Kolkata", "America/St_Johns", "Australia/Lord_Howe",
                                  "UTC", "Pacific/Chatham"])
def test_local_day_sql_is_exact_across_dst(tmp_path, zone):
    tz = ZoneInfo(zone)
    c = connect(tmp_path / "h.db")
    rng = random.Random(zone)
    lo, hi = _ms(datetime(2025, 1, 1, tzinfo=timezone.utc)), _ms(datetime(2027, 1, 1, tzinfo=timezone.utc))
    stamps = [rng.randrange(lo, hi) for _ in range(3000)]
    # and the instants either side of every transition
    t = lo
    while t < hi:
        if figures._offset_ms(tz, t) != figures._offset_ms(tz, t + 3_600_000):
            for m in range(0, 3_600_000, 60_000):
                stamps += [t + m - 1, t + m]
        t += 3_600_000
    sql, args = figures.local_day_sql(tz, min(stamps), max(stamps))
    c.execute("CREATE TEMP TABLE stamps (ts_ms INTEGER)")
    c.executemany("INSERT INTO stamps VALUES (?)", [(s,) for s in stamps])
    epoch = datetime(1970, 1, 1).toordinal()
    for ts, day in c.execute(f"SELECT ts_ms, {sql} FROM stamps", args):
        expected = datetime.fromtimestamp(ts / 1000, tz).date().toordinal() - epoch
        assert day == expected, (ts, datetime.fromtimestamp(ts / 1000, tz))


def test_source_rows_from_the_store(tmp_path):
    c = connect(tmp_path / "h.db")
    demo.generate(c, now=NOW, days=3)
    rows = {r.name: r for r in status.stored_statuses(c)}
    assert rows["claude-code"].status == "ok" and rows["claude-code"].records > 0
    assert rows["anthropic"].status == "error" and "401" in rows["anthropic"].message
    assert rows["deepseek"].status == "not configured" and "keys add deepseek" in rows["deepseek"].message
    with transaction(c):
        ledger.set_status(c, "codex", "error", "cannot read ~/.codex: permission denied")
    fresh = {r.name: r for r in status.refresh_statuses(c, tuple(rows.values()))}
    assert fresh["codex"].status == "error" and "permission" in fresh["codex"].message


@pytest.mark.serial
def test_snapshot_is_fast_on_a_year(tmp_path):
    c = connect(tmp_path / "h.db")
    demo.generate(c, now=NOW, tz=TZ, days=365)
    dashboard.build_snapshot(c, NOW, TZ)
    t0 = time.perf_counter()
    snap = dashboard.build_snapshot(c, NOW, TZ)
    elapsed = time.perf_counter() - t0
    assert snap.period("quarter").tokens > 0
    assert elapsed < 0.25, f"snapshot took {elapsed * 1000:.0f} ms"
    t0 = time.perf_counter()
    table = history.build_history(c, TZ, "day")
    assert len(table.rows) in (365, 366)  # a UTC-midnight API bucket may land on the previous local day
    assert time.perf_counter() - t0 < 1.0


def test_costs_past_sqlite_integer_range_still_add_up(tmp_path):
    """Two provider day buckets of ~$6M each in one quarter hour: SQLite's SUM of integers fails
    past 2**63 picodollars (~$9.2M); the dashboard must still show the exact total."""
    c = connect(tmp_path / "h.db")
    big = 6_000_000 * PICO + 123  # each fits one record; their sum does not fit SQLite's integer
    start = _ms(datetime(2026, 11, 20, 5, tzinfo=timezone.utc))
    recs = [UsageRecord("openai", f"completions|{n}|86400|gpt-4.1", start, "gpt-4.1", input=10, cost_pico=big,
                        cost_label=BILLED, kind="api", width_s=86400) for n in range(2)]
    recs += [_rec(n, NOW - timedelta(minutes=n), 10, "4000000", project="web") for n in range(1, 4)]  # $12M
    with transaction(c):
        ledger.upsert(c, recs, "test")
    snap = dashboard.build_snapshot(c, NOW, TZ)
    assert snap.period("today").cost == Decimal(2 * big) / PICO + 12_000_000
    assert snap.period("today").billed == Decimal(2 * big) / PICO
    assert snap.burn.usd_per_hour_1h == 12_000_000
    # the History table and the snapshot's projects sum money the same exact way
    table = history.build_history(c, TZ, "day")
    assert sum((r.cost for r in table.rows), Decimal(0)) == Decimal(2 * big) / PICO + 12_000_000
    from tokentui.store import figures

    projects = {p: pico for p, _tok, pico in figures.project_sums(c, 0, _ms(NOW) + 1)}
    assert projects == {"web": 12_000_000 * PICO}


@pytest.mark.parametrize("width, names_shown", [(32, False), (None, True)])  # None: room for every name
async def test_sources_not_set_up_fit_on_one_line(width, names_shown):
    """However many agents are registered, the dashboard's source box says which are not set
    up on one line: the names when they fit, else how many."""
    from textual.app import App

    from tokentui.core.source_status import SourceStatus
    from tokentui.sources import registry
    from tokentui.tui.widgets.source_status_list import SourceStatusList

    class Host(App):
        def compose(self):
            yield SourceStatusList(id="src")

    quiet = registry.names()[1:]
    width = width or len(", ".join(quiet)) + 24  # the names, the marker and "(5 → sources)"
    app = Host()
    async with app.run_test(size=(width, 10)) as pilot:
        src = app.query_one(SourceStatusList)
        src.rows = (SourceStatus(registry.names()[0], "local", "ok", last_sync_ms=0),
                    *(SourceStatus(n, registry.kind_of(n), "not configured") for n in quiet))
        await pilot.pause()
        out = src.render().plain.splitlines()
        last = out[-1]
        assert len(out) == 2 and len(last) <= width, out
        assert (quiet[-1] in last) is names_shown
        assert names_shown or f"{len(quiet)} not set up" in last
