"""OpenCode messages (spec/local-logs.md §5): the SQLite store (≥ v1.2) and legacy JSON files.

Pure reading: :func:`read_all` returns every usage record of one data dir; the key is the
message id, so re-reading everything on each sync is idempotent (the store upserts).
:func:`signature` lets the ingest skip a data dir whose files did not change.

Representation: ``input`` = ``tokens.input``, ``output`` = ``tokens.output`` +
``tokens.reasoning`` (OpenCode's ``output`` excludes reasoning; tokentop's output includes it
for every source, and it is priced at the output rate, as tokscale does; ccusage drops it),
``reasoning`` = ``tokens.reasoning``, ``cache_write_5m`` = ``tokens.cache.write``,
``cache_read`` = ``tokens.cache.read``.
Cost: OpenCode's stored ``cost`` when > 0 (also kept in ``logged_cost_pico``), else priced.
"""

from __future__ import annotations

import math
import os
import re
import sqlite3
from pathlib import Path
from typing import Sequence
from urllib.parse import quote

from tokentui.core.records import ESTIMATED, UNPRICED, UsageRecord, to_pico
from tokentui.sources.common import INVALID as _BAD
from tokentui.sources.common import MAX_MS, MIN_MS, existing_dirs, is_under, loads, real_roots, stat_signature, walk_files
from tokentui.sources.common import optional_count as _count

SOURCE = "opencode"
#: per-field cap: more tokens than this in one message is corrupt data (keeps costs in int64)
MAX_COST_USD = 10**6  # a larger stored cost for one message is corrupt
MAX_FILE = 64 << 20  # legacy message files larger than this are not read
_CHANNEL_DB = re.compile(r"^opencode-[A-Za-z0-9_-]+\.db$")
_ALIASES = {"k2p6": "kimi-k2.6", "gemini-3-pro-high": "gemini-3-pro-preview"}
SKIP = object()  # message_record() result for a corrupt message


def data_dirs(extra: Sequence[str] = ()) -> list[Path]:
    """OpenCode data dirs that exist: ``OPENCODE_DATA_DIR`` (comma list) or else
    ``${XDG_DATA_HOME:-~/.local/share}/opencode``, plus ``extra`` dirs from config."""
    return existing_dirs(_candidates(extra))


def _candidates(extra: Sequence[str] = ()) -> list[str]:
    env = os.environ.get("OPENCODE_DATA_DIR", "").strip()
    if env:
        cands = [p.strip() for p in env.split(",") if p.strip()]
    else:
        xdg = os.environ.get("XDG_DATA_HOME", "").strip() or "~/.local/share"
        cands = [os.path.join(xdg, "opencode")]
    return list(cands) + list(extra)


def looked(extra: Sequence[str] = ()) -> list[str]:
    """Every OpenCode data folder tried, found or not."""
    return [os.path.expanduser(c) for c in _candidates(extra)]


def db_files(data_dir: Path) -> list[Path]:
    """``opencode.db`` first, then ``opencode-<channel>.db`` sorted (``-wal``/``-shm`` ignored).
    A database that is a link to a file outside ``data_dir`` is not read."""
    data_dir = Path(data_dir)
    try:
        names = sorted(n for n in os.listdir(data_dir) if _CHANNEL_DB.match(n))
    except OSError:
        names = []
    within = real_roots([data_dir])
    return [data_dir / n for n in ["opencode.db"] + names
            if (data_dir / n).is_file() and is_under(os.path.realpath(data_dir / n), within)]


def _legacy_files(data_dir: Path) -> list[str]:
    """Legacy message files; links are followed only while they stay under ``data_dir``."""
    base = Path(data_dir) / "storage" / "message"
    return sorted(walk_files(base, (".json",), within=real_roots([data_dir]))) if base.is_dir() else []


def signature(data_dir: Path) -> str:
    """Changes whenever a database (or its WAL) or a legacy message file changes."""
    return stat_signature((p for db in db_files(data_dir) for p in (str(db), f"{db}-wal")), _legacy_files(data_dir))


def _str(v) -> str | None:
    """A non-blank string that UTF-8 can encode (a lone surrogate cannot be stored), else None."""
    if type(v) is not str or not v.strip():
        return None
    try:
        v.encode()
    except UnicodeEncodeError:
        return None
    return v.strip()


def price_candidates(model: str, provider: str | None = None) -> list[str]:
    """Names tried in the price table: the model, its alias / dotted-version normalisation
    (``claude-sonnet-4.5`` → ``claude-sonnet-4-5``), then ``<provider>/<model>``."""
    cands = [model, _ALIASES.get(model, model), re.sub(r"(\d)\.(\d)", r"\1-\2", model)]
    if provider:
        cands.append(f"{provider}/{model}")
    seen: set[str] = set()
    return [c for c in cands if not (c in seen or seen.add(c))]


def cost_pico(pricer, model: str, provider: str | None, inp: int, out: int, cw: int, cr: int) -> int | None:
    """Cost of one message priced through :func:`price_candidates`, or None when unpriced."""
    if pricer is None:
        return None
    for c in price_candidates(model, provider):
        cost = pricer.cost_pico(c, inp, out, cw, 0, cr)
        if cost is not None:
            return cost
    return None


def message_record(obj, msg_id: str | None, session: str | None, pricer) -> UsageRecord | None | object:
    """One message JSON to a record; None when it carries no usage, ``SKIP`` when it is corrupt."""
    if type(obj) is not dict:
        return SKIP
    tokens = obj.get("tokens")
    if tokens is None:
        return None  # user message / still streaming
    if type(tokens) is not dict:
        return SKIP
    cache = tokens.get("cache")
    if cache is not None and type(cache) is not dict:
        return SKIP
    cache = cache or {}
    inp, out = _count(tokens.get("input")), _count(tokens.get("output"))
    cr, cw = _count(cache.get("read")), _count(cache.get("write"))
    reas = _count(tokens.get("reasoning"))
    if _BAD in (inp, out, cr, cw, reas):
        return SKIP
    out += reas  # output includes reasoning (module docstring)
    if not (inp or out or cr or cw):
        return None
    model, provider = _str(obj.get("modelID")), _str(obj.get("providerID"))
    msg_id = msg_id or _str(obj.get("id"))
    if model is None or provider is None or msg_id is None:
        return SKIP
    t = obj.get("time")
    created = t.get("created") if type(t) is dict else None
    if type(created) is float and created.is_integer():
        created = int(created)
    if type(created) is not int or not MIN_MS <= created < MAX_MS:
        return SKIP
    session = session or _str(obj.get("sessionID"))
    path = obj.get("path")
    project = (_str(path.get("root")) or _str(path.get("cwd"))) if type(path) is dict else None
    stored = obj.get("cost")
    logged = None
    if type(stored) in (int, float) and math.isfinite(stored) and 0 < stored < MAX_COST_USD:
        logged = to_pico(stored)
    cost = logged if logged is not None else cost_pico(pricer, model, provider, inp, out, cw, cr)
    return UsageRecord(SOURCE, msg_id, created, model, inp, out, cw, 0, cr, reas, project, session, cost,
                       UNPRICED if cost is None else ESTIMATED, msg_id=msg_id, logged_cost_pico=logged)


def _db_rows(db: Path):
    """``(id, session_id, data)`` rows of one database, opened read-only."""
    uri = "file:" + quote(os.path.abspath(db)) + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=2.0)
    try:
        yield from conn.execute("SELECT id, session_id, data FROM message")
    finally:
        conn.close()


def read_all(data_dir: Path, pricer) -> tuple[list[UsageRecord], int, str | None]:
    """All usage records of one OpenCode data dir, the number of corrupt messages skipped,
    and a problem message (unreadable database) or None.

    Database rows come first; a legacy ``storage/message/<session>/<msg>.json`` whose id was
    already seen (in any database row) is skipped. Never raises on bad data.
    """
    records: list[UsageRecord] = []
    seen: set[str] = set()
    skipped = 0
    problems: list[str] = []

    def take(obj, mid, session) -> None:
        nonlocal skipped
        r = message_record(obj, mid, session, pricer)
        if r is SKIP:
            skipped += 1
        elif r is not None:
            records.append(r)

    for db in db_files(data_dir):
        try:
            for mid, session, data in _db_rows(db):
                if type(mid) is not str or not mid:
                    skipped += 1
                    continue
                if mid in seen:  # the same message in another channel's database
                    continue
                seen.add(mid)
                try:
                    obj = loads(data) if type(data) in (str, bytes) else _BAD
                except ValueError:
                    obj = _BAD
                if obj is _BAD:
                    skipped += 1
                    continue
                take(obj, mid, session if type(session) is str and session else None)
        except sqlite3.Error as exc:
            problems.append(f"cannot read {db}: {exc}")
    for path in _legacy_files(data_dir):
        try:
            if os.path.getsize(path) > MAX_FILE:
                skipped += 1
                continue
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError:
            continue  # vanished or unreadable
        try:
            obj = loads(data)
        except ValueError:
            skipped += 1
            continue
        p = Path(path)
        mid = (_str(obj.get("id")) if type(obj) is dict else None) or p.stem
        if mid in seen:
            continue
        seen.add(mid)
        take(obj, mid, (_str(obj.get("sessionID")) if type(obj) is dict else None) or p.parent.name)
    return records, skipped, "; ".join(problems) or None


def where(extra: Sequence[str] = ()) -> tuple[list[str], str | None]:
    return [str(d) for d in data_dirs(extra)], None


def _reader():
    from tokentui.sources.readers import SignedDatabase

    return SignedDatabase(where=where, locations=data_dirs, signature=signature, read_all=read_all, looked=looked)


READER = _reader()
