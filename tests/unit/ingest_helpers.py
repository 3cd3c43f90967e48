"""Shared helpers for ingest tests: run a sync against a store and read totals back."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from tokentui.core.pricing import Pricer
from tokentui.services import report
from tokentui.services.ingest import Ingestor
from tokentui.store.db import connect


def sync(db: Path, pricer: Pricer, mode: str = "calculate", sources=("claude-code", "codex")):
    conn = connect(db)
    results = Ingestor(conn, pricer, device="test", mode=mode).run(sources)
    return conn, {r.source: r for r in results}


def daily(conn, source: str, tz: str = "UTC") -> dict[str, dict]:
    rep = report.build(conn, report.ReportRequest("daily", tz=ZoneInfo(tz), sources=(source,)))
    return {row["date"]: row for row in rep["daily"]}


def tokens(row: dict) -> tuple[int, int, int, int, int]:
    return (row["inputTokens"], row["outputTokens"], row["cacheCreationTokens"], row["cacheReadTokens"],
            row["totalTokens"])
