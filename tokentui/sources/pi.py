"""pi (pi-coding-agent) and Oh My Pi sessions (spec/agents.md §6): append-only JSONL, read by byte cursor.

``<agent dir>/sessions/--<cwd, / replaced by ->--/<start time>_<session uuid>.jsonl``; the agent dir
is ``$PI_CODING_AGENT_DIR`` else ``~/.pi/agent`` for pi, ``$OMP_CODING_AGENT_DIR`` else
``~/.omp/agent`` for Oh My Pi (same schema; its sub-agents write
``sessions/<cwd>/<session>/<agent>.jsonl``; the variable follows pi's ``<APPNAME>_CODING_AGENT_DIR``
rule, not verified for omp), and ccusage's ``$PI_AGENT_DIR`` names a ``sessions``
folder itself. A record is an assistant ``message`` entry with a ``usage`` object.

Key: ``<entry id>@<message.timestamp>``, global: a branched or forked session copies the path's
entries (same ids and request times) into a new file, so copies collapse onto one row, the copy
read first keeping its session (every reference reader counts them again). Version-1 entries have no id: ``<session id>@<entry
timestamp>``.

Counts: ``input``, ``output`` (thinking included), ``cacheWrite``, ``cacheRead`` as logged; a
negative ``input`` is 0. On pi-ai's Google path ``input`` includes the cache read: when
``cacheRead`` > 0 and ``totalTokens`` = ``input`` + ``output``, the cache read is subtracted
from input (and pi's stored cost, which priced the cache at the input rate, is not used). Time:
the entry's ``timestamp`` (all reference readers; ``message.timestamp`` is the request start).
Model ``message.model``, else the session's last ``model_change``. Cost: pi's stored
``cost.total`` (its own estimate) when > 0, else the tokens are priced.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Sequence

from tokentui.core.records import ESTIMATED, UNPRICED, UsageRecord, to_pico
from tokentui.sources.common import (MAX_TOKENS, LocalFile, existing_dirs, parse_ts_ms, real_roots,
                                     walk_files)
from tokentui.sources.common import INVALID as _BAD
from tokentui.sources.common import optional_count as _count

SOURCE = "pi"
ENV = ("PI_CODING_AGENT_DIR", "OMP_CODING_AGENT_DIR", "PI_AGENT_DIR")
MAX_COST_USD = 10**6  # a larger stored cost for one request is corrupt


def _env_list(name: str) -> list[str]:
    v = os.environ.get(name, "").strip()
    return [p.strip() for p in v.split(",") if p.strip()]


def looked(extra: Sequence[str] = ()) -> list[str]:
    """Every ``sessions`` folder tried, found or not."""
    cands = [os.path.join(os.path.expanduser(d), "sessions")
             for name, default in (("PI_CODING_AGENT_DIR", "~/.pi/agent"), ("OMP_CODING_AGENT_DIR", "~/.omp/agent"))
             for d in (_env_list(name) or [default])]
    cands += [os.path.expanduser(p) for p in [*_env_list("PI_AGENT_DIR"), *extra]]
    return list(dict.fromkeys(cands))


def session_dirs(extra: Sequence[str] = ()) -> tuple[list[Path], str | None]:
    """The ``sessions`` folders read: ``$PI_CODING_AGENT_DIR/sessions`` (else ``~/.pi/agent``),
    ``$OMP_CODING_AGENT_DIR/sessions`` (else ``~/.omp/agent``), ``$PI_AGENT_DIR`` (ccusage's: the
    sessions folder itself; comma list), plus ``extra`` (an agent dir or a sessions folder)."""
    problems = []
    cands: list[str] = []
    for name, default in (("PI_CODING_AGENT_DIR", "~/.pi/agent"), ("OMP_CODING_AGENT_DIR", "~/.omp/agent")):
        env = _env_list(name)
        got = existing_dirs(env or [default])
        if env and not got:
            problems.append(f"no existing pi agent directory in {name} ({os.environ[name].strip()})")
        cands += [str(d / "sessions") for d in got]
    direct = _env_list("PI_AGENT_DIR")
    if direct and not existing_dirs(direct):
        problems.append(f"no existing pi sessions directory in PI_AGENT_DIR ({os.environ['PI_AGENT_DIR'].strip()})")
    cands += direct
    for e in extra:
        p = Path(os.path.expanduser(e))
        cands.append(str(p if p.name == "sessions" or not (p / "sessions").is_dir() else p / "sessions"))
    return existing_dirs(cands), ("; ".join(problems) or None)


def _session_of(name: str) -> str:
    """``2026-11-20T09-00-00-000Z_<uuid>.jsonl`` → ``<uuid>``."""
    stem = name[:-6] if name.endswith(".jsonl") else name
    return stem.split("_", 1)[1] if "_" in stem else stem


def discover(extra: Sequence[str] = (), errors: list[str] | None = None) -> tuple[list[LocalFile], str | None]:
    """``sessions/<cwd folder>/*.jsonl`` (and files directly in ``sessions/``), plus Oh My Pi's
    sub-agent transcripts ``sessions/<cwd folder>/<session>/<agent>.jsonl``; sorted by path. Links
    are followed only while they stay under the folders read."""
    bases, problem = session_dirs(extra)
    within = real_roots(bases)
    files, seen = [], set()
    for base in bases:
        for path in walk_files(base, (".jsonl",), errors, max_depth=2, within=within):
            parts = Path(os.path.relpath(path, base)).parts
            real = os.path.realpath(path)
            if real in seen:
                continue
            seen.add(real)
            folder = parts[0] if len(parts) >= 2 else None
            project = folder.strip("-").rsplit("-", 1)[-1] or None if folder else None
            files.append(LocalFile(path, SOURCE, project, _session_of(parts[-1]), "/".join(parts)))
    files.sort(key=lambda f: f.path)
    return files, problem


def _str(v) -> str | None:
    return v.strip() if type(v) is str and v.strip() else None


class _Parser:
    def __init__(self, file: LocalFile, state: dict | None) -> None:
        st = state or {}
        self.file = file
        self.session = _str(st.get("session")) or file.session
        self.project = _str(st.get("project")) or file.project
        self.model = _str(st.get("model"))
        self.skipped = 0
        self.duplicates = 0
        self.seen: set[str] = set()

    def state(self) -> dict:
        return {k: v for k, v in (("session", self.session), ("project", self.project), ("model", self.model)) if v}

    def entry(self, obj) -> UsageRecord | None:
        if type(obj) is not dict:
            self.skipped += 1
            return None
        kind = obj.get("type")
        if kind == "session":
            self.session = _str(obj.get("id")) or self.session
            cwd = _str(obj.get("cwd"))
            if cwd:
                self.project = os.path.basename(cwd.rstrip("/\\")) or self.project
            return None
        if kind == "model_change":
            self.model = _str(obj.get("modelId")) or _str(obj.get("model")) or self.model
            return None
        if kind != "message":
            return None
        msg = obj.get("message")
        if type(msg) is not dict:
            self.skipped += 1
            return None
        if msg.get("role") != "assistant" or "usage" not in msg:
            return None
        u = msg["usage"]
        if type(u) is not dict:
            self.skipped += 1
            return None
        raw_in = u.get("input")
        if type(raw_in) is int and raw_in < 0:
            raw_in = 0  # pre-subtracted OpenAI-compatible routes
        inp, out, cw, cr, total = (_count(v) for v in (raw_in, u.get("output"), u.get("cacheWrite"),
                                                         u.get("cacheRead"), u.get("totalTokens")))
        if _BAD in (inp, out, cw, cr, total) or max(inp, out, cw, cr) > MAX_TOKENS:
            self.skipped += 1
            return None
        google = cr > 0 and total == inp + out and inp >= cr
        if google:
            inp -= cr  # the Google path: input includes the cache read
        if not (inp or out or cw or cr):
            if not total:
                return None
            out = total  # only a total: counted as output
        ts_ms = parse_ts_ms(obj["timestamp"]) if type(obj.get("timestamp")) is str else None
        req = msg.get("timestamp")
        eid = _str(obj.get("id"))
        if eid is not None and type(req) in (int, float) and math.isfinite(req):
            key = f"{eid}@{int(req)}"
        elif eid is not None:
            key = f"{self.session}|{eid}"
        else:
            key = f"{self.session}@{_str(obj.get('timestamp'))}" if _str(obj.get("timestamp")) else None
        model = _str(msg.get("model")) or self.model
        if ts_ms is None or key is None or self.session is None:
            self.skipped += 1
            return None
        if key in self.seen:
            self.duplicates += 1
            return None
        self.seen.add(key)
        cost = u.get("cost")
        stored = cost.get("total") if type(cost) is dict else None
        logged = None
        if not google and type(stored) in (int, float) and math.isfinite(stored) and 0 < stored < MAX_COST_USD:
            logged = to_pico(stored)
        return UsageRecord(SOURCE, key, ts_ms, model, inp, out, cw, 0, cr, 0, self.project, self.session,
                           logged, UNPRICED if logged is None else ESTIMATED, model_fallback=model is None,
                           logged_cost_pico=logged, msg_id=key)


def parse_lines(chunks, file: LocalFile, state: dict | None, ctx, row_of, mtime_ms: int = 0):
    """:data:`~tokentui.sources.readers.ParseLines`: rows keyed globally (see the module); the
    state keeps the session, its folder and the last model across appends."""
    from tokentui.sources.readers import LinesParsed, first_copy_item, json_line_rows

    p = _Parser(file, state)
    rows, bad = json_line_rows(chunks, p.entry, row_of, first_copy_item)
    return LinesParsed(rows, p.skipped + bad, p.duplicates, p.state())


def where(extra: Sequence[str] = ()) -> tuple[list[str], str | None]:
    found, problem = session_dirs(extra)
    return [str(d) for d in found], problem


def _reader():
    from tokentui.sources.readers import FIRST_COPY, JsonlLog

    return JsonlLog(where=where, discover=discover, parse=parse_lines, dedupe=FIRST_COPY, looked=looked)


READER = _reader()
