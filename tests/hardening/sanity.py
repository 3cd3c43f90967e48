"""What a stored record may hold: the invariants every hostile-input test checks."""

from __future__ import annotations

import json
import sqlite3

from tokentui.core.records import UsageRecord
from tokentui.sources.common import MAX_MS, MIN_MS

INT64 = 2**63 - 1
TOKEN_FIELDS = ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read", "reasoning")
#: more tokens than this in one local request, or one API day bucket, is absurd
LOCAL_CAP, API_CAP = 10**10, 10**13


def assert_sane(r: UsageRecord) -> None:
    """Non-negative bounded whole token counts, a timestamp in range, a cost SQLite can hold."""
    cap = API_CAP if r.kind == "api" else LOCAL_CAP
    for f in TOKEN_FIELDS:
        v = getattr(r, f)
        assert type(v) is int and 0 <= v <= cap, (f, v, r)
    assert type(r.requests) is int and 0 <= r.requests <= INT64, r
    assert type(r.ts_ms) is int and MIN_MS <= r.ts_ms < MAX_MS, r
    assert r.cost_pico is None or (type(r.cost_pico) is int and abs(r.cost_pico) <= INT64), r
    if r.kind == "local":
        assert r.cost_pico is None or r.cost_pico >= 0, r
    assert r.reasoning <= max(r.output, r.reasoning), r
    assert isinstance(r.key, str) and r.key, r
    for s in (r.model, r.project, r.session, r.raw, r.msg_id):
        assert s is None or isinstance(s, str)
    if r.raw is not None:
        json.loads(r.raw)


def store_and_sum(records) -> int:
    """The records go into a real store and the report sums still work (no int64 overflow).
    Returns the total tokens the report shows."""
    from zoneinfo import ZoneInfo

    from tokentui.services import report
    from tokentui.store import ledger
    from tokentui.store.db import migrate

    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        migrate(conn)
        ledger.upsert(conn, records, "dev")
        for kind in ("daily", "session"):
            data = report.build(conn, report.ReportRequest(kind, tz=ZoneInfo("UTC")))
            assert data["totals"]["totalTokens"] >= 0
        return data["totals"]["totalTokens"]
    finally:
        conn.close()
