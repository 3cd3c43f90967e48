"""Plan limits, pure rules (spec/quotas.md §3): the fixtures' expected samples and states
(tests/fixtures/quotas/README.md)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tokentui.core import quota_labels, quota_readings, quota_state
from tokentui.core import quotas as q

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "quotas"
G4 = next((FIX / "codex/sessions/2026/11/23").glob("rollout-*.jsonl"))
G2 = next((FIX / "codex/sessions/2025/10/02").glob("rollout-*.jsonl"))
G1 = next((FIX / "codex/sessions/2025/09/20").glob("rollout-*.jsonl"))
ACCT = "openai:codex:test"


def ms(iso: str) -> int:
    return round(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def s(iso: str) -> int:
    return ms(iso) // 1000


def iso_ms(v: int) -> str:
    return datetime.fromtimestamp(v / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-5] + "Z"


def codex_obs(path: Path, reverse: bool = False) -> list[q.Observation]:
    out = []
    lines = path.read_text().splitlines()
    for line in reversed(lines) if reverse else lines:
        obj = json.loads(line)
        p = obj.get("payload") or {}
        if obj.get("type") == "event_msg" and p.get("type") == "token_count":
            out += quota_readings.from_codex(p.get("rate_limits"), ms(obj["timestamp"]), ACCT, "sess")
    return out


def rows_of(obs) -> list[q.Row]:
    return q.merge_rows(q.row_of(o) for o in obs)


def table(rows):
    return sorted((r.lim, r.win, r.resets_at, r.used_bp, iso_ms(r.first_seen_ms), iso_ms(r.last_seen_ms), r.plan)
                  for r in rows)


G4_ROWS = sorted([
    ("codex", "five_hour", s("2026-11-23T08:13:00Z"), 7100, "2026-11-23T07:40:14.4Z", "2026-11-23T07:40:14.4Z"),
    ("codex", "five_hour", s("2026-11-23T08:13:00Z"), 7400, "2026-11-23T07:41:02.1Z", "2026-11-23T07:41:02.9Z"),
    ("codex", "five_hour", s("2026-11-23T08:13:00Z"), 8900, "2026-11-23T07:58:40.6Z", "2026-11-23T07:58:40.6Z"),
    ("codex", "five_hour", s("2026-11-23T08:13:00Z"), 9700, "2026-11-23T08:09:55.2Z", "2026-11-23T08:09:55.2Z"),
    ("codex", "five_hour", s("2026-11-23T13:31:00Z"), 100, "2026-11-23T08:31:21.8Z", "2026-11-23T08:31:21.8Z"),
    ("codex", "five_hour", s("2026-11-23T13:31:00Z"), 300, "2026-11-23T08:32:05.3Z", "2026-11-23T08:32:05.3Z"),
    ("codex", "five_hour", s("2026-11-23T13:31:00Z"), 900, "2026-11-23T08:47:30.0Z", "2026-11-23T08:47:30.0Z"),
    ("codex", "seven_day", s("2026-11-27T09:00:00Z"), 5200, "2026-11-23T07:40:14.4Z", "2026-11-23T07:40:14.4Z"),
    ("codex", "seven_day", s("2026-11-27T09:00:00Z"), 5300, "2026-11-23T07:41:02.1Z", "2026-11-23T07:41:02.9Z"),
    ("codex", "seven_day", s("2026-11-27T09:00:00Z"), 5500, "2026-11-23T07:58:40.6Z", "2026-11-23T07:58:40.6Z"),
    ("codex", "seven_day", s("2026-11-27T09:00:00Z"), 5600, "2026-11-23T08:09:55.2Z", "2026-11-23T08:31:21.8Z"),
    ("codex", "seven_day", s("2026-11-27T09:00:00Z"), 5700, "2026-11-23T08:32:05.3Z", "2026-11-23T08:32:05.3Z"),
    ("codex", "seven_day", s("2026-11-27T09:00:00Z"), 5800, "2026-11-23T08:47:30.0Z", "2026-11-23T08:47:30.0Z"),
    ("gpt-5.3-codex-spark", "five_hour", s("2026-11-23T11:56:00Z"), 600, "2026-11-23T07:41:02.3Z",
     "2026-11-23T07:41:02.3Z"),
    ("gpt-5.3-codex-spark", "five_hour", s("2026-11-23T11:56:00Z"), 800, "2026-11-23T08:32:05.5Z",
     "2026-11-23T08:32:05.5Z"),
    ("gpt-5.3-codex-spark", "seven_day", s("2026-11-29T06:56:00Z"), 200, "2026-11-23T07:41:02.3Z",
     "2026-11-23T08:32:05.5Z"),
])


@pytest.mark.parametrize("reverse", [False, True])
def test_codex_g4_gives_the_16_expected_rows_in_any_order(reverse):
    obs = codex_obs(G4, reverse)
    rows = rows_of(obs + obs)  # ingested twice
    assert [t[:6] for t in table(rows)] == G4_ROWS
    assert {r.plan for r in rows} == {"pro"}
    assert {r.reset_src for r in rows} == {"absolute"}
    by_key = {(r.lim, r.win, r.used_bp): r for r in rows}
    assert by_key[("codex", "five_hour", 900)].raw_resets_at == 1795440681
    assert by_key[("codex", "five_hour", 9700)].raw_resets_at == 1795421560


def test_codex_g2_relative_resets_absorb_jitter():
    rows = rows_of(codex_obs(G2))
    got = sorted((r.win, r.resets_at, r.used_bp, r.raw_resets_at, r.reset_src, r.plan, r.lim) for r in rows)
    assert got == [
        ("five_hour", s("2025-10-02T18:15:00Z"), 1200, s("2025-10-02T18:15:21Z"), "relative", None, "codex"),
        ("five_hour", s("2025-10-02T18:15:00Z"), 1400, s("2025-10-02T18:15:22Z"), "relative", None, "codex"),
        ("seven_day", s("2025-10-07T02:12:00Z"), 3100, s("2025-10-07T02:12:12Z"), "relative", None, "codex"),
    ]
    week = next(r for r in rows if r.win == "seven_day")
    assert (iso_ms(week.first_seen_ms), iso_ms(week.last_seen_ms)) == ("2025-10-02T14:05:09.5Z",
                                                                       "2025-10-02T14:08:11.9Z")


def test_codex_g1_flat_rows_have_no_reset_and_are_never_an_instance():
    rows = rows_of(codex_obs(G1))
    assert sorted((r.win, r.used_bp, r.resets_at, r.reset_src) for r in rows) == [
        ("five_hour", 700, 0, "unknown"), ("seven_day", 2100, 0, "unknown")]
    assert quota_state.states(rows, ms("2025-09-20T10:20:00Z")) == []


def test_codex_state_at_0900_matches_the_fixture():
    rows = rows_of(codex_obs(G4))
    now = ms("2026-11-23T09:00:00Z")
    st = {(x.lim, x.win): x for x in quota_state.states(rows, now)}
    h5 = st[("codex", "five_hour")]
    assert (h5.state, h5.used, h5.resets_at) == ("active", 9.0, 1795440681)
    assert round(h5.pace.expected, 2) == 9.55 and h5.pace.stage == "on track"
    assert h5.pace.runs_out_ms is None and round(h5.pace.projected, 1) == 94.2
    assert round(h5.recent_rate, 3) == 26.846
    assert iso_ms(h5.runs_out_recent_ms)[:19] == "2026-11-23T12:23:23"
    d7 = st[("codex", "seven_day")]
    assert round(d7.pace.expected, 2) == 42.86 and d7.pace.stage == "far ahead"
    assert round(d7.pace.delta, 2) == 15.14 and round(d7.pace.projected, 1) == 135.3
    assert iso_ms(d7.pace.runs_out_ms) == "2026-11-25T13:08:12.9Z"
    assert round(d7.recent_rate, 3) == 4.917
    spark = st[("gpt-5.3-codex-spark", "five_hour")]
    assert spark.used == 8.0 and spark.pace.stage == "far behind" and round(spark.pace.expected, 2) == 41.49
    assert spark.recent_rate is None
    assert st[("gpt-5.3-codex-spark", "seven_day")].pace.stage == "far behind"
    # the reset of the 5h window: natural, the new window starts at the first request
    assert ("reset", ms("2026-11-23T08:31:21.812Z"), 1795421560, 1795440681) in h5.events


def test_codex_state_after_expiry_before_the_next_request_is_reset():
    rows = rows_of(codex_obs(G4))
    st = {(x.lim, x.win): x for x in quota_state.states(rows, ms("2026-11-23T08:20:00Z"))}
    h5 = st[("codex", "five_hour")]
    assert (h5.state, h5.used, h5.resets_at) == ("reset", 0.0, 1795421560)


def test_alert_replay_of_the_codex_file():
    obs = codex_obs(G4)
    fired: set = set()
    got = []
    for t in sorted({o.observed_ms for o in obs}):
        rows = rows_of(o for o in obs if o.observed_ms <= t)
        for st in quota_state.states(rows, t):
            for kind in quota_state.alerts(st):
                key = (st.lim, st.win, q.canonical_reset(st.resets_at), kind)
                if key not in fired:
                    fired.add(key)
                    got.append((iso_ms(t), st.lim, st.win, kind))
    assert got == [
        ("2026-11-23T07:40:14.4Z", "codex", "seven_day", "runout"),
        ("2026-11-23T07:58:40.6Z", "codex", "five_hour", "warn"),
        ("2026-11-23T07:58:40.6Z", "codex", "five_hour", "runout"),
        ("2026-11-23T08:09:55.2Z", "codex", "five_hour", "critical"),
        ("2026-11-23T08:47:30.0Z", "codex", "five_hour", "runout"),
    ]


def _statusline(name: str, now_iso: str) -> list[q.Observation]:
    payload = json.loads(next((FIX / "claude-statusline").glob(name + "*")).read_text())
    return quota_readings.from_statusline(payload, ms(now_iso), "anthropic:x")


def test_statusline_samples_and_epoch_leak():
    a = _statusline("01", "2026-11-23T14:20:00Z")
    assert sorted((o.win, o.used_bp, o.resets_at, o.session[:8]) for o in a) == [
        ("five_hour", 6200, 1795453200, "7d2f6a10"), ("seven_day", 3800, 1795809600, "7d2f6a10")]
    b = _statusline("02", "2026-11-23T14:21:00Z")
    assert sorted((o.win, o.used_bp) for o in b) == [("five_hour", 5500), ("seven_day", 3700)]
    leak = _statusline("03", "2026-11-23T18:05:00Z")
    assert [(o.win, o.used_bp) for o in leak] == [("seven_day", 4600)]
    assert _statusline("04", "2026-11-23T18:06:00Z") == []
    assert _statusline("05", "2026-11-23T18:07:00Z") == []
    rows = rows_of(a + b)
    st = {x.win: x for x in quota_state.states(rows, ms("2026-11-23T14:22:00Z"))}
    h5 = st["five_hour"]
    assert (h5.used, iso_ms(h5.as_of_ms)) == (62.0, "2026-11-23T14:20:00.0Z")
    assert h5.pace.stage == "far ahead" and round(h5.pace.expected, 2) == 47.33
    assert iso_ms(h5.pace.runs_out_ms) == "2026-11-23T15:49:01.9Z"
    assert not h5.drop_unconfirmed  # B's 55 is another stream: never a drop


def _oauth(name: str):
    return json.loads((FIX / "oauth" / name).read_text())


def test_anthropic_oauth_current():
    obs = quota_readings.from_anthropic_oauth(_oauth("anthropic-oauth-usage-current.json"), ms("2026-11-23T14:25:00Z"),
                                              "anthropic:x")
    assert sorted((o.lim, o.win, o.used_bp, o.resets_at_raw, o.resets_at) for o in obs) == [
        ("account", "five_hour", 6400, 1795453200, 1795453200),
        ("account", "seven_day", 3800, s("2026-11-27T20:00:00Z"), s("2026-11-27T20:00:00Z")),
        ("model:fable", "seven_day", 2100, s("2026-11-27T20:00:00Z"), s("2026-11-27T20:00:00Z")),
        ("sonnet", "seven_day", 1200, s("2026-11-27T20:00:00Z"), s("2026-11-27T20:00:00Z")),
    ]
    # combined with the statusline runs 1-2 at 14:30
    rows = rows_of(obs + _statusline("01", "2026-11-23T14:20:00Z") + _statusline("02", "2026-11-23T14:21:00Z"))
    st = {(x.lim, x.win): x for x in quota_state.states(rows, ms("2026-11-23T14:30:00Z"))}
    h5 = st[("account", "five_hour")]
    assert (h5.used, h5.source, iso_ms(h5.as_of_ms)) == (64.0, "claude-oauth", "2026-11-23T14:25:00.0Z")
    assert h5.pace.expected == 50.0 and h5.pace.stage == "far ahead"
    assert iso_ms(h5.pace.runs_out_ms) == "2026-11-23T15:54:22.5Z" and h5.pace.projected == 128.0
    assert st[("account", "seven_day")].pace.stage == "on track"
    assert st[("account", "seven_day")].pace.runs_out_ms is None
    assert st[("sonnet", "seven_day")].pace.stage == "far behind"
    assert st[("model:fable", "seven_day")].used == 21.0


def test_anthropic_oauth_idle_legacy():
    now = ms("2026-11-24T02:10:00Z")
    obs = quota_readings.from_anthropic_oauth(_oauth("anthropic-oauth-usage-idle-legacy.json"), now, "a")
    assert sorted((o.win, o.used_bp, o.resets_at_raw, o.resets_at, o.reset_src) for o in obs) == [
        ("five_hour", 0, None, 0, "none"),
        ("seven_day", 9700, 1795809599, s("2026-11-27T20:00:00Z"), "absolute")]
    st = {x.win: x for x in quota_state.states(rows_of(obs), now)}
    assert (st["five_hour"].state, st["five_hour"].used, st["five_hour"].pace) == ("idle", 0.0, None)
    d7 = st["seven_day"]
    assert round(d7.pace.expected, 2) == 46.53 and round(d7.pace.delta, 2) == 50.47
    assert iso_ms(d7.pace.runs_out_ms) == "2026-11-24T04:35:03.1Z"
    assert quota_state.alerts(d7) == ["warn", "critical", "runout"]


def test_idle_after_an_instance_means_no_active_window():
    a = _statusline("01", "2026-11-23T14:20:00Z")
    idle = quota_readings.from_anthropic_oauth({"five_hour": {"utilization": 0.0, "resets_at": None}},
                                               ms("2026-11-23T14:30:00Z"), "anthropic:x")
    st = {x.win: x for x in quota_state.states(rows_of(a + idle), ms("2026-11-23T14:31:00Z"))}
    assert st["five_hour"].state == "idle" and st["five_hour"].used == 0.0


def test_wham_pro_and_weekly_only():
    obs = quota_readings.from_wham(_oauth("chatgpt-wham-usage-pro.json"), ms("2026-11-23T09:00:00Z"), ACCT)
    assert sorted((o.lim, o.win, o.used_bp, o.resets_at) for o in obs) == [
        ("code-review", "seven_day", 0, s("2026-11-30T09:00:00Z")),
        ("codex", "five_hour", 900, s("2026-11-23T13:31:00Z")),
        ("codex", "seven_day", 5800, s("2026-11-27T09:00:00Z")),
        ("gpt-5.3-codex-spark", "five_hour", 800, s("2026-11-23T11:56:00Z")),
        ("gpt-5.3-codex-spark", "seven_day", 200, s("2026-11-29T06:56:00Z")),
    ]
    team = quota_readings.from_wham(_oauth("chatgpt-wham-usage-team-weekly-only.json"), ms("2026-11-24T10:00:00Z"),
                                    ACCT)
    assert [(o.lim, o.win, o.used_bp, o.resets_at_raw, o.resets_at) for o in team] == [
        ("codex", "seven_day", 5300, 1796035400, s("2026-11-30T10:43:00Z"))]
    st = quota_state.states(rows_of(team), ms("2026-11-24T10:00:00Z"))[0]
    assert round(st.pace.expected, 2) == 13.86 and iso_ms(st.pace.runs_out_ms) == "2026-11-25T06:38:33.2Z"


def _row(stream: str, used: int, first: str, last: str | None = None) -> q.Row:
    src, sess = ("claude-statusline", stream) if stream != "oauth" else ("claude-oauth", "")
    return q.Row(src, "anthropic", "a", "account", "five_hour", 1795453200, sess, used * 100, 18000, 1795453200,
                 "absolute", None, ms(first), ms(last or first))


def test_confirmed_drop_starts_a_segment():
    d1 = [_row("oauth", 70, "2026-11-23T14:00:00Z"), _row("oauth", 40, "2026-11-23T14:05:00Z"),
          _row("oauth", 41, "2026-11-23T14:10:00Z"), _row("C", 70, "2026-11-23T13:50:00Z", "2026-11-23T14:12:00Z")]
    st = quota_state.window_state(d1, ms("2026-11-23T14:15:00Z"))
    assert (st.used, iso_ms(st.as_of_ms)) == (41.0, "2026-11-23T14:10:00.0Z")
    assert ("drop", ms("2026-11-23T14:05:00Z"), 0, 0) in st.events and not st.drop_unconfirmed
    d2 = d1[:2]
    st = quota_state.window_state(d2, ms("2026-11-23T14:15:00Z"))
    assert (st.used, iso_ms(st.as_of_ms), st.drop_unconfirmed) == (70.0, "2026-11-23T14:00:00.0Z", True)


@pytest.mark.parametrize("pct,reset,ok", [
    (float("nan"), 1, False), (float("inf"), 1, False), (-1, 1, False), (1001, 1, False), (105, 1, True),
    (1795474800, 1795474800, False), ("3", 1, True), (True, 1, False)])
def test_percent_validation(pct, reset, ok):
    assert q.valid_pct(q.number(pct), reset) is ok


def test_time_and_number_shapes():
    assert q.epoch_s("2026-11-23T16:59:59.812345+00:00") == 1795453200
    assert q.epoch_s("2026-11-27T19:59:59.401122+00:00") == 1795809599
    assert q.epoch_s(1795453200000) == 1795453200 and q.epoch_s("1795453200") == 1795453200
    assert q.epoch_s("2026-03-20T15:00:00Z") == s("2026-03-20T15:00:00Z") and q.epoch_s(None) is None
    assert q.used_bp(37.00000000000001) == 3700 and q.used_bp(0.005) == 1
    assert q.canonical_reset(1795421560) == s("2026-11-23T08:13:00Z")
    assert [q.window_kind(m)[0] for m in (299, 300, 10079, 43800, 15)] == [
        "five_hour", "five_hour", "seven_day", "monthly", "m15"]
    assert (quota_labels.countdown(9600) == "2h40m" and quota_labels.countdown(364800) == "4d5h"
            and quota_labels.countdown(30) == "<1m")


def test_primary_is_not_always_five_hour():
    rl = {"primary": {"used_percent": 40, "window_minutes": 10080, "resets_at": 1795770005},
          "secondary": {"used_percent": 10, "window_minutes": 299, "resets_at": 1795440681}}
    got = quota_readings.from_codex(rl, ms("2026-11-23T09:00:00Z"), ACCT)
    assert sorted((o.win, o.used_bp) for o in got) == [("five_hour", 1000), ("seven_day", 4000)]
    # no length: the slot decides only when the reset agrees with it
    far = {"primary": {"used_percent": 5, "resets_at": s("2026-11-26T09:00:00Z")}}
    assert quota_readings.from_codex(far, ms("2026-11-23T09:00:00Z"), ACCT) == []
    near = {"primary": {"used_percent": 5, "resets_at": s("2026-11-23T11:00:00Z")}}
    assert [o.win for o in quota_readings.from_codex(near, ms("2026-11-23T09:00:00Z"), ACCT)] == ["five_hour"]
