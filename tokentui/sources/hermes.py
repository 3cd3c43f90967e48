"""Hermes Agent (Nous Research) sessions (spec/agents.md §12): running totals per session, so
tokens are estimates.

``$HERMES_HOME`` (comma list; each home's ``state.db`` only) else ``~/.hermes``: ``state.db`` and each
profile's ``profiles/<name>/state.db`` (ccusage reads the same). SQLite, opened read-only
(``mode=ro``, busy timeout: Hermes writes it in WAL mode). A session id found in two databases (a
copied profile) counts once: the first database read wins.

A session is a ``sessions`` row with a model. Hermes adds each API call's counts to the row (or,
on the gateway, sets the running totals), so a row holds its session's sums; context compression
starts a new row (``parent_session_id``) that holds only its own segment. Mapping (Hermes' own
``update_token_counts``; whether input includes the cache and reasoning is inside output is not
documented — this follows ccusage): input = ``input_tokens``, cache read / write =
``cache_read_tokens`` / ``cache_write_tokens``, reasoning = ``reasoning_tokens``, output =
``output_tokens`` + reasoning. Cost: ``actual_cost_usd`` (the provider's amount) when above 0,
else ``estimated_cost_usd`` (Hermes' estimate) when above 0, else the tokens are priced (a recorded
0 is a subscription, not free). The first time a session is seen it is dated at ``started_at``;
after that its increases are dated at its last message's ``timestamp`` (else ``ended_at``, else when
they were read): see :mod:`tokentui.core.session_totals`. Project: the ``cwd`` folder's name
(newer Hermes), else none.
"""

from __future__ import annotations

import math
import os
import sqlite3
import time
from pathlib import Path
from typing import Sequence
from urllib.parse import quote

from tokentui.core.records import MAX_TS_MS, MIN_TS_MS, to_pico
from tokentui.core.session_totals import SessionTotal
from tokentui.sources.common import MAX_TOKENS, existing_dirs, stat_signature, token_count

SOURCE = "hermes"
ENV = ("HERMES_HOME",)
DB = "state.db"
MAX_ROWS = 1_000_000
MAX_COST_USD = 10**7
BUSY_MS = 2000


def _env_list() -> list[str]:
    v = os.environ.get("HERMES_HOME", "").strip()
    return [p.strip() for p in v.split(",") if p.strip()]


def looked(extra: Sequence[str] = ()) -> list[str]:
    """Every Hermes home tried, found or not."""
    return list(dict.fromkeys(os.path.expanduser(p) for p in (_env_list() or ["~/.hermes"]) + list(extra)))


def homes(extra: Sequence[str] = ()) -> list[Path]:
    """Hermes homes holding a ``state.db`` (or a profile's): ``$HERMES_HOME`` else ``~/.hermes``, plus ``extra``."""
    return [h for h in existing_dirs((_env_list() or ["~/.hermes"]) + list(extra)) if databases(h)]


def databases(home: Path) -> list[Path]:
    """``state.db`` and, when the home is not named by ``$HERMES_HOME``, ``profiles/*/state.db``."""
    out = [Path(home) / DB] if (Path(home) / DB).is_file() else []
    if not _env_list() or os.path.realpath(home) not in {os.path.realpath(os.path.expanduser(p))
                                                        for p in _env_list()}:
        try:
            names = sorted(os.listdir(Path(home) / "profiles"))
        except OSError:
            names = []
        out += [Path(home) / "profiles" / n / DB for n in names if (Path(home) / "profiles" / n / DB).is_file()]
    return out


def signature(home: Path) -> str:
    return stat_signature([p for db in databases(home) for p in (str(db), f"{db}-wal")])


def _ms(v) -> int | None:
    if type(v) not in (int, float) or not math.isfinite(v):
        return None
    ms = int(v) if v > 1e12 else int(v * 1000)
    return ms if MIN_TS_MS <= ms < MAX_TS_MS else None


def _cost(v) -> int | None:
    return to_pico(repr(float(v))) if type(v) in (int, float) and math.isfinite(v) and 0 < v < MAX_COST_USD else None


def _read_db(db: Path):
    uri = "file:" + quote(os.path.abspath(db)) + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=BUSY_MS / 1000)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
        cols = {r[1] for r in conn.execute("PRAGMA table_info(sessions)")}
        want = ["id", "model", "started_at", "ended_at", "input_tokens", "output_tokens", "cache_read_tokens",
                "cache_write_tokens", "reasoning_tokens", "estimated_cost_usd", "actual_cost_usd", "cwd"]
        sel = ", ".join(c if c in cols else "NULL" for c in want)
        rows = conn.execute(f"SELECT {sel} FROM sessions WHERE model IS NOT NULL AND TRIM(model) != '' "
                            f"ORDER BY rowid LIMIT {MAX_ROWS}").fetchall()
        try:
            last = dict(conn.execute("SELECT session_id, MAX(timestamp) FROM messages GROUP BY session_id"))
        except sqlite3.Error:
            last = {}
        return rows, last
    finally:
        conn.close()


def read(home: Path, watermark) -> tuple[list[SessionTotal], int, str | None, object]:
    """Every session of the home's databases (Hermes keeps no update time to read from: the
    signature decides when to read, the kept snapshots what is new)."""
    out: list[SessionTotal] = []
    skipped = 0
    problems = []
    seen: set[str] = set()
    now = int(time.time() * 1000)
    for db in databases(home):
        try:
            rows, last = _read_db(db)
        except sqlite3.Error as exc:
            problems.append(f"cannot read {db}: {exc}")
            continue
        for sid, model, started, ended, i, o, cr, cw, reas, est, actual, cwd in rows:
            counts = [token_count(v if v is not None else 0) for v in (i, o, cr, cw, reas)]
            start = _ms(started)
            if (type(sid) is not str or not sid or type(model) is not str or start is None or None in counts
                    or max(counts) > MAX_TOKENS):
                skipped += 1
                continue
            if sid in seen:
                continue  # the same session in another profile's database
            seen.add(sid)
            i, o, cr, cw, reas = counts
            observed = _ms(last.get(sid)) or _ms(ended) or now
            cost = _cost(actual) or _cost(est)
            project = os.path.basename(cwd.rstrip("/\\")) if type(cwd) is str and cwd.strip("/\\") else None
            out.append(SessionTotal(sid, start, max(observed, start), model.strip(), i, o + reas, cw, cr, reas,
                                    cost, project))
    return out, skipped, "; ".join(problems) or None, None


def where(extra: Sequence[str] = ()) -> tuple[list[str], str | None]:
    found = homes(extra)
    env = os.environ.get("HERMES_HOME", "").strip()
    return [str(h) for h in found], (f"no Hermes state.db in HERMES_HOME ({env})" if env and not found else None)


def _reader():
    from tokentui.sources.readers import SessionTotals

    return SessionTotals(where=where, locations=homes, signature=signature, read=read, looked=looked)


READER = _reader()
