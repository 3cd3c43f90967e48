"""Codex rollouts give plan-limit samples on ingest (spec/quotas.md §1.1): exact rows, no
duplicates on re-reads or appends, fork replays skipped, token totals unchanged."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
from pathlib import Path

import pytest

from tests.unit.ingest_helpers import sync
from tests.unit.test_quotas_core import FIX, G4_ROWS, iso_ms, ms
from tokentui.core import quota_state
from tokentui.core.pricing import Pricer
from tokentui.store import quotas as store


@pytest.fixture
def pricer(fixture_price_table):
    return Pricer(table=fixture_price_table, use_genai=False)


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    h = tmp_path / "codex"
    shutil.copytree(FIX / "codex", h)
    monkeypatch.setenv("CODEX_HOME", str(h))
    return h


def _acct(home: Path) -> str:
    return "openai:codex:" + hashlib.sha256(os.path.realpath(home).encode()).hexdigest()[:12]


def _g4(rows):
    return sorted((r.lim, r.win, r.resets_at, r.used_bp, iso_ms(r.first_seen_ms), iso_ms(r.last_seen_ms))
                  for r in rows if r.resets_at > 1795000000)


def test_sync_records_the_fixture_samples_and_keeps_token_totals(tmp_path, home, pricer):
    conn, res = sync(tmp_path / "h.db", pricer, sources=("codex",))
    rows = store.rows(conn)
    assert {r.account for r in rows} == {_acct(home)} and {r.source for r in rows} == {"codex-log"}
    assert _g4(rows) == G4_ROWS
    assert len(rows) == 16 + 3 + 2  # G4, G2 (relative resets), G1 (no reset)
    total = conn.execute("SELECT SUM(input + output + cache_read) FROM ledger WHERE ts_ms >= ?",
                         (ms("2026-11-23T00:00:00Z"),)).fetchone()[0]
    assert total == 252357
    st = {(s.lim, s.win): s for s in quota_state.states(rows, ms("2026-11-23T09:00:00Z"))}
    assert st[("codex", "five_hour")].used == 9.0 and st[("codex", "five_hour")].resets_at == 1795440681
    assert st[("gpt-5.3-codex-spark", "five_hour")].used == 8.0
    conn2, _ = sync(tmp_path / "h.db", pricer, sources=("codex",))  # nothing new: nothing changes
    assert store.rows(conn2) == rows


def test_appended_lines_never_duplicate_samples(tmp_path, home, pricer):
    g4 = next(home.glob("sessions/2026/11/23/*.jsonl"))
    data = g4.read_bytes().split(b"\n")
    half = len(data) // 2
    g4.write_bytes(b"\n".join(data[:half]) + b"\n")
    sync(tmp_path / "h.db", pricer, sources=("codex",))
    with open(g4, "ab") as fh:
        fh.write(b"\n".join(data[half:]))
    conn, _ = sync(tmp_path / "h.db", pricer, sources=("codex",))
    assert _g4(store.rows(conn)) == G4_ROWS


def test_a_fork_replay_brings_back_no_old_percentages(tmp_path, home, pricer):
    parent = next(home.glob("sessions/2026/11/23/*.jsonl"))
    pid = "019ab3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b"
    fork_ts = "2026-11-23T09:30:00.000Z"
    lines = [json.dumps({"timestamp": fork_ts, "type": "session_meta",
                         "payload": {"id": "019ab3c4-0000-7f80-9a1b-2c3d4e5f6a7c", "timestamp": fork_ts,
                                     "forked_from_id": pid, "cwd": "/home/u/proj"}})]
    for n, line in enumerate(parent.read_text().splitlines()):
        obj = json.loads(line)
        if obj["type"] == "session_meta":
            continue
        obj["timestamp"] = f"2026-11-23T09:30:{n:02d}.000Z"  # the replay rewrites the times
        lines.append(json.dumps(obj))
    own_rl = {"limit_id": "codex", "primary": {"used_percent": 12.0, "window_minutes": 300, "resets_at": 1795440681},
              "secondary": {"used_percent": 59.0, "window_minutes": 10080, "resets_at": 1795770005},
              "plan_type": "pro"}
    lines.append(json.dumps({"timestamp": "2026-11-23T09:40:00.000Z", "type": "turn_context",
                             "payload": {"model": "gpt-5.5", "started_at": 1795426800}}))
    lines.append(json.dumps({"timestamp": "2026-11-23T09:40:05.000Z", "type": "event_msg", "payload": {
        "type": "token_count", "rate_limits": own_rl, "info": {
            "total_token_usage": {"input_tokens": 999999, "cached_input_tokens": 0, "output_tokens": 10,
                                  "reasoning_output_tokens": 0, "total_tokens": 1000009},
            "last_token_usage": {"input_tokens": 100, "cached_input_tokens": 0, "output_tokens": 10,
                                 "reasoning_output_tokens": 0, "total_tokens": 110}}}}))
    child = parent.parent / "rollout-2026-11-23T09-30-00-019ab3c4-0000-7f80-9a1b-2c3d4e5f6a7c.jsonl"
    child.write_text("\n".join(lines) + "\n")
    conn, _ = sync(tmp_path / "h.db", pricer, sources=("codex",))
    rows = store.rows(conn)
    replayed = [r for r in rows if ms("2026-11-23T09:30:00Z") <= r.first_seen_ms < ms("2026-11-23T09:40:00Z")]
    assert replayed == []
    own = sorted((r.win, r.used_bp) for r in rows if r.first_seen_ms == ms("2026-11-23T09:40:05Z"))
    assert own == [("five_hour", 1200), ("seven_day", 5900)]


def _random_limits(rng):
    """A rate_limits payload of any shape generation, with the values that read alike to ``==``
    but not to the rules (true and 1, 1 and 1.0), relative resets and windows known only from
    the time left: the parser's shortcut for a repeated reading must never apply to those."""
    num = lambda: rng.choice([1, 1.0, True, 40.5, "1", None])  # noqa: E731
    if rng.random() < 0.2:
        return {"primary_used_percent": num(), "primary_window_minutes": rng.choice([300, 300.0, None, 1, True])}
    out = {"limit_id": rng.choice(["codex", "codex_spark", None]), "plan_type": rng.choice(["plus", "pro", None])}
    for slot in ("primary", "secondary"):
        if rng.random() < 0.2:
            continue
        w = {"used_percent": num()}
        if rng.random() < 0.7:
            w["window_minutes"] = rng.choice([300, 10080, 300.0, 1, True, None])
        reset = rng.choice(["abs", "rel", "none"])
        if reset == "abs":
            w["resets_at"] = rng.choice([1_790_003_000, 1_790_003_000.0, 1_790_500_000])
        elif reset == "rel":
            w["resets_in_seconds"] = rng.choice([600, 600.0, 9000])
        out[slot] = w
    if rng.random() < 0.5:
        out["credits"] = {"has_credits": rng.choice([True, False, 1]), "balance": "0"}
    return out


def _look_alike(rng, value):
    """``value`` with some of its 1s, 1.0s and trues swapped for one another: equal to it by
    ``==``, not to the rules (true is no number)."""
    if type(value) is dict:
        return {k: _look_alike(rng, v) for k, v in value.items()}
    if type(value) in (int, float, bool) and value == 1 and rng.random() < 0.7:
        return rng.choice([1, 1.0, True])
    return value


def test_repeated_readings_give_the_rows_of_reading_every_line(tmp_path):
    """A rollout repeats its rate_limits on most turns; the parser reads a repeat only as a new
    sighting of the same rows. Its samples must be exactly those of reading every line anew
    (``from_codex`` on each, then the store's merge), over random shapes and times (some
    going backwards, some equal)."""
    from tokentui.core import quota_readings
    from tokentui.core import quotas as q
    from tokentui.sources import codex
    from tokentui.sources.common import LocalFile
    from tokentui.services.logfiles import Unpriced
    from tokentui.sources.readers import ParseContext

    rng = random.Random(11)
    for trial in range(150):
        limits, lines, t = [], [], 1_790_000_000_000
        for _ in range(rng.randint(1, 25)):
            roll = rng.random()
            if not limits or roll < 0.3:
                rl = _random_limits(rng)
            elif roll < 0.5:
                rl = _look_alike(rng, limits[-1][0])
            else:
                rl = json.loads(json.dumps(limits[-1][0]))  # the same reading, parsed again
            t += rng.choice([0, 1000, 61_000, -5000, 3_600_000])
            limits.append((rl, t))
            ts = iso_ms(t)
            lines.append(json.dumps({"timestamp": ts, "type": "event_msg", "payload": {
                "type": "token_count", "rate_limits": rl,
                "info": {"last_token_usage": {"input_tokens": 10, "cached_input_tokens": 0, "output_tokens": 5,
                                              "reasoning_output_tokens": 0, "total_tokens": 15}}}}))
        f = LocalFile(str(tmp_path / "rollout.jsonl"), "codex", "p", "sess", "rollout.jsonl")
        got = codex.parse_lines([([ln.encode() for ln in lines], 0)], f, None,
                                ParseContext(Unpriced(), "auto", {}), lambda r, _s: r)
        acct = codex.quota_account(codex.home_of(f))
        want = q.merge_rows(q.row_of(o) for rl, t in limits
                            for o in quota_readings.from_codex(rl, t, acct, "sess"))
        assert sorted(got.quotas) == sorted(want), trial


def test_a_reading_called_timeless_reads_the_same_at_any_time():
    from tokentui.core import quota_readings

    rng = random.Random(5)
    timeless_seen = timed_seen = 0
    for _ in range(400):
        rl = _random_limits(rng)
        t1, t2 = 1_790_000_000_000, 1_790_000_000_000 + rng.choice([1000, 3_000_000, 600_000_000])
        obs, timeless = quota_readings.codex_readings(rl, t1, "a", "s")
        later = quota_readings.from_codex(rl, t2, "a", "s")
        if timeless:
            timeless_seen += 1
            assert later == [o._replace(observed_ms=t2) for o in obs], rl
        elif later != [o._replace(observed_ms=t2) for o in obs]:
            timed_seen += 1
    assert timeless_seen > 50 and timed_seen > 10  # both kinds were tried
