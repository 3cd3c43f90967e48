"""Reports never add the same usage twice when agent logs and a provider API both saw it."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from tokentui.core.records import BILLED, ESTIMATED, UsageRecord
from tokentui.services import report
from tokentui.store import db, ledger

DAY1, DAY2 = 1795132800000, 1795219200000  # 2026-11-20 and 2026-11-21, 00:00 UTC


def _store(tmp_path):
    conn = db.connect(tmp_path / "h.db")
    recs = [
        # day 1: Claude Code logs saw 1,100 tokens, the Anthropic API 5,000 (it also saw other tools)
        UsageRecord("claude-code", "m1|r1", DAY1 + 3_600_000, "claude-sonnet-4-5", 100, 1000, cost_pico=10**9,
                    cost_label=ESTIMATED),
        UsageRecord("anthropic", "b1", DAY1, "claude-sonnet-4-5", 4000, 1000, kind="api", width_s=86400,
                    cost_pico=5 * 10**9, cost_label=BILLED),
        # day 2: only the logs (the API lags): counted as they are
        UsageRecord("claude-code", "m2|r2", DAY2 + 3_600_000, "claude-sonnet-4-5", 20, 300, cost_pico=2 * 10**8,
                    cost_label=ESTIMATED),
        # day 2: Codex logs larger than the OpenAI API view: the logs count
        UsageRecord("codex", "c1", DAY2 + 7_200_000, "gpt-5", 9000, 1000, cost_pico=3 * 10**9,
                    cost_label=ESTIMATED),
        UsageRecord("openai", "o1", DAY2, "gpt-5", 500, 100, kind="api", width_s=86400, cost_pico=10**8,
                    cost_label=BILLED),
    ]
    with db.transaction(conn):
        ledger.upsert(conn, recs, "d")
    return conn


def test_daily_totals_count_each_provider_once_per_day(tmp_path) -> None:
    conn = _store(tmp_path)
    rep = report.build(conn, report.ReportRequest("daily", tz=ZoneInfo("UTC")))
    rows = {r["date"]: r for r in rep["daily"]}
    assert rows["2026-11-20"]["totalTokens"] == 5000  # the API view, not 5000 + 1100
    assert rows["2026-11-20"]["totalCost"] == 0.005
    assert rows["2026-11-20"]["overlapExcludedTokens"] == 1100
    assert set(rows["2026-11-20"]["sources"]) == {"claude-code", "anthropic"}  # both still shown
    assert rows["2026-11-20"]["sources"]["claude-code"]["totalTokens"] == 1100
    assert rows["2026-11-21"]["totalTokens"] == 320 + 10000  # claude-code alone + codex (larger than openai)
    assert rows["2026-11-21"]["overlapExcludedTokens"] == 600
    assert rep["totals"]["totalTokens"] == 5000 + 320 + 10000
    assert rep["totals"]["overlapExcludedTokens"] == 1700


def test_weekly_applies_the_rule_per_day_then_sums(tmp_path) -> None:
    conn = _store(tmp_path)
    rep = report.build(conn, report.ReportRequest("weekly", tz=ZoneInfo("UTC")))
    assert [r["totalTokens"] for r in rep["weekly"]] == [15320]
    table = report.render_table(rep, "weekly")
    assert "counted once" in table


def test_one_source_reports_are_raw(tmp_path) -> None:
    conn = _store(tmp_path)
    rep = report.build(conn, report.ReportRequest("daily", tz=ZoneInfo("UTC"), sources=("claude-code",)))
    assert rep["totals"]["totalTokens"] == 1420 and rep["totals"]["overlapExcludedTokens"] == 0


def test_api_day_buckets_keep_their_date_in_any_timezone(tmp_path) -> None:
    conn = _store(tmp_path)
    rep = report.build(conn, report.ReportRequest("daily", tz=ZoneInfo("America/Los_Angeles"),
                                                  sources=("anthropic", "openai")))
    assert [r["date"] for r in rep["daily"]] == ["2026-11-20", "2026-11-21"]


def test_session_table_shows_project_source_last_activity_tokens_and_cost():
    """`report session` was UUID or path tails only; the JSON already had the rest. Wide
    terminals add a models column, not padding."""
    from zoneinfo import ZoneInfo

    def row(sid, project, source, last, models, total, cost):
        return {"sessionId": sid, "projectPath": project, "source": source, "inputTokens": total, "outputTokens": 0,
                "cacheCreationTokens": 0, "cacheReadTokens": 0, "totalTokens": total, "totalCost": cost,
                "firstActivity": last, "lastActivity": last, "modelsUsed": models, "modelBreakdowns": [],
                "unpricedTokens": 0}

    data = {"session": [row("0f3c9e7a-1111-2222-3333-444455556666", "/home/ana/code/api-server", "claude-code",
                            "2026-11-20T22:05:00.000Z", ["claude-sonnet-4-5-20250929", "claude-haiku-4-5"],
                            4_823_495, 3.5),
                        row("rollout-2026-11-19", None, "codex", "2026-11-19T08:00:00.000Z", ["gpt-5-codex"],
                            24_000_000, 12.25)],
            "totals": {"inputTokens": 28_823_495, "outputTokens": 0, "cacheCreationTokens": 0, "cacheReadTokens": 0,
                       "totalTokens": 28_823_495, "totalCost": 15.75, "unpricedTokens": 0}}
    narrow = report.render_table(data, "session", 80, tz=ZoneInfo("Europe/Berlin"))
    lines = narrow.splitlines()
    assert all(len(line) <= 80 for line in lines)
    for head in ("Project", "Source", "Last activity", "Tokens", "Cost"):
        assert head in lines[0]
    (ana,) = [line for line in lines if "api-server" in line]
    assert "claude-code" in ana and "2026-11-20 23:05" in ana and "4.8M" in ana and "$3.50" in ana
    assert "/home/ana" not in narrow and "0f3c9e7a" not in narrow and "Models" not in lines[0]
    (codex,) = [line for line in lines if line.startswith("(no project)")]
    assert "codex" in codex and "24.0M" in codex and "$12.25" in codex
    wide = report.render_table(data, "session", 140, tz=ZoneInfo("Europe/Berlin")).splitlines()
    assert "Models" in wide[0] and all(len(line) <= 140 for line in wide)
    (ana_wide,) = [line for line in wide if "api-server" in line]
    assert "sonnet-4-5, haiku-4-5" in ana_wide


def test_devices_are_listed_only_for_a_history_of_several(tmp_path) -> None:
    """One device name: no per-device split (and its grouping is not run); with a second name,
    the report lists each device's share."""
    from tokentui.store import queries

    conn = _store(tmp_path)
    seen: list[str] = []
    conn.set_trace_callback(seen.append)
    rep = report.build(conn, report.ReportRequest("daily", tz=ZoneInfo("UTC")))
    conn.set_trace_callback(None)
    assert "devices" not in rep and not queries.several_devices(conn)
    assert not any("GROUP BY device" in sql for sql in seen)
    with db.transaction(conn):
        ledger.upsert(conn, [UsageRecord("codex", "c9", DAY1 - 86_400_000 * 30, "gpt-5", 7, 7, cost_pico=10**6,
                                         cost_label=ESTIMATED)], "laptop")
    assert queries.several_devices(conn)
    rep = report.build(conn, report.ReportRequest("daily", tz=ZoneInfo("UTC")))
    assert set(rep["devices"]) == {"d", "laptop"}
    assert sum(d["totalTokens"] for d in rep["devices"].values()) == 1100 + 5000 + 320 + 10000 + 600 + 14
