"""The demo generator: realistic, deterministic, self-contained."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from tokentui.services import demo
from tokentui.store.db import connect

NOW = datetime(2026, 11, 20, 15, 30, tzinfo=timezone.utc)
TZ = ZoneInfo("Europe/Berlin")
_COLS = ("source, key, kind, device, ts_ms, width_s, model, input, output, cache_write_5m, cache_write_1h, "
         "cache_read, reasoning, requests, project, session, cost_pico, cost_label")


def _rows(conn):
    return conn.execute(f"SELECT {_COLS} FROM ledger ORDER BY source, key").fetchall()


def _ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def test_same_seed_and_now_give_the_same_store(tmp_path):
    a = demo.write_demo_store(tmp_path / "a.db", now=NOW, tz=TZ)
    b = demo.write_demo_store(tmp_path / "b.db", now=NOW, tz=TZ)
    assert a == b
    assert _rows(connect(tmp_path / "a.db")) == _rows(connect(tmp_path / "b.db"))
    c = demo.write_demo_store(tmp_path / "c.db", now=NOW, tz=TZ, seed=8)
    assert c.records != a.records


def test_regenerating_never_double_counts(tmp_path):
    conn = connect(tmp_path / "h.db")
    first = demo.generate(conn, now=NOW, tz=TZ)
    demo.generate(conn, now=NOW, tz=TZ)
    assert conn.execute("SELECT COUNT(*) FROM ledger").fetchone()[0] == first.records


def test_history_has_the_shape_of_real_use(tmp_path):
    conn = connect(tmp_path / "h.db")
    s = demo.generate(conn, now=NOW, tz=TZ)
    assert s.last_ms <= _ms(NOW)
    assert s.first_ms >= _ms(NOW - timedelta(days=91))
    by_source = dict(conn.execute("SELECT source, COUNT(*) FROM ledger GROUP BY source"))
    assert set(by_source) == {"claude-code", "codex", "openai", *(a[0] for a in demo.AGENTS)}
    assert {"openclaw", "amp", "copilot", "qwen-code", "cline"} <= set(by_source)
    assert by_source["openai"] == 90 * len(demo.OPENAI_SERIES)
    # cache writes and reads, sessions, projects, several models
    cw, cr, sessions, projects, models = conn.execute(
        "SELECT SUM(cache_write_5m + cache_write_1h), SUM(cache_read), COUNT(DISTINCT session), "
        "COUNT(DISTINCT project), COUNT(DISTINCT model) FROM ledger WHERE kind = 'local'").fetchone()
    assert cw > 0 and cr > 10 * cw and sessions > 100 and projects == len(demo.PROJECTS) and models >= 5
    assert conn.execute("SELECT COUNT(*) FROM ledger WHERE cost_label = 'unpriced'").fetchone()[0] > 0
    # weekday / weekend rhythm and growth
    day = "strftime('%w', ts_ms / 1000, 'unixepoch')"
    weekend, weekday = conn.execute(
        f"SELECT SUM(CASE WHEN {day} IN ('0', '6') THEN output END) / 2.0, "
        f"SUM(CASE WHEN {day} NOT IN ('0', '6') THEN output END) / 5.0 FROM ledger WHERE kind = 'local'").fetchone()
    assert weekend < weekday / 2
    month = 30 * 86_400_000
    early, late = conn.execute(
        "SELECT SUM(CASE WHEN ts_ms < ? THEN output END), SUM(CASE WHEN ts_ms >= ? THEN output END) "
        "FROM ledger WHERE kind = 'local'", (s.first_ms + month, _ms(NOW) - month)).fetchone()
    assert late > 1.3 * early
    # the live session: activity in the last minutes
    recent = conn.execute("SELECT COUNT(*) FROM ledger WHERE ts_ms > ?", (_ms(NOW) - 5 * 60_000,)).fetchone()[0]
    assert recent >= 3
    # ... and the burn meter is never idle during it: every 5-minute window has requests
    live = [r[0] for r in conn.execute("SELECT ts_ms FROM ledger WHERE ts_ms > ? AND kind = 'local' ORDER BY ts_ms",
                                       (_ms(NOW) - demo.LIVE_MINUTES * 60_000,))]
    gaps = [b - a for a, b in zip(live, live[1:])] + [_ms(NOW) - live[-1]]
    assert max(gaps) < 5 * 60_000


def test_tick_extends_the_live_session(tmp_path):
    conn = connect(tmp_path / "h.db")
    s = demo.generate(conn, now=NOW, tz=TZ)
    assert demo.tick(conn, now=NOW) == 0
    later = NOW + timedelta(minutes=10)
    added = demo.tick(conn, now=later)
    assert added > 0
    assert conn.execute("SELECT COUNT(*) FROM ledger").fetchone()[0] == s.records + added
    assert conn.execute("SELECT MAX(ts_ms) FROM ledger").fetchone()[0] <= _ms(later)
    assert demo.tick(conn, now=later) == 0
    last_sync = conn.execute("SELECT last_sync_ms FROM source_status WHERE source = 'claude-code'").fetchone()[0]
    assert _ms(NOW) < last_sync <= _ms(later)


def test_needs_an_aware_now(tmp_path):
    import pytest

    with pytest.raises(ValueError):
        demo.generate(connect(tmp_path / "h.db"), now=datetime(2026, 1, 1))


def test_the_first_sync_after_a_demo_store_reprices_nothing(tmp_path):
    from tokentui.config import Settings
    from tokentui.core.pricing import Pricer
    from tokentui.services.ingest import Ingestor
    from tokentui.store.db import get_meta

    conn = connect(tmp_path / "h.db")
    demo.generate(conn, now=NOW, tz=TZ, days=5)
    assert get_meta(conn, "pricing_fingerprint").endswith(":auto")
    settings = Settings(path=tmp_path / "config.toml")
    ing = Ingestor(conn, Pricer.from_settings(settings), device="x", mode=settings.pricing_mode)
    assert ing.reprice_if_needed() == 0
    # other prices than the demo's do re-price (the fingerprint is honest, not a blanket "done")
    other = Ingestor(conn, Pricer({}, use_genai=False), device="x", mode="auto")
    assert other.reprice_if_needed() > 0


def test_demo_settings_live_in_the_demo_folder(tmp_path):
    import tomllib

    from tokentui.config import Settings
    from tokentui.services.budgets import load_budgets
    from tokentui.services.leverage import load_team, team_file

    user = Settings(path=tmp_path / "user" / "config.toml", timezone="Asia/Tokyo", refresh_seconds=7.0)
    folder = tmp_path / "demo-tmp"
    s = demo.demo_settings(user, folder, now=NOW)
    assert s.path == folder / "config.toml" and s.timezone == "Asia/Tokyo" and s.refresh_seconds == 7.0
    assert not user.path.exists()  # the user's config is never written
    budgets = load_budgets(s)
    assert [b.name for b in budgets.budgets] == ["api-monthly", "tokens-fy"]
    assert tomllib.loads(s.path.read_text())["budgets"]["tokens-fy"]["start"] == "2026-04-01"
    team = load_team(team_file(s))
    assert team.name == "Platform team (demo)" and team.members == 9
    assert set(team.metrics) >= {"tokens_per_week", "cost_per_week", "cache_hit_ratio"}
    assert team_file(s).parent == folder


def test_demo_statuses_say_not_configured_never_planned(tmp_path):
    from tokentui.services.status import stored_statuses

    conn = connect(tmp_path / "h.db")
    demo.generate(conn, now=NOW, tz=TZ, days=2)
    rows = {r.name: r for r in stored_statuses(conn)}
    assert rows["gemini-cli"].status == rows["opencode"].status == "not configured"
    assert all(r.status != "planned" for r in rows.values())
