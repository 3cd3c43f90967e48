"""Sessions, projects and breakdowns over a time window (services.sessions, store.sessions)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tokentui.core.records import BILLED, ESTIMATED, UNPRICED, UsageRecord
from tokentui.core.windows import window
from tokentui.services import sessions as svc
from tokentui.store import db, ledger, queries

NOW = 1_800_000_000_000
MIN = 60_000


def _rec(key, ts_ms, **kw) -> UsageRecord:
    base = dict(source="claude-code", key=key, ts_ms=ts_ms, model="claude-sonnet-4-5", input=10, output=5,
                cache_read=100, cost_pico=1000, cost_label=ESTIMATED, project="/home/me/api", session="s1")
    base.update(kw)
    return UsageRecord(**base)


@pytest.fixture
def conn(tmp_path: Path):
    c = db.connect(tmp_path / "h.db")
    ledger.upsert(c, [
        _rec("a1", NOW - 2 * MIN),
        _rec("a2", NOW - 1 * MIN, model="claude-opus-4-5", cost_pico=5000, sidechain=True),
        _rec("b1", NOW - 3 * 3_600_000, project="/home/me/api/.worktrees/feat", session="s2", output=50),
        _rec("c1", NOW - 2 * 86_400_000, source="codex", project="/home/me/web", session="s3",
             model="gpt-5-codex", cost_pico=None, cost_label=UNPRICED),
        _rec("d1", NOW - 20 * 86_400_000, project="/home/me/api/docs", session="s4", cost_pico=7000),
        _rec("api", NOW - 3 * 86_400_000, source="anthropic-api", kind="api", width_s=86400, project=None,
             session=None, cost_pico=9000, cost_label=BILLED),
    ], "this-device")
    c.commit()
    yield c
    c.close()


def test_sessions_in_a_window_add_up_to_the_window_total(conn):
    view = svc.build_sessions(conn, window("24h"), NOW)
    assert [r.session for r in view.rows] == ["s1", "s2"]  # by cost; s3, s4 are older
    s1 = view.rows[0]
    assert s1.totals.cost_pico == 6000 and s1.totals.requests == 2 and s1.totals.total == 230
    assert s1.models == ("claude-opus-4-5", "claude-sonnet-4-5") and s1.live
    assert s1.first_ms == NOW - 2 * MIN and s1.duration_ms == MIN
    assert view.rows[1].project_name == "api" and not view.rows[1].live  # a worktree of api
    assert view.total.total == sum(r.totals.total for r in view.rows)
    assert view.total.cost_pico == 7000
    every = svc.build_sessions(conn, window("all"), NOW)
    f = queries.Filter(None, None, (), (), ("local",))
    assert every.total.total == queries.totals(conn, f).total  # every local token, once
    s3 = next(r for r in every.rows if r.session == "s3")
    assert s3.cost_label == "unpriced" and s3.efficiency.cost_per_request_pico is None
    assert [r.session for r in svc.sort_rows(every.rows, "recent")] == ["s1", "s2", "s3", "s4"]
    assert [r.session for r in svc.filter_rows(every.rows, "gpt codex")] == ["s3"]


def test_projects_fold_worktrees_and_subfolders_with_trend_and_top_models(conn):
    view = svc.build_projects(conn, window("30d"), NOW)
    by = {r.name: r for r in view.rows}
    assert set(by) == {"api", "web"}  # the provider API's day has no project and is never added to the logs
    api = by["api"]
    assert api.sessions == 3 and set(api.recorded) == {"/home/me/api", "/home/me/api/.worktrees/feat",
                                                      "/home/me/api/docs"}
    assert api.totals.cost_pico == 1000 + 5000 + 1000 + 7000
    assert api.models[0] == "claude-sonnet-4-5"  # 9000 of its cost vs opus's 5000
    assert sum(api.trend) == api.totals.total and api.trend[-1] > 0 and len(api.trend) == svc.TREND_POINTS
    assert by["web"].cost_label == "unpriced"
    assert view.total.total == sum(r.totals.total for r in view.rows)


def test_session_detail_timeline_models_subagents_and_cost_by_kind(conn):
    view = svc.build_sessions(conn, window("1h"), NOW)
    d = svc.session_detail(conn, view.rows[0], window("1h"), NOW, rates=lambda m: (3, 15, 4, 1))
    assert sum(req for _, req, _ in d.timeline) == 2 and sum(t for *_, t in d.timeline) == 230
    assert [m for m, _ in d.by_model] == ["claude-opus-4-5", "claude-sonnet-4-5"]
    assert d.subagent_requests == 1 and d.subagent_tokens == 115
    assert sum(v for v in d.cost_by_kind.values()) == 6000  # the stored cost, split
    assert d.cost_by_kind["output"] > d.cost_by_kind["input"] and d.devices == ("this-device",)


def test_breakdowns(conn):
    agent = {r.key: r.totals for r in svc.build_breakdown(conn, "agent", window("all"), NOW)}
    source = {r.key: r.totals for r in svc.build_breakdown(conn, "source", window("all"), NOW)}
    assert set(agent) == {"claude-code", "codex"} and "anthropic-api" in source
    project = {r.key for r in svc.build_breakdown(conn, "project", window("all"), NOW)}
    assert project == {"api", "web"}
    api_rows = [r for r in svc.build_breakdown(conn, "source", window("all"), NOW) if r.api]
    assert [(r.key, r.totals.cost_pico) for r in api_rows] == [("anthropic-api", 9000)]
    models = {r.key: r.totals for r in svc.build_breakdown(conn, "model", window("all"), NOW)}
    assert sum(t.total for t in models.values()) == sum(t.total for t in agent.values())  # logs only
