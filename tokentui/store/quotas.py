"""Plan-limit samples (spec/quotas.md §3.2): ``quota_sample`` rows upserted by natural key,
the events between window instances and the alerts already fired. All SQL for quotas is here."""

from __future__ import annotations

import sqlite3
from typing import Iterable, Sequence

from tokentui.core.quotas import SAME_INSTANCE_S, Row, row_of

_COLS = ("source", "provider", "account", "lim", "win", "resets_at", "session", "used_bp", "window_s",
         "raw_resets_at", "reset_src", "plan", "first_seen_ms", "last_seen_ms")
_UPSERT = (f"INSERT INTO quota_sample ({', '.join(_COLS)}, device) VALUES ({', '.join('?' * len(_COLS))}, ?) "
           "ON CONFLICT (source, account, lim, win, resets_at, session, used_bp) DO UPDATE SET "
           "first_seen_ms = min(first_seen_ms, excluded.first_seen_ms), "
           "last_seen_ms = max(last_seen_ms, excluded.last_seen_ms), "
           "raw_resets_at = CASE WHEN excluded.last_seen_ms >= last_seen_ms THEN excluded.raw_resets_at "
           "ELSE raw_resets_at END, "
           "plan = CASE WHEN excluded.last_seen_ms >= last_seen_ms THEN excluded.plan ELSE plan END")


def upsert(conn: sqlite3.Connection, samples: Iterable, device: str) -> int:
    """Store observations or rows (call inside a transaction); re-storing one only widens its
    first/last seen. Returns how many were given."""
    rows = [tuple(row_of(s) if not isinstance(s, Row) else s) + (device,) for s in samples]
    if rows:
        conn.executemany(_UPSERT, rows)
    return len(rows)


def rows(conn: sqlite3.Connection, *, provider: str | None = None, account: str | None = None,
         since_reset: int = 0) -> list[Row]:
    """Stored samples (optionally one provider/account), of instances resetting after
    ``since_reset`` (epoch s) plus the rows with no reset (idle readings)."""
    where, args = ["(resets_at = 0 OR resets_at >= ?)"], [since_reset]
    if provider is not None:
        where.append("provider = ?")
        args.append(provider)
    if account is not None:
        where.append("account = ?")
        args.append(account)
    sql = f"SELECT {', '.join(_COLS)} FROM quota_sample WHERE {' AND '.join(where)} ORDER BY first_seen_ms, id"
    return [Row(*r) for r in conn.execute(sql, args)]


def curve(conn: sqlite3.Connection, provider: str, account: str, lim: str, win: str,
          resets_at: int) -> list[tuple[int, float]]:
    """One window instance's curve: (first seen ms, running maximum percent), oldest first."""
    lo, hi = resets_at - SAME_INSTANCE_S - 60, resets_at + SAME_INSTANCE_S + 60
    got = conn.execute("SELECT first_seen_ms, used_bp FROM quota_sample WHERE provider = ? AND account = ? "
                       "AND lim = ? AND win = ? AND resets_at BETWEEN ? AND ? ORDER BY first_seen_ms, used_bp",
                       (provider, account, lim, win, lo, hi)).fetchall()
    out: list[tuple[int, float]] = []
    top = 0
    for t, bp in got:
        top = max(top, bp)
        out.append((t, top / 100.0))
    return out


def record_events(conn: sqlite3.Connection, provider: str, account: str, lim: str, win: str,
                  events: Sequence[tuple]) -> None:
    """``(kind, at_ms, old_resets_at, new_resets_at)`` events, each kept once."""
    conn.executemany("INSERT OR IGNORE INTO quota_event (provider, account, lim, win, kind, at_ms, old_resets_at, "
                     "new_resets_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     [(provider, account, lim, win, *e) for e in events])


def events(conn: sqlite3.Connection, limit: int = 100) -> list[tuple]:
    return conn.execute("SELECT provider, account, lim, win, kind, at_ms, old_resets_at, new_resets_at "
                        "FROM quota_event ORDER BY at_ms DESC LIMIT ?", (limit,)).fetchall()


def fire_alert(conn: sqlite3.Connection, account: str, lim: str, win: str, resets_at: int, kind: str,
               now_ms: int) -> bool:
    """Note an alert; True only the first time for its window instance (resets ≤ 120 s apart
    share their alerts), so a restart never repeats one."""
    dup = conn.execute("SELECT 1 FROM quota_alert WHERE account = ? AND lim = ? AND win = ? AND kind = ? "
                       "AND resets_at BETWEEN ? AND ?", (account, lim, win, kind, resets_at - SAME_INSTANCE_S,
                                                         resets_at + SAME_INSTANCE_S)).fetchone()
    if dup:
        return False
    conn.execute("INSERT OR IGNORE INTO quota_alert (account, lim, win, resets_at, kind, fired_ms) "
                 "VALUES (?, ?, ?, ?, ?, ?)", (account, lim, win, resets_at, kind, now_ms))
    return True


def last_sample_ms(conn: sqlite3.Connection) -> dict[str, int]:
    """Per source, when its latest sample was seen."""
    return dict(conn.execute("SELECT source, MAX(last_seen_ms) FROM quota_sample GROUP BY source").fetchall())


def latest_usage_ms(conn: sqlite3.Connection, source: str) -> int | None:
    """When ``source`` last logged usage (ledger), to tell an unused status line from a silent one."""
    return conn.execute("SELECT MAX(ts_ms) FROM ledger WHERE source = ?", (source,)).fetchone()[0]


def last_seen_elsewhere(conn: sqlite3.Connection, provider: str, source: str) -> int | None:
    """The newest sample of ``provider`` from any source but ``source``."""
    return conn.execute("SELECT MAX(last_seen_ms) FROM quota_sample WHERE provider = ? AND source != ?",
                        (provider, source)).fetchone()[0]
