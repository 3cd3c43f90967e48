"""Goose sessions (spec/agents.md §7): running totals per session in SQLite, so tokens are estimates.

``<data>/sessions/sessions.db``, where ``<data>`` is ``$GOOSE_PATH_ROOT/data`` when that is an
absolute path, else ``${XDG_DATA_HOME:-~/.local/share}/goose`` (Linux and macOS: Goose uses the
XDG layout on both), ``%APPDATA%\\Block\\goose\\data`` on Windows; older layouts the reference
readers still probe (``~/Library/Application Support/goose``, ``~/.local/share/Block/goose``) are
read when they exist. Opened read-only (``mode=ro``, busy timeout: Goose may be writing it).

A session is a ``sessions`` row with a non-empty ``model_config_json`` (its ``model_name`` is the
model). Goose keeps no per-request usage: ``accumulated_input_tokens`` / ``accumulated_output_tokens``
are the session's sums (rows imported from the pre-SQLite JSONL store have only the last turn's
``input_tokens`` / ``output_tokens``: those are used); there is no cache split (all input is
input). When ``accumulated_total_tokens`` exceeds input + output the excess is counted as output
and reasoning (ccusage's rule). The first time a session is seen it is dated at ``created_at``;
after that its increases are dated at the row's ``updated_at`` (see
:mod:`tokentui.core.session_totals`). Rows are read from a watermark on ``updated_at``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from pathlib import Path
from typing import Sequence
from urllib.parse import quote

from tokentui.core.session_totals import SessionTotal
from tokentui.sources.common import MAX_TOKENS, existing_dirs, parse_ts_ms, stat_signature, token_count

SOURCE = "goose"
ENV = ("GOOSE_PATH_ROOT",)
DB = ("sessions", "sessions.db")
MAX_ROWS = 1_000_000  # sessions read from one database at most
BUSY_MS = 2000


def _candidates() -> list[str]:
    """Goose's data dirs to try, per ``$GOOSE_PATH_ROOT`` and the OS."""
    root = os.environ.get("GOOSE_PATH_ROOT", "").strip()
    if root and os.path.isabs(os.path.expanduser(root)):
        cands = [os.path.join(os.path.expanduser(root), "data")]
    else:
        xdg = os.environ.get("XDG_DATA_HOME", "").strip() or "~/.local/share"
        cands = [os.path.join(xdg, "goose"), "~/.local/share/goose", "~/.local/share/Block/goose",
                 "~/Library/Application Support/goose"]
        if sys.platform == "win32" and os.environ.get("APPDATA"):
            cands.insert(0, os.path.join(os.environ["APPDATA"], "Block", "goose", "data"))
    return cands


def looked(extra: Sequence[str] = ()) -> list[str]:
    """Every ``sessions/sessions.db`` tried, found or not."""
    return list(dict.fromkeys(os.path.join(os.path.expanduser(d), *DB) for d in [*_candidates(), *extra]))


def data_dirs(extra: Sequence[str] = ()) -> list[Path]:
    """Goose data dirs that hold ``sessions/sessions.db`` (or are named in config)."""
    found = [d for d in existing_dirs(_candidates()) if (d / DB[0] / DB[1]).is_file()]
    for e in existing_dirs(extra):
        if e not in found:
            found.append(e)
    return found


def signature(d: Path) -> str:
    db = str(Path(d, *DB))
    return stat_signature([db, db + "-wal"])


def _ms(v) -> int | None:
    """``YYYY-MM-DD HH:MM:SS`` (SQLite, UTC) or RFC 3339 to epoch ms."""
    return parse_ts_ms(v.strip()) if type(v) is str and v.strip() else None


def _norm(v) -> str | None:
    """A timestamp as SQLite's ``datetime()`` writes it, for the watermark."""
    ms = _ms(v)
    if ms is None:
        return None
    from datetime import datetime, timezone

    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _rows(db: Path, since: str | None):
    uri = "file:" + quote(os.path.abspath(db)) + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=BUSY_MS / 1000)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
        cols = {r[1] for r in conn.execute("PRAGMA table_info(sessions)")}
        want = ["id", "working_dir", "created_at", "updated_at", "input_tokens", "output_tokens", "total_tokens",
                "accumulated_input_tokens", "accumulated_output_tokens", "accumulated_total_tokens",
                "model_config_json", "provider_name"]
        sel = ", ".join(c if c in cols else "NULL" for c in want)
        where = " WHERE datetime(updated_at) >= ?" if since else ""
        cur = conn.execute(f"SELECT {sel} FROM sessions{where} ORDER BY rowid LIMIT {MAX_ROWS}",
                           (since,) if since else ())
        yield from cur
    finally:
        conn.close()


def read(d: Path, watermark) -> tuple[list[SessionTotal], int, str | None, object]:
    """Sessions updated since ``watermark`` (a ``YYYY-MM-DD HH:MM:SS`` text, inclusive: a row
    written in the same second is read again and adds only what grew)."""
    db = Path(d, *DB)
    since = watermark if type(watermark) is str else None
    out: list[SessionTotal] = []
    skipped = 0
    high = since
    try:
        for (sid, cwd, created, updated, inp, outp, tot, a_in, a_out, a_tot, cfg, _provider) in _rows(db, since):
            if not cfg:
                continue  # never ran a model turn
            try:
                model = json.loads(cfg).get("model_name") if type(cfg) is str else None
            except (ValueError, AttributeError):
                model = None
            started, seen = _ms(created), _ms(updated)
            acc = a_in is not None or a_out is not None
            i, o, t = (a_in, a_out, a_tot) if acc else (inp, outp, tot)
            i, o = token_count(i or 0), token_count(o or 0)
            t = token_count(t or 0)
            if (type(sid) is not str or not sid or type(model) is not str or not model.strip() or started is None
                    or None in (i, o, t) or max(i, o, t) > MAX_TOKENS):
                skipped += 1
                continue
            extra = max(0, t - i - o)  # priced as output, counted as reasoning (ccusage)
            norm = _norm(updated)
            if norm and (high is None or norm > high):
                high = norm
            project = os.path.basename(cwd.rstrip("/\\")) if type(cwd) is str and cwd.strip("/\\") else None
            out.append(SessionTotal(sid, started, seen if seen is not None else started, model.strip(),
                                    i, o + extra, 0, 0, extra, None, project))
    except sqlite3.Error as exc:
        return out, skipped, f"cannot read {db}: {exc}", watermark
    return out, skipped, None, high


def where(extra: Sequence[str] = ()) -> tuple[list[str], str | None]:
    found = data_dirs(extra)
    root = os.environ.get("GOOSE_PATH_ROOT", "").strip()
    problem = (f"no Goose sessions database under GOOSE_PATH_ROOT ({root})"
               if root and os.path.isabs(os.path.expanduser(root)) and not found else None)
    return [str(Path(d, DB[0])) for d in found], problem


def _reader():
    from tokentui.sources.readers import SessionTotals

    return SessionTotals(where=where, locations=data_dirs, signature=signature, read=read, looked=looked)


READER = _reader()
