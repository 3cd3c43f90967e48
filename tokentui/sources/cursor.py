"""Cursor chat bubbles (spec/agents.md §16): every token is an estimate.

``Cursor/User/globalStorage/state.vscdb`` under the platform's app-data folder
(``${XDG_CONFIG_HOME:-~/.config}`` on Linux, ``~/Library/Application Support`` on macOS,
``%APPDATA%`` on Windows); config ``paths`` may name other Cursor folders (or the database).
SQLite, opened read-only (``mode=ro``, busy timeout). The rows read are the chat bubbles of table
``cursorDiskKV`` (keys ``bubbleId:<conversation>:<bubble>``, a JSON value with ``type`` 1 = user,
2 = assistant, ``text``, ``createdAt``, ``modelInfo.modelName``, ``tokenCount``); a key whose
conversation part holds a line break is a tool call's row, not a conversation, and is ignored.

Counting (codeburn's reading, the only reference reader of the local database): a conversation
in which some bubble carries a non-zero ``tokenCount`` (older builds) is counted from those counts;
otherwise (current builds write zeros) user text counts as input and assistant text as output at
one token per 4 characters (rounded up). There is no cache split, no reliable per-request model
and no billed cost, so all of it is labelled ``estimated``. Key: the bubble key (a bubble updated
in place upserts its row). Time: ``createdAt``; a bubble without one cannot be dated and is
counted as skipped. Model: the bubble's, else its conversation's (``claude-4.5-sonnet`` →
``claude-sonnet-4-5``; ``default``/none: unpriced). Not read: the agent streams (``agentKv``),
the context meter (``composerData``), workspace folders (no project).

Bounded: the newest 250,000 bubbles and only the 180 days up to the newest one are read (older history already
stored is kept), and the database, which Cursor rewrites while open, is read again at most once
every five minutes (its signature is its size and a five-minute mtime bucket).
"""

from __future__ import annotations

import math
import os
import re
import sqlite3
import sys
from pathlib import Path
from typing import Sequence
from urllib.parse import quote

from tokentui.core.records import ESTIMATED, TOKENS_ESTIMATED, UNPRICED, UsageRecord
from tokentui.sources.common import MAX_TOKENS, existing_dirs, parse_ts_ms, token_count

SOURCE = "cursor"
ENV = ("XDG_CONFIG_HOME", "APPDATA")
DB = ("User", "globalStorage", "state.vscdb")
MAX_BUBBLES = 250_000
MAX_AGE_DAYS = 180
REREAD_S = 300
CHARS_PER_TOKEN = 4
BUSY_MS = 2000
_QUERY = ("SELECT key, "
          + ", ".join(f"CASE WHEN json_valid(value) THEN json_extract(value, '$.{p}') END" for p in
                      ("type", "createdAt", "tokenCount.inputTokens", "tokenCount.outputTokens",
                       "modelInfo.modelName"))
          + ", CASE WHEN json_valid(value) THEN length(json_extract(value, '$.text')) END, json_valid(value) "
          "FROM cursorDiskKV WHERE key >= 'bubbleId:' AND key < 'bubbleId;' ORDER BY rowid DESC LIMIT ?")


def _candidates(extra: Sequence[str] = ()) -> list[str]:
    if sys.platform == "darwin":
        cands = ["~/Library/Application Support/Cursor"]
    elif sys.platform == "win32":
        cands = [os.path.join(os.environ.get("APPDATA", "~"), "Cursor")]
    else:
        cands = [os.path.join(os.environ.get("XDG_CONFIG_HOME", "").strip() or "~/.config", "Cursor")]
    for e in extra:
        p = Path(os.path.expanduser(e))
        cands.append(str(p.parent.parent.parent if p.name == DB[-1] else p))
    return cands


def looked(extra: Sequence[str] = ()) -> list[str]:
    """Every global state database tried, found or not."""
    return list(dict.fromkeys(os.path.join(os.path.expanduser(d), *DB) for d in _candidates(extra)))


def cursor_dirs(extra: Sequence[str] = ()) -> list[Path]:
    """Cursor app-data folders that hold the global state database."""
    return [d for d in existing_dirs(_candidates(extra)) if Path(d, *DB).is_file()]


def signature(d: Path) -> str:
    db = Path(d, *DB)
    parts = []
    for p in (db, Path(f"{db}-wal")):
        try:
            st = os.stat(p)
        except OSError:
            continue
        parts.append(f"{p}:{st.st_ino}:{st.st_mtime_ns // (REREAD_S * 10**9)}")
    return "|".join(parts)


def model_id(name) -> str | None:
    """A priceable id for Cursor's model name, or None (``default`` = Cursor picks: unknown)."""
    if type(name) is not str or not name.strip() or name.strip() in ("default", "auto"):
        return None
    name = re.sub(r"-thinking$", "", name.strip())
    m = re.fullmatch(r"claude-(\d)(?:\.(\d))?-(opus|sonnet|haiku)(-.*)?", name)
    if m:
        name = f"claude-{m[3]}-{m[1]}" + (f"-{m[2]}" if m[2] else "") + (m[4] or "")
    return name


def _estimate(chars) -> int:
    return math.ceil(chars / CHARS_PER_TOKEN) if type(chars) is int and chars > 0 else 0


def read_all(d: Path, pricer) -> tuple[list[UsageRecord], int, str | None]:
    db = Path(d, *DB)
    uri = "file:" + quote(os.path.abspath(db)) + "?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_MS / 1000)
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
            rows = conn.execute(_QUERY, (MAX_BUBBLES,)).fetchall()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return [], 0, f"cannot read {db}: {exc}"
    skipped = 0
    bubbles = []
    real: set[str] = set()
    models: dict[str, str] = {}
    for key, kind, created, i, o, model, text_len, ok in reversed(rows):  # oldest first
        parts = key.split(":", 2) if type(key) is str else []
        if len(parts) != 3 or not parts[1] or re.search(r"[\r\n\x00]", parts[1]):
            continue  # a tool call's row, not a conversation
        conv = parts[1]
        ts = parse_ts_ms(created) if type(created) is str else None
        if type(created) in (int, float) and math.isfinite(created):
            ts = int(created) if created > 1e11 else int(created * 1000)
        i, o = token_count(i or 0), token_count(o or 0)
        if not ok or None in (i, o) or max(i, o) > MAX_TOKENS or kind not in (1, 2):
            skipped += 1
            continue
        if ts is None:
            skipped += 1  # cannot be dated
            continue
        if i or o:
            real.add(conv)
        m = model_id(model)
        if m and conv not in models:
            models[conv] = m
        bubbles.append((key, conv, kind, ts, i, o, m, text_len))
    # the 180 days up to the newest bubble (deterministic: the same database gives the same rows)
    floor = max((b[3] for b in bubbles), default=0) - MAX_AGE_DAYS * 86_400_000
    out = []
    for key, conv, kind, ts, i, o, m, text_len in bubbles:
        if ts < floor:
            continue
        if conv not in real:
            i, o = (_estimate(text_len), 0) if kind == 1 else (0, _estimate(text_len))
        if not (i or o):
            continue
        model = m or models.get(conv)
        cost = pricer.cost_pico(model, i, o, 0, 0, 0) if model and pricer is not None else None
        out.append(UsageRecord(SOURCE, key, ts, model, i, o, 0, 0, 0, 0, None, conv, cost,
                               UNPRICED if cost is None else ESTIMATED, model_fallback=model is None,
                               token_label=TOKENS_ESTIMATED))
    return out, skipped, None


def where(extra: Sequence[str] = ()) -> tuple[list[str], str | None]:
    return [str(Path(d, *DB[:2])) for d in cursor_dirs(extra)], None


def _reader():
    from tokentui.sources.readers import SignedDatabase

    return SignedDatabase(where=where, locations=cursor_dirs, signature=signature, read_all=read_all, looked=looked)


READER = _reader()
