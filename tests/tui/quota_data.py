"""Plan-limit samples around the TUI tests' frozen clock (2026-11-20 15:30 UTC)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from tokentui.core.quotas import Observation


def _ms(hh: int, mm: int, day: int = 20) -> int:
    return int(datetime(2026, 11, day, hh, mm, tzinfo=timezone.utc).timestamp() * 1000)


def _s(hh: int, mm: int, day: int = 20) -> int:
    return _ms(hh, mm, day) // 1000


def samples() -> list[Observation]:
    claude, codex = "anthropic:test-account", "openai:codex:0123456789ab"
    out = []
    for hh, mm, pct in ((12, 5, 20), (13, 0, 41), (14, 10, 66), (15, 20, 85)):  # runs out before 17:00
        out.append(Observation("claude-statusline", "anthropic", claude, "account", "five_hour", 18000, pct,
                               _s(17, 0), "absolute", _ms(hh, mm), "sess-a", None, "2.1.238"))
    for hh, mm, pct in ((9, 0, 22), (15, 20, 30)):
        out.append(Observation("claude-statusline", "anthropic", claude, "account", "seven_day", 604800, pct,
                               _s(20, 0, 24), "absolute", _ms(hh, mm), "sess-a", None, "2.1.238"))
    for hh, mm, pct in ((15, 0, 5), (15, 10, 8), (15, 25, 12)):
        out.append(Observation("codex-log", "openai", codex, "codex", "five_hour", 18000, pct, _s(18, 40),
                               "absolute", _ms(hh, mm), "rollout", "pro"))
        out.append(Observation("codex-log", "openai", codex, "codex", "seven_day", 604800, 12 + pct / 10,
                               _s(9, 0, 26), "absolute", _ms(hh, mm), "rollout", "pro"))
    return out


def add_samples(db: Path) -> None:
    from tokentui.store import quotas as store
    from tokentui.store.db import connect, transaction

    conn = connect(db)
    with transaction(conn):
        store.upsert(conn, samples(), "laptop")
    conn.close()
