"""The demo shows more agents (OpenClaw, Amp, Copilot CLI, Qwen Code, Cline next to Claude Code
and Codex), and its totals are the same everywhere: the report, the dashboard and a demo with
Claude Code alone; a short sources box never hides an error behind busy agents."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from tokentui.core.source_status import SourceStatus
from tokentui.services import dashboard, demo, report, status
from tokentui.store.db import connect

NOW = datetime(2026, 11, 20, 15, 30, tzinfo=timezone.utc)
UTC = ZoneInfo("UTC")
SHOWN = ("openclaw", "amp", "copilot", "qwen-code", "cline")


def _totals(conn, **kw) -> dict:
    return report.build(conn, report.ReportRequest("daily", tz=UTC, **kw))["totals"]


def test_the_demo_shows_the_new_agents_with_the_same_totals(tmp_path, monkeypatch) -> None:
    conn = connect(tmp_path / "h.db")
    demo.generate(conn, now=NOW, tz=UTC)
    rows = {r.name: r for r in status.stored_statuses(conn)}
    week_ago = int((NOW - timedelta(days=7)).timestamp() * 1000)
    for name in SHOWN:
        assert rows[name].status == "ok" and rows[name].records > 0, name
        assert conn.execute("SELECT COUNT(*) FROM ledger WHERE source = ? AND ts_ms > ?",
                            (name, week_ago)).fetchone()[0] > 0, f"{name}: nothing in the last 7 days"
    # the per-source views add up to the whole, in the report and on the dashboard
    whole = _totals(conn)
    parts = [_totals(conn, sources=(s,)) for s in ("claude-code", "codex", "openai", *SHOWN)]
    assert sum(p["totalTokens"] for p in parts) - whole["totalTokens"] == whole.get("overlapExcludedTokens", 0)
    snap = dashboard.build_snapshot(conn, NOW, UTC)
    assert {s.name for s in snap.top_sources} >= set(SHOWN)
    # the dashboard's period totals count one view of Codex/OpenAI usage per day, as the report
    # does (it counts the larger one and says how much it left out)
    q = _totals(conn, since=date(2026, 10, 1), until=NOW.date())
    assert q["overlapExcludedTokens"] > 0  # the demo has days seen by both
    assert snap.period("quarter").tokens == q["totalTokens"]
    assert snap.period("quarter").cost == Decimal(str(q["totalCost"])).quantize(snap.period("quarter").cost)
    # the same requests as a demo with Claude Code alone: no total moved
    monkeypatch.setattr(demo, "AGENTS", ())
    alone = connect(tmp_path / "alone.db")
    demo.generate(alone, now=NOW, tz=UTC)
    assert _totals(alone) == whole
    assert dashboard.build_snapshot(alone, NOW, UTC).period("quarter") == snap.period("quarter")


async def test_a_short_sources_box_lists_errors_first_then_the_busiest() -> None:
    from textual.app import App

    from tokentui.core.figures import Share
    from tokentui.tui.widgets.source_status_list import SourceStatusList

    class Host(App):
        def compose(self):
            yield SourceStatusList(id="src")

    app = Host()
    async with app.run_test(size=(60, 10)) as pilot:
        src = app.query_one(SourceStatusList)
        src.rows = (SourceStatus("claude-code", "local", "ok", last_sync_ms=0),
                    SourceStatus("codex", "local", "ok", last_sync_ms=0),
                    SourceStatus("cline", "local", "ok", last_sync_ms=0),
                    SourceStatus("anthropic", "api", "error", last_sync_ms=0))
        src.shares = (Share("claude-code", 100, Decimal(0), 0.1), Share("codex", 50, Decimal(0), 0.05),
                      Share("cline", 900, Decimal(0), 0.85))
        await pilot.pause()
        names = [line.split()[1] for line in src.render().plain.splitlines()]
        assert names == ["anthropic", "cline", "claude-code", "codex"]
