"""OpenClaw transcripts (spec/agents.md §1): JSONL files and the per-agent SQLite store.

One state dir holds ``agents/<agentId>/sessions/*.jsonl`` (plus ``.jsonl.reset.<ts>`` and
``.jsonl.deleted.<ts>`` archives and ``.checkpoint.<uuid>.jsonl`` pre-compaction twins) and,
in newer builds, ``agents/<agentId>/agent/openclaw-agent.sqlite`` (``transcript_events``:
one JSONL line per row). A record is an assistant ``message`` entry with a ``usage`` object;
its key is ``<session id>|<entry id>`` (``<session id>|@<entry timestamp>`` for version-1
entries without ids), so checkpoint twins, archives and re-reads collapse onto one row.
The SQLite store is read first and is canonical: a file whose session lives in it is the
pre-migration copy and is not read.

Read in two parts (:class:`~tokentui.sources.readers.Combined`): the transcripts by byte
cursor (:class:`~tokentui.sources.readers.JsonlLog`: only appended lines are read; a file's
session id, model and provider carry over in its cursor state; a renamed archive is read again
from its start and upserts the same keys), and each store from a watermark
(:class:`~tokentui.sources.readers.WatermarkDatabase`: per session the last ``seq`` read, with
the model last set in it). A copy of an entry already stored (a checkpoint twin, an archive,
a line written twice) is a duplicate: the first copy is kept.

Representation: ``input``/``output``/``cacheWrite``/``cacheRead`` as logged (``output``
includes thinking; no reasoning split); a negative ``input`` is clamped to 0; all four 0 with
``totalTokens`` > 0 counts the total as output. Time: ``message.timestamp`` (ms, request
start), else the entry ``timestamp``, else the row's ``created_at`` / the file's mtime.
Cost: OpenClaw's stored ``cost.total`` when > 0 (an estimate, kept as the logged cost),
else priced from tokens (``<model>``, then ``<provider>/<model>``).
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Sequence

from tokentui.core.records import ESTIMATED, UNPRICED, UsageRecord, to_pico
from tokentui.sources.common import (MAX_MS, MAX_TOKENS, MIN_MS, LocalFile, existing_dirs, is_under, loads, parse_ts_ms,
                                     real_roots, stat_signature, token_count, walk_files)

SOURCE = "openclaw"
ENV = ("OPENCLAW_STATE_DIR", "CLAWDBOT_STATE_DIR", "OPENCLAW_HOME")
DB_NAME = "openclaw-agent.sqlite"
MAX_COST_USD = 10**6  # a larger stored cost for one request is corrupt
_LEGACY_DIRS = (".clawdbot", ".moldbot", ".moltbot")
#: transcripts and the archives OpenClaw's own usage report counts (not ``.bak.``, not traces)
_TRANSCRIPT = re.compile(r"^(?!.*\.trajectory\.jsonl$).+\.jsonl(?:\.(?:reset|deleted)\.[^.]+(?:\.\d+Z)?)?$")
_ALIASES = {
    "input": ("input", "inputTokens", "input_tokens", "promptTokens", "prompt_tokens"),
    "output": ("output", "outputTokens", "output_tokens", "completionTokens", "completion_tokens"),
    "cacheRead": ("cacheRead", "cache_read", "cache_read_input_tokens", "cached_tokens"),
    "cacheWrite": ("cacheWrite", "cache_write", "cache_creation_input_tokens"),
    "total": ("totalTokens", "total", "total_tokens"),
}


def state_dirs(extra: Sequence[str] = ()) -> list[Path]:
    """``$OPENCLAW_STATE_DIR`` (legacy ``$CLAWDBOT_STATE_DIR``; comma list), else
    ``<home>/.openclaw`` if it exists, else the first of ``.clawdbot``, ``.moldbot``,
    ``.moltbot`` that exists (``<home>`` = ``$OPENCLAW_HOME`` or ``~``); plus ``extra``."""
    env = os.environ.get("OPENCLAW_STATE_DIR", "").strip() or os.environ.get("CLAWDBOT_STATE_DIR", "").strip()
    if env:
        cands = [p.strip() for p in env.split(",") if p.strip()]
    else:
        home = os.path.expanduser(os.environ.get("OPENCLAW_HOME", "").strip() or "~")
        cands = [os.path.join(home, ".openclaw")]
        if not os.path.isdir(cands[0]):
            cands = [next((os.path.join(home, d) for d in _LEGACY_DIRS if os.path.isdir(os.path.join(home, d))),
                          cands[0])]
    return existing_dirs(list(cands) + list(extra))


def looked(extra: Sequence[str] = ()) -> list[str]:
    """Every state folder tried, found or not (the legacy names too, without a state dir env)."""
    env = os.environ.get("OPENCLAW_STATE_DIR", "").strip() or os.environ.get("CLAWDBOT_STATE_DIR", "").strip()
    if env:
        cands = [p.strip() for p in env.split(",") if p.strip()]
    else:
        home = os.environ.get("OPENCLAW_HOME", "").strip() or "~"
        cands = [os.path.join(home, d) for d in (".openclaw", *_LEGACY_DIRS)]
    return [os.path.expanduser(c) for c in list(cands) + list(extra)]


def _databases(state: Path) -> list[Path]:
    """``agents/*/agent/openclaw-agent.sqlite`` that stay inside ``state``, sorted."""
    base = Path(state) / "agents"
    try:
        agents = sorted(os.listdir(base))
    except OSError:
        return []
    within = real_roots([state])
    out = []
    for a in agents:
        p = base / a / "agent" / DB_NAME
        if p.is_file() and is_under(os.path.realpath(p), within):
            out.append(p)
    return out


def _transcripts(state: Path, errors: list[str] | None = None) -> list[tuple[str, str]]:
    """``(agent id, path)`` of every transcript and archive under ``agents/*/sessions/``."""
    base = Path(state) / "agents"
    if not base.is_dir():
        return []
    out = []
    for path in walk_files(base, (".jsonl", "Z"), errors, max_depth=3, within=real_roots([state])):
        parts = Path(os.path.relpath(path, base)).parts
        if len(parts) == 3 and parts[1] == "sessions" and _TRANSCRIPT.match(parts[2]):
            out.append((parts[0], path))
    # primary transcripts first, then archives, then checkpoint twins (the first copy is kept)
    out.sort(key=lambda ap: (".checkpoint." in ap[1], ".jsonl." in os.path.basename(ap[1]), ap[1]))
    return out


def signature(state: Path) -> str:
    """Changes whenever a store (or its WAL) changes."""
    return stat_signature([p for db in _databases(state) for p in (str(db), f"{db}-wal")])


def _str(v) -> str | None:
    return v.strip() if type(v) is str and v.strip() else None


def price_candidates(model: str, provider: str | None) -> list[str]:
    cands = [model, re.sub(r"(\d)\.(\d)", r"\1-\2", model) if model.startswith("claude") else model]
    if provider:
        cands.append(f"{provider}/{model}")
    seen: set[str] = set()
    return [c for c in cands if not (c in seen or seen.add(c))]


_BAD = object()


def _usage(u: dict):
    """The four counts ``(input, output, cache write, cache read)``, or ``_BAD``."""
    got = {}
    for field, names in _ALIASES.items():
        val = 0
        for n in names:
            v = u.get(n)
            if v is None:
                continue
            if field == "input" and type(v) is int and v < 0:  # pre-subtracted OpenAI routes
                v = 0
            c = token_count(v)
            if c is None:
                return _BAD
            if c:  # a non-zero value wins over a zero one
                val = c
                break
        got[field] = val
    if not (got["input"] or got["output"] or got["cacheRead"] or got["cacheWrite"]):
        got["output"] = got["total"]  # only a total: counted as output (ccusage)
    if max(got.values()) > MAX_TOKENS:
        return _BAD
    return got["input"], got["output"], got["cacheWrite"], got["cacheRead"]


class _Session:
    """One session's parse: its id, the model and provider last set, the records kept."""

    def __init__(self, session: str | None, agent: str, fallback_ms: int | None, pricer,
                 seen: set[str], out: list[UsageRecord]) -> None:
        self.session = session
        self.agent = agent
        self.fallback_ms = fallback_ms if type(fallback_ms) is int and MIN_MS <= fallback_ms < MAX_MS else None
        self.pricer = pricer
        self.seen = seen
        self.out = out
        self.model: str | None = None
        self.provider: str | None = None
        self.skipped = 0
        self.duplicates = 0

    def entry(self, obj, fallback_ms: int | None = None) -> None:
        if type(obj) is not dict:
            self.skipped += 1
            return
        kind = obj.get("type")
        if kind == "session":
            self.session = self.session or _str(obj.get("id"))
            return
        if kind == "model_change" or (kind == "custom" and obj.get("customType") == "model-snapshot"):
            src = obj.get("data") if type(obj.get("data")) is dict and kind == "custom" else obj
            if kind == "model_change" and not _str(src.get("modelId")) and type(obj.get("data")) is dict:
                src = obj["data"]
            self.model = _str(src.get("modelId")) or self.model
            self.provider = _str(src.get("provider")) or self.provider
            return
        if kind != "message":
            return
        msg = obj.get("message")
        if type(msg) is not dict:
            self.skipped += 1
            return
        if msg.get("role") != "assistant" or "usage" not in msg:
            return
        usage = msg["usage"]
        if type(usage) is not dict:
            self.skipped += 1
            return
        counts = _usage(usage)
        if counts is _BAD:
            self.skipped += 1
            return
        inp, out, cw, cr = counts
        if not (inp or out or cw or cr):
            return
        ts = msg.get("timestamp")
        ts_ms = int(ts) if type(ts) in (int, float) and math.isfinite(ts) else None
        if ts_ms is None or not MIN_MS <= ts_ms < MAX_MS:
            entry_ts = obj.get("timestamp")
            ts_ms = parse_ts_ms(entry_ts) if type(entry_ts) is str else None
        if ts_ms is None:
            ts_ms = fallback_ms if fallback_ms is not None else self.fallback_ms
        eid = _str(obj.get("id"))
        if eid is None:
            entry_ts = _str(obj.get("timestamp"))
            eid = f"@{entry_ts}" if entry_ts else None
        model = _str(msg.get("model")) or self.model
        provider = _str(msg.get("provider")) or self.provider
        if ts_ms is None or eid is None or self.session is None:
            self.skipped += 1
            return
        key = f"{self.session}|{eid}"
        if key in self.seen:
            self.duplicates += 1
            return  # a copy (duplicate line, checkpoint twin, archive)
        self.seen.add(key)
        cost = usage.get("cost")
        total = cost.get("total") if type(cost) is dict else None
        logged = None
        if type(total) in (int, float) and math.isfinite(total) and 0 < total < MAX_COST_USD:
            logged = to_pico(total)
        priced = logged
        if priced is None and model is not None and self.pricer is not None:
            for c in price_candidates(model, provider):
                priced = self.pricer.cost_pico(c, inp, out, cw, 0, cr)
                if priced is not None:
                    break
        self.out.append(UsageRecord(SOURCE, key, ts_ms, model, inp, out, cw, 0, cr, 0, self.agent, self.session,
                                    priced, UNPRICED if priced is None else ESTIMATED, model_fallback=model is None,
                                    msg_id=key, logged_cost_pico=logged))


def _file_session(name: str) -> str:
    """The session id a transcript's name gives (up to ``.jsonl`` or ``.checkpoint.``)."""
    return name.split(".checkpoint.", 1)[0].split(".jsonl", 1)[0]


# --- the transcripts, by byte cursor ---------------------------------------------------------

def discover(extra: Sequence[str] = (), errors: list[str] | None = None) -> tuple[list[LocalFile], str | None]:
    """Every transcript and archive under ``agents/*/sessions/`` of each state dir: primary
    transcripts first, then archives, then checkpoint twins (the first copy is kept)."""
    files, seen = [], set()
    for state in state_dirs(extra):
        for agent, path in _transcripts(state, errors):
            real = os.path.realpath(path)
            if real in seen:
                continue
            seen.add(real)
            files.append(LocalFile(path, SOURCE, agent, _file_session(os.path.basename(path)),
                                   os.path.relpath(path, state)))
    return files, where(extra)[1]


def stores(files: Sequence[LocalFile]) -> list[str]:
    """``prepare``: the stores next to the transcripts (a transcript whose session lives in one
    is its pre-migration copy)."""
    dirs = {str(s) for s in state_dirs()} | {str(Path(f.path).parents[3]) for f in files}
    return sorted(str(db) for d in dirs for db in _databases(Path(d)))


def parse_lines(chunks, file: LocalFile, state: dict | None, ctx, row_of, mtime_ms: int = 0):
    """:data:`~tokentui.sources.readers.ParseLines`: dedupe items ``(key, key, False, total,
    False, row)``; the state keeps the session id and the model and provider last set."""
    from tokentui.sources import openclaw_store
    from tokentui.sources.readers import LinesParsed

    st = state or {}
    out: list[UsageRecord] = []
    s = _Session(st.get("session"), file.project or "main", mtime_ms or None, None, set(), out)
    s.model, s.provider = st.get("model"), st.get("provider")
    stores_of = ctx.shared.get(SOURCE) or ()
    skip = None
    for lines, _start in chunks:
        objs = []
        for raw in lines:
            if not raw.strip():
                continue
            try:
                objs.append(loads(raw))
            except ValueError:
                s.skipped += 1
        if s.session is None:
            header = next((o for o in objs if type(o) is dict and o.get("type") == "session"), None)
            s.session = (_str(header.get("id")) if header else None) or file.session
        if skip is None:  # the JSONL a store session was imported from
            skip = s.session in openclaw_store.store_sessions(stores_of)
        if skip:
            continue
        for obj in objs:
            s.entry(obj)
    items = []
    for r in out:
        row = row_of(r, False)
        if row is None:
            s.skipped += 1
        else:
            items.append((r.key, r.key, False, r.total, False, row))
    return LinesParsed(items, s.skipped, s.duplicates,
                       {"session": s.session, "model": s.model, "provider": s.provider})


def first_copy(items: Sequence[Sequence], kept: dict) -> tuple[dict[str, int], set[str], list[int]]:
    """The dedupe hook: an entry whose key is already stored (or earlier in this batch) is a
    copy; the first one is kept."""
    upsert: dict[str, int] = {}
    dups: list[int] = []
    for i, e in enumerate(items):
        key = e[0]
        if key in upsert or kept.get(key):
            dups.append(i)
            continue
        upsert[key] = i
        kept[key] = [key]
    return upsert, set(), dups


def _kept(key: str, *_ignored) -> str:
    return key


def where(extra: Sequence[str] = ()) -> tuple[list[str], str | None]:
    found = state_dirs(extra)
    env = os.environ.get("OPENCLAW_STATE_DIR", "").strip() or os.environ.get("CLAWDBOT_STATE_DIR", "").strip()
    return [str(d) for d in found], (f"no existing OpenClaw state directory in OPENCLAW_STATE_DIR ({env})"
                                     if env and not found else None)


def _reader():
    from tokentui.sources import openclaw_store as store
    from tokentui.sources.readers import Combined, Dedupe, JsonlLog, WatermarkDatabase

    return Combined((JsonlLog(where=where, discover=discover, parse=parse_lines, dedupe=Dedupe(first_copy, _kept),
                              prepare=stores, looked=looked),
                     WatermarkDatabase(where=store.where, locations=store.store_dirs, signature=signature,
                                       read_since=store.read_since)))


READER = _reader()
