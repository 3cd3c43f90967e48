"""GitHub Copilot CLI's session store (spec/agents.md §3.4): ``session-store.db``, one row per
request in ``assistant_usage_events``, read from a watermark on ``id``.

``input_tokens`` includes cache read and cache write (both are subtracted); ``output_tokens``
includes reasoning. Key ``store|<session>|<id>|<created_at>`` (a store recreated at the same
path reuses ids: the watermark starts again when the largest id is below it). An older store
without ``output_tokens`` is not used: its sessions keep their rollups, which have the output.
A session with OTel chat spans is counted from them, never from here (§3.5).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Sequence

from tokentui.core.records import UNPRICED, UsageRecord
from tokentui.sources.common import (MAX_MS, MAX_TOKENS, MIN_MS, folder, open_ro, parse_ts_ms, per_database,
                                     real_roots, stat_signature, token_count, walk_files)
from tokentui.sources.copilot import SOURCE, _otel_path, covered_sessions, homes, normalise_model

STORE = "session-store.db"
_sessions_cache: dict[tuple, frozenset] = {}


def _usable(conn: sqlite3.Connection) -> bool:
    """A store whose rows carry the output (older stores have no ``output_tokens``)."""
    cols = {r[1] for r in conn.execute("PRAGMA table_info(assistant_usage_events)")}
    return {"id", "session_id", "model", "input_tokens", "output_tokens", "created_at"} <= cols


def _sessions_of(db: str) -> frozenset:
    try:
        conn = open_ro(db)
        try:
            if not _usable(conn):
                return frozenset()
            return frozenset(r[0] for r in conn.execute("SELECT DISTINCT session_id FROM assistant_usage_events")
                             if type(r[0]) is str)
        finally:
            conn.close()
    except sqlite3.Error:
        return frozenset()


def store_sessions(paths: Sequence[str]) -> frozenset:
    """Sessions with rows in the usable stores ``paths``: the journal leaves them to the store."""
    return per_database(paths, _sessions_cache, _sessions_of)


def _created_ms(v) -> int | None:
    if type(v) is int:
        ms = v if v >= 10**11 else v * 1000
        return ms if MIN_MS <= ms < MAX_MS else None
    return parse_ts_ms(v) if type(v) is str else None


def store_homes(extra: Sequence[str] = ()) -> list[Path]:
    """The homes that have a session store."""
    return [h for h in homes(extra) if (h / STORE).is_file()]


def signature(home: Path) -> str:
    db = home / STORE
    return stat_signature([str(db), f"{db}-wal"])


def read_since(home: Path, watermark: str | None) -> tuple[list[UsageRecord], str | None, int, str | None]:
    """The store's rows after ``watermark`` (a row id; all rows when None, or when the store was
    recreated with smaller ids), except sessions with OTel chat spans; the new watermark, rows
    skipped, and a problem (unreadable: read again next time). Never raises on bad data."""
    db = str(home / STORE)
    after = int(watermark) if watermark and watermark.isdigit() else 0
    out: list[UsageRecord] = []
    skipped = 0
    try:
        conn = open_ro(db)
    except sqlite3.Error as exc:
        return [], watermark, 0, f"cannot open {db}: {exc}"
    try:
        if not _usable(conn):
            return [], watermark, 0, None
        top = conn.execute("SELECT MAX(id) FROM assistant_usage_events").fetchone()[0]
        if type(top) is int and top < after:
            after = 0  # the store was recreated: its ids start again
        cols = {r[1] for r in conn.execute("PRAGMA table_info(assistant_usage_events)")}
        opt = [f"e.{c}" if c in cols else "0" for c in ("cache_read_tokens", "cache_write_tokens", "reasoning_tokens")]
        # the folder each session ran in (its project), when the store keeps it
        folders = {"id", "cwd"} <= {r[1] for r in conn.execute("PRAGMA table_info(sessions)")}
        rows = conn.execute(
            f"SELECT e.id, e.session_id, e.model, e.input_tokens, e.output_tokens, {', '.join(opt)}, e.created_at, "
            f"{'s.cwd' if folders else 'NULL'} FROM assistant_usage_events e "
            f"{'LEFT JOIN sessions s ON s.id = e.session_id ' if folders else ''}"
            "WHERE e.id > ? ORDER BY e.id", (after,)).fetchall()
    except sqlite3.Error as exc:
        return [], watermark, 0, f"cannot read {db}: {exc}"
    finally:
        conn.close()
    exported = _otel_path()
    otel = [str(p) for p in walk_files(home / "otel", (".jsonl",), None, within=real_roots([home / "otel"]))]
    covered = covered_sessions(otel + ([exported] if exported and os.path.isfile(exported) else []))
    mark = after
    for rid, session, model, *counts, created, cwd in rows:
        if type(rid) is int:
            mark = max(mark, rid)
        got = [token_count(c if c is not None else 0) for c in counts]
        ts_ms = _created_ms(created)
        if (type(rid) is not int or type(session) is not str or not session or type(model) is not str
                or not model.strip() or None in got or max(got) > MAX_TOKENS or ts_ms is None):
            skipped += 1
            continue
        if session in covered:
            continue  # counted from its OTel chat spans
        inp, outp, cr, cw, reas = got
        if not (inp or outp):
            continue
        out.append(UsageRecord(SOURCE, f"store|{session}|{rid}|{created}", ts_ms, normalise_model(model),
                               max(inp - cr - cw, 0), outp, cw, 0, cr, min(reas, outp), folder(cwd), session, None,
                               UNPRICED))
    return out, str(mark), skipped, None


def where(extra: Sequence[str] = ()) -> tuple[list[str], str | None]:
    return [str(h / STORE) for h in store_homes(extra)], None
