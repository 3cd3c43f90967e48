"""Plan-limit samples in the history store: natural-key upsert, current windows, curves, alerts."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

from tokentui.core import quota_state
from tokentui.core import quotas as q
from tokentui.store import db
from tokentui.store import quotas as store
from tests.unit.test_quotas_core import G4, codex_obs, iso_ms, ms, s


def _store(tmp_path: Path) -> sqlite3.Connection:
    return db.connect(tmp_path / "history.db")


def _stored(conn):
    return sorted((r.lim, r.win, r.resets_at, r.used_bp, iso_ms(r.first_seen_ms), iso_ms(r.last_seen_ms),
                   r.raw_resets_at, r.plan) for r in store.rows(conn))


def test_codex_samples_upsert_to_the_16_rows_in_any_order_and_twice(tmp_path):
    obs = codex_obs(G4)
    conn = _store(tmp_path)
    with db.transaction(conn):
        store.upsert(conn, obs, "dev")
    first = _stored(conn)
    assert len(first) == 16
    assert first == sorted((r.lim, r.win, r.resets_at, r.used_bp, iso_ms(r.first_seen_ms), iso_ms(r.last_seen_ms),
                            r.raw_resets_at, r.plan) for r in q.merge_rows(q.row_of(o) for o in obs))
    shuffled = list(obs)
    random.Random(7).shuffle(shuffled)
    with db.transaction(conn):
        store.upsert(conn, shuffled, "dev")
    assert _stored(conn) == first
    other = _store(tmp_path / "b")
    with db.transaction(other):
        store.upsert(other, list(reversed(obs)), "dev")
    assert _stored(other) == first


def test_current_windows_and_a_curve(tmp_path):
    conn = _store(tmp_path)
    with db.transaction(conn):
        store.upsert(conn, codex_obs(G4), "dev")
    now = ms("2026-11-23T09:00:00Z")
    st = {(x.lim, x.win): x for x in quota_state.states(store.rows(conn), now)}
    assert st[("codex", "five_hour")].used == 9.0
    assert iso_ms(st[("codex", "seven_day")].pace.runs_out_ms) == "2026-11-25T13:08:12.9Z"
    got = store.curve(conn, "openai", "openai:codex:test", "codex", "five_hour", s("2026-11-23T13:31:00Z"))
    assert [u for _t, u in got] == [1.0, 3.0, 9.0]
    week = store.curve(conn, "openai", "openai:codex:test", "codex", "seven_day", s("2026-11-27T09:00:00Z"))
    assert [u for _t, u in week] == [52.0, 53.0, 55.0, 56.0, 57.0, 58.0]


def test_alerts_fire_once_per_instance(tmp_path):
    conn = _store(tmp_path)
    r = s("2026-11-23T17:00:00Z")
    assert store.fire_alert(conn, "a", "account", "five_hour", r, "warn", 1)
    assert not store.fire_alert(conn, "a", "account", "five_hour", r + 60, "warn", 2)  # same instance
    assert store.fire_alert(conn, "a", "account", "five_hour", r, "runout", 3)
    assert store.fire_alert(conn, "a", "account", "five_hour", r + 18000, "warn", 4)


def test_events_are_kept_once(tmp_path):
    conn = _store(tmp_path)
    ev = [("reset", 5, 1, 2)]
    store.record_events(conn, "openai", "a", "codex", "five_hour", ev)
    store.record_events(conn, "openai", "a", "codex", "five_hour", ev)
    assert store.events(conn) == [("openai", "a", "codex", "five_hour", "reset", 5, 1, 2)]


def _all_columns(conn):
    return sorted(conn.execute("SELECT source, provider, account, lim, win, resets_at, session, used_bp, window_s, "
                               "raw_resets_at, reset_src, plan, first_seen_ms, last_seen_ms FROM quota_sample"))


def test_merged_rows_store_exactly_what_storing_each_sample_stores(tmp_path):
    """The Codex parser sends merge_rows' result instead of every sample: the stored rows must
    be the same in every column, on an empty store and on one that already holds samples
    (ties in time, plans and raw resets that change, monthly windows of two lengths)."""
    rng = random.Random(3)
    for trial in range(40):
        rows = []
        for _ in range(rng.randint(1, 30)):
            t = 1_790_000_000_000 + rng.randint(0, 5) * 1000
            win, length = rng.choice([("five_hour", 18000), ("monthly", 2_400_000), ("monthly", 2_700_000)])
            rows.append(q.Row("codex-log", "openai", "acct", rng.choice(["codex", "spark"]), win,
                              rng.choice([0, 1_790_010_000]), rng.choice(["", "s1"]), rng.choice([100, 200]),
                              length, rng.choice([None, 1_790_010_001, 1_790_010_002]),
                              rng.choice(["absolute", "relative"]), rng.choice([None, "plus", "pro"]), t, t))
        before = rows[:rng.randint(0, 3)]
        one_by_one, merged = _store(tmp_path / f"a{trial}"), _store(tmp_path / f"b{trial}")
        for conn, batches in ((one_by_one, [[r] for r in rows]), (merged, [q.merge_rows(rows)])):
            with db.transaction(conn):
                store.upsert(conn, before, "dev")
            for batch in batches:
                with db.transaction(conn):
                    store.upsert(conn, batch, "dev")
        assert _all_columns(merged) == _all_columns(one_by_one)
