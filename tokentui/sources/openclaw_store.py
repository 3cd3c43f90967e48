"""OpenClaw's per-agent stores (spec/agents.md §1.1, §1.5): ``agents/<id>/agent/openclaw-agent.sqlite``,
table ``transcript_events`` (one JSONL line per row), read from a watermark: per session the
last ``seq`` read and the model and provider then set. The store is canonical: a transcript
whose session lives in one is its pre-migration copy (:func:`store_sessions`).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Sequence

from tokentui.core.records import UsageRecord
from tokentui.sources.common import MAX_MS, MIN_MS, loads, open_ro, per_database
from tokentui.sources.openclaw import _BAD, _Session, _databases, state_dirs

_sessions_cache: dict[tuple, frozenset] = {}


def _sessions_of(db: str) -> frozenset:
    try:
        conn = open_ro(db)
        try:
            return frozenset(r[0] for r in conn.execute("SELECT DISTINCT session_id FROM transcript_events")
                             if type(r[0]) is str)
        finally:
            conn.close()
    except sqlite3.Error:
        return frozenset()


def store_sessions(paths: Sequence[str]) -> frozenset:
    """Session ids in the stores ``paths``."""
    return per_database(paths, _sessions_cache, _sessions_of)


def store_dirs(extra: Sequence[str] = ()) -> list[Path]:
    return [d for d in state_dirs(extra) if _databases(d)]


def read_since(state: Path, watermark: str | None) -> tuple[list[UsageRecord], str | None, int, str | None]:
    """The entries of every store of ``state`` after the watermark (JSON: per ``<agent>/<session>``
    the last ``seq`` read and the model and provider then set), the new watermark, the corrupt
    entries skipped, and a problem (unreadable: read again next time). Never raises on bad data."""
    try:
        marks = json.loads(watermark) if watermark else {}
    except ValueError:
        marks = {}
    if type(marks) is not dict:
        marks = {}
    out: list[UsageRecord] = []
    seen: set[str] = set()
    skipped = 0
    problems: list[str] = []
    for db in _databases(state):
        agent = db.parent.parent.name
        try:
            conn = open_ro(db)
            try:
                tops = conn.execute("SELECT session_id, MAX(seq) FROM transcript_events GROUP BY session_id").fetchall()
                for sid, top in tops:
                    if type(sid) is not str or not sid or type(top) is not int:
                        skipped += 1
                        continue
                    name = f"{agent}/{sid}"
                    mark = marks.get(name)
                    last, model, provider = mark if type(mark) is list and len(mark) == 3 else (-1, None, None)
                    last = last if type(last) is int else -1
                    if top < last:  # the session was written again from the start
                        last, model, provider = -1, None, None
                    if top == last:
                        continue
                    s = _Session(sid, agent, None, None, seen, out)
                    s.model, s.provider = model, provider
                    for _seq, text, created in conn.execute(
                            "SELECT seq, event_json, created_at FROM transcript_events WHERE session_id = ? "
                            "AND seq > ? ORDER BY seq", (sid, last)):
                        try:
                            obj = loads(text) if type(text) in (str, bytes) else _BAD
                        except ValueError:
                            obj = _BAD
                        if obj is _BAD:
                            s.skipped += 1
                            continue
                        s.entry(obj, created if type(created) is int and MIN_MS <= created < MAX_MS else None)
                    skipped += s.skipped
                    marks[name] = [top, s.model, s.provider]
            finally:
                conn.close()
        except sqlite3.Error as exc:
            problems.append(f"cannot read {db}: {exc}")
    return out, json.dumps(marks, sort_keys=True), skipped, "; ".join(problems) or None


def where(extra: Sequence[str] = ()) -> tuple[list[str], str | None]:
    return [str(d) for d in store_dirs(extra)], None
