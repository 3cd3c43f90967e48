"""Reads for the Sessions and Projects screens and ``report session|project``: the ledger
grouped by session, project and breakdown column over a time window (``since_ms`` inclusive,
``until_ms`` exclusive; None: unbounded). Every read is a range on the ``ts_ms`` index."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from tokentui.core.totals import Totals
from tokentui.store.queries import _NOT_EMPTY, _SUMS, TOKENS, Filter, _totals, _where

#: breakdown name → the ledger column it groups by (agent: local agent logs only)
BREAKDOWNS = {"model": "model", "project": "project", "agent": "source", "source": "source"}


def _window(since_ms: int | None, until_ms: int | None, **kw) -> tuple[str, list]:
    return _where(Filter(since_ms, until_ms, **kw))


def _and(where: str) -> str:
    return f"{where} AND" if where else " WHERE"


@dataclass(slots=True)
class Group:
    """The usage of one (source, project, session) in the window, by model."""

    source: str
    project: str | None
    session: str | None
    first_ms: int
    last_ms: int
    by_model: dict[str | None, Totals]

    def total(self) -> Totals:
        t = Totals()
        for m in self.by_model.values():
            t.add(m)
        return t


def groups(conn: sqlite3.Connection, since_ms: int | None, until_ms: int | None = None, *,
           sessions_only: bool = True, sources: tuple[str, ...] = (), local_only: bool = False) -> list[Group]:
    """One :class:`Group` per (source, project, session) with usage in the window, first
    activity first; ``sessions_only=False`` keeps records without a session; ``local_only``:
    agent logs only (no provider API buckets)."""
    where, args = _window(since_ms, until_ms, sources=sources, kinds=("local",) if local_only else ())
    if sessions_only:
        where = f"{_and(where)} session IS NOT NULL"
    sql = (f"SELECT source, project, session, model, MIN(ts_ms), MAX(ts_ms), {_SUMS} FROM ledger{where} "
           f"GROUP BY source, project, session, model HAVING {_NOT_EMPTY} ORDER BY MIN(ts_ms)")
    out: dict[tuple, Group] = {}
    for r in conn.execute(sql, args):
        key = (r[0], r[1], r[2])
        g = out.get(key)
        if g is None:
            g = out[key] = Group(r[0], r[1], r[2], r[4], r[5], {})
        g.first_ms, g.last_ms = min(g.first_ms, r[4]), max(g.last_ms, r[5])
        t = _totals(r[6:], r[3])
        cur = g.by_model.get(r[3])
        if cur is None:
            g.by_model[r[3]] = t
        else:
            cur.add(t)
    return list(out.values())


@dataclass(frozen=True, slots=True)
class SessionRecords:
    """One session's requests over time and what sub-agents and devices it had."""

    #: (bucket start ms, requests, tokens), oldest first
    timeline: tuple[tuple[int, int, int], ...]
    by_model: dict[str | None, Totals]
    subagent_tokens: int
    subagent_requests: int
    devices: tuple[str, ...]


def session_records(conn: sqlite3.Connection, source: str, session: str, since_ms: int | None,
                    until_ms: int | None, bucket_ms: int) -> SessionRecords:
    where, args = _window(since_ms, until_ms, sources=(source,))
    where = f"{_and(where)} session = ?"
    args = [*args, session]
    timeline = tuple((b * bucket_ms, req or 0, tok or 0) for b, req, tok in conn.execute(
        f"SELECT ts_ms / ? AS b, SUM(requests), SUM({TOKENS}) FROM ledger{where} GROUP BY b ORDER BY b",
        [bucket_ms, *args]))
    by_model = {r[0]: _totals(r[1:], r[0]) for r in conn.execute(
        f"SELECT model, {_SUMS} FROM ledger{where} GROUP BY model HAVING {_NOT_EMPTY} ORDER BY MIN(ts_ms)", args)}
    sub = conn.execute(f"SELECT SUM({TOKENS}), SUM(requests) FROM ledger{where} AND sidechain != 0", args).fetchone()
    devices = tuple(d for (d,) in conn.execute(f"SELECT DISTINCT device FROM ledger{where} ORDER BY device", args))
    return SessionRecords(timeline, by_model, sub[0] or 0, sub[1] or 0, devices)


def project_timeline(conn: sqlite3.Connection, since_ms: int, until_ms: int | None,
                     bucket_ms: int) -> dict[str | None, dict[int, int]]:
    """``{recorded project: {bucket index from since_ms: tokens}}`` of the agent logs."""
    where, args = _window(since_ms, until_ms, kinds=("local",))
    out: dict[str | None, dict[int, int]] = {}
    for project, b, tokens in conn.execute(
            f"SELECT project, (ts_ms - ?) / ? AS b, SUM({TOKENS}) FROM ledger{where} GROUP BY project, b",
            [since_ms, bucket_ms, *args]):
        out.setdefault(project, {})[b] = tokens or 0
    return out


def first_ms(conn: sqlite3.Connection) -> int | None:
    """When the stored history starts (None: nothing stored)."""
    return conn.execute("SELECT MIN(ts_ms) FROM ledger").fetchone()[0]


def breakdown(conn: sqlite3.Connection, by: str, since_ms: int | None,
              until_ms: int | None = None) -> list[tuple[str | None, str, Totals]]:
    """The window's usage grouped by ``by`` (a key of :data:`BREAKDOWNS`): ``(key, kind,
    totals)``; agent logs only, except ``source``, which has the provider APIs too (kind "api")."""
    col = BREAKDOWNS[by]
    where, args = _window(since_ms, until_ms, kinds=() if by == "source" else ("local",))
    rows: dict[tuple[str | None, str], Totals] = {}
    for r in conn.execute(f"SELECT {col}, kind, model, {_SUMS} FROM ledger{where} GROUP BY {col}, kind, model "
                          f"HAVING {_NOT_EMPTY}", args):
        rows.setdefault((r[0], r[1]), Totals()).add(_totals(r[3:], r[2]))
    return [(key, kind, t) for (key, kind), t in rows.items()]


def project_folders(conn: sqlite3.Connection) -> list[str]:
    """The folders the agents' file cursors name as their sessions' folders (``folder`` in a
    cursor's state: the folder a Claude Code project dir encodes), for folding projects."""
    return [r[0] for r in conn.execute(
        "SELECT DISTINCT json_extract(state, '$.folder') FROM files WHERE state LIKE '%\"folder\"%' "
        "AND json_valid(state) AND json_type(state, '$.folder') = 'text'")]
