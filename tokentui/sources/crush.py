"""Crush (Charmbracelet) sessions (spec/agents.md §9): cost only, never tokens.

Crush keeps no token totals: ``sessions.prompt_tokens`` / ``completion_tokens`` are overwritten with
the latest step's sizes (a context gauge). What it keeps is ``sessions.cost``: a running sum of
each step's cost from Crush's model catalog (or OpenRouter's billed amount; 0 on flat-rate
providers), a sub-agent's cost added to its parent too. So tokentop records, per **root** session
(``parent_session_id IS NULL``; children are inside their root's cost), the cost and **zero
tokens**: nothing is invented. Reports and the dashboard show those rows as cost with no tokens;
the cost is Crush's own (labelled ``estimated``, kept in every pricing mode: there are no tokens to
price), and the rows' tokens are labelled ``estimated`` too (they are unknown, not zero). A session
that cost nothing (flat rate) adds no row.

Where: the project registry ``projects.json`` in ``$CRUSH_GLOBAL_DATA``, else
``$XDG_DATA_HOME/crush``, else ``~/.local/share/crush`` (``%LOCALAPPDATA%\\crush`` on Windows)
lists each project's data dir (``.crush`` by default) holding ``crush.db``; config ``paths`` may
name more projects or data dirs. Databases are opened read-only (``mode=ro``, busy timeout).

Dates: the first time a root session is seen its cost is spread over the assistant messages of its
session tree in proportion to their number (tokscale's rule), each part dated at its messages
(grouped by quarter hour); after that each increase is dated at the root's ``updated_at``
(see :mod:`tokentui.core.session_totals`). Timestamps are Unix seconds (milliseconds are
recognised by size). Model: the tree's last assistant message's ``model``.
"""

from __future__ import annotations

import math
import os
import sqlite3
import sys
from pathlib import Path
from typing import Sequence
from urllib.parse import quote

from tokentui.core.records import MAX_TS_MS, MIN_TS_MS, to_pico
from tokentui.core.session_totals import SessionTotal
from tokentui.sources.common import existing_dirs, load_document, stat_signature

SOURCE = "crush"
ENV = ("CRUSH_GLOBAL_DATA", "XDG_DATA_HOME")
DB = "crush.db"
MAX_REGISTRY = 4 << 20
MAX_ROWS = 2_000_000
MAX_COST_USD = 10**7
BUSY_MS = 2000
_QUARTER = 15 * 60 * 1000


def global_dir() -> Path:
    env = os.environ.get("CRUSH_GLOBAL_DATA", "").strip()
    if env:
        return Path(os.path.expanduser(env))
    xdg = os.environ.get("XDG_DATA_HOME", "").strip()
    if xdg:
        return Path(os.path.expanduser(xdg)) / "crush"
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "crush"
    return Path(os.path.expanduser("~/.local/share/crush"))


def _registry(base: Path) -> list[Path]:
    """Data dirs named by ``projects.json`` (a list under ``projects``, or an object keyed by id)."""
    p = base / "projects.json"
    try:
        if os.path.getsize(p) > MAX_REGISTRY:
            return []
        doc = load_document(p.read_bytes())
    except (OSError, ValueError):
        return []
    items = doc.get("projects") if type(doc) is dict else None
    if type(items) is dict:
        items = list(items.values())
    out = []
    for it in items if type(items) is list else []:
        if type(it) is not dict:
            continue
        path, data = it.get("path"), it.get("data_dir")
        data = data if type(data) is str and data.strip() else ".crush"
        if not os.path.isabs(data):
            if type(path) is not str or not path.strip():
                continue
            data = os.path.join(path, data)
        out.append(Path(data))
    return out


def looked(extra: Sequence[str] = ()) -> list[str]:
    """Where the projects are listed (``projects.json``), and the configured dirs."""
    return list(dict.fromkeys([str(global_dir() / "projects.json"), *(os.path.expanduser(e) for e in extra)]))


def databases(extra: Sequence[str] = ()) -> list[Path]:
    """Every ``crush.db`` the registry and ``extra`` (a project dir or a data dir) name, once each."""
    dirs = _registry(global_dir())
    for e in extra:
        p = Path(os.path.expanduser(e))
        dirs.append(p / ".crush" if (p / ".crush" / DB).is_file() else p)
    out, seen = [], set()
    for d in existing_dirs(dirs):
        db = d / DB
        real = os.path.realpath(db)
        if db.is_file() and real not in seen:
            seen.add(real)
            out.append(db)
    return out


def signature(db: Path) -> str:
    return stat_signature([str(db), f"{db}-wal"])


def _ms(v) -> int | None:
    if type(v) not in (int, float) or not math.isfinite(v):
        return None
    ms = int(v) if v > 10**11 else int(v * 1000)  # seconds (what Crush writes) or milliseconds
    return ms if MIN_TS_MS <= ms < MAX_TS_MS else None


def _project(db: Path) -> str | None:
    data = db.parent
    folder = data.parent if data.name == ".crush" else data
    return folder.name or None


def read(db: Path, watermark) -> tuple[list[SessionTotal], int, str | None, object]:
    """Root sessions updated since ``watermark`` (ms, inclusive), with their trees' messages."""
    since = watermark if type(watermark) is int else None
    out: list[SessionTotal] = []
    skipped = 0
    high = since
    uri = "file:" + quote(os.path.abspath(db)) + "?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_MS / 1000)
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
            sessions = conn.execute("SELECT id, parent_session_id, cost, updated_at, created_at FROM sessions "
                                    f"LIMIT {MAX_ROWS}").fetchall()
            parent = {s[0]: s[1] for s in sessions}
            roots = []
            for sid, par, cost, updated, created in sessions:
                if par:
                    continue
                seen = _ms(updated)
                if since is not None and (seen is None or seen < since):
                    continue
                roots.append((sid, cost, seen, _ms(created)))
            if not roots:
                return out, skipped, None, high
            messages = conn.execute("SELECT session_id, created_at, model FROM messages WHERE role = 'assistant' "
                                    f"ORDER BY created_at LIMIT {MAX_ROWS}").fetchall()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return out, skipped, f"cannot read {db}: {exc}", watermark

    def root_of(sid):
        for _ in range(64):  # sub-agents of sub-agents; a cycle stops here
            up = parent.get(sid)
            if not up:
                return sid
            sid = up
        return None

    tree: dict[str, list[tuple[int, str | None]]] = {}
    for sid, created, model in messages:
        ms = _ms(created)
        r = root_of(sid)
        if ms is not None and r is not None:
            tree.setdefault(r, []).append((ms, model if type(model) is str and model.strip() else None))
    project = _project(db)
    for sid, cost, seen, created in roots:
        if type(sid) is not str or not sid or type(cost) not in (int, float) or not math.isfinite(cost) \
                or not 0 <= cost < MAX_COST_USD or (seen is None and created is None):
            skipped += 1
            continue
        msgs = sorted(tree.get(sid, []), key=lambda m: m[0])
        spread: dict[int, list[int]] = {}
        for ms, _model in msgs:
            part = spread.setdefault(ms // _QUARTER, [ms, 0])
            part[1] += 1
        model = next((m for _ms_, m in reversed(msgs) if m), None)
        start = msgs[0][0] if msgs else (created if created is not None else seen)
        seen = seen if seen is not None else start
        high = seen if high is None or seen > high else high
        out.append(SessionTotal(sid, start, seen, model.strip() if model else None, cost_pico=to_pico(repr(cost)),
                                project=project, spread=tuple((ts, w) for ts, w in spread.values()),
                                model_fallback=model is None))
    return out, skipped, None, high


def where(extra: Sequence[str] = ()) -> tuple[list[str], str | None]:
    found = databases(extra)
    env = os.environ.get("CRUSH_GLOBAL_DATA", "").strip()
    problem = (f"no Crush project registry in CRUSH_GLOBAL_DATA ({env})"
               if env and not (global_dir() / "projects.json").is_file() else None)
    return [str(db) for db in found], problem


def _reader():
    from tokentui.sources.readers import SessionTotals

    return SessionTotals(where=where, locations=databases, signature=signature, read=read, looked=looked)


READER = _reader()
