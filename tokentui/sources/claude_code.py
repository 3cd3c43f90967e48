"""Claude Code transcripts (spec/local-logs.md §2): discovery, line validation, dedupe rules.

Pure parsing: no store, no UI. The ingest service feeds appended bytes to :class:`ClaudeParser`
and resolves duplicates against stored entries with :func:`resolve_duplicates`.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from tokentui.core.records import ESTIMATED, UNPRICED, UsageRecord, storable_cost, to_pico
from tokentui.sources.common import LocalFile, loads, parse_ts_ms, token_count, walk_files

SOURCE = "claude-code"
SYNTHETIC = "<synthetic>"

# ccusage drops a usage line when any of these keys is literally null anywhere in it (§2.3)
_NULL_KEYS = re.compile(rb'"(?:id|cwd|model|speed|costUSD|version|sessionId|requestId|isApiErrorMessage|'
                        rb'cache_read_input_tokens|cache_creation_input_tokens)":null')
_TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{3})?(?:Z|[+-]\d{2}:\d{2})$")
_VERSION = re.compile(r"^\d+\.\d+\.\d+")
_USAGE_MARK = b'"usage":{'


def roots(extra: Sequence[str] = ()) -> tuple[list[Path], str | None]:
    """Claude config roots that have a ``projects/`` dir, and a problem message if none.

    ``CLAUDE_CONFIG_DIR`` (comma list) replaces the defaults ``$XDG_CONFIG_HOME/claude`` (or
    ``~/.config/claude``) and ``~/.claude``; ``extra`` roots from config are added.
    """
    env = os.environ.get("CLAUDE_CONFIG_DIR")
    if env is not None and env.strip():
        cands = [Path(os.path.expanduser(p.strip())) for p in env.split(",") if p.strip()]
        from_env = True
    else:
        xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
        cands = [Path(xdg) / "claude", Path(os.path.expanduser("~/.claude"))]
        from_env = False
    cands += [Path(os.path.expanduser(p)) for p in extra]
    found: list[Path] = []
    seen: set[str] = set()
    for c in cands:
        if c.name == "projects" and c.is_dir():
            c = c.parent
        if (c / "projects").is_dir():
            real = os.path.realpath(c)
            if real not in seen:
                seen.add(real)
                found.append(c)
    problem = None
    if from_env and not found:
        problem = f"no valid Claude data directory in CLAUDE_CONFIG_DIR ({env}): none has a projects/ folder"
    return found, problem


def discover(extra: Sequence[str] = (), errors: list[str] | None = None) -> tuple[list[LocalFile], str | None]:
    """Every ``*.jsonl`` under ``<root>/projects/`` of each root, sorted by path."""
    rts, problem = roots(extra)
    files: list[LocalFile] = []
    for root in rts:
        proj = root / "projects"
        for path in walk_files(proj, (".jsonl",), errors):
            rel = Path(path).relative_to(proj).parts
            if len(rel) < 2:
                continue
            project = rel[0]
            if len(rel) == 2:
                session = Path(rel[1]).stem
            elif rel[-2] == "subagents" and len(rel) >= 4:
                session = rel[-3]
            else:
                session = rel[-2]
            files.append(LocalFile(path, SOURCE, project, session, "/".join(rel)))
    files.sort(key=lambda f: f.path)
    return files, problem


@dataclass(slots=True)
class ClaudeEntry:
    record: UsageRecord
    req_id: str | None
    has_speed: bool


def _int(v) -> int | None:
    return token_count(v)


class ClaudeParser:
    """Turns Claude Code transcript lines into entries (validation of §2.3)."""

    def __init__(self, file: LocalFile, pricer, mode: str = "auto") -> None:
        self.file = file
        self.pricer = pricer
        self.mode = mode
        self.skipped = 0
        self._ts: tuple[str | None, int | None] = (None, None)  # streamed copies share a timestamp: parse once

    def feed(self, lines: Iterable[bytes]) -> list[ClaudeEntry]:
        out: list[ClaudeEntry] = []
        for line in lines:
            if _USAGE_MARK not in line:
                continue
            e = self._entry(line)
            if e is None:
                self.skipped += 1
            else:
                out.append(e)
        return out

    def _entry(self, line: bytes) -> ClaudeEntry | None:
        if _NULL_KEYS.search(line):
            return None
        try:
            obj = loads(line)
        except ValueError:
            return None
        if type(obj) is not dict:
            return None
        msg = obj.get("message")
        if type(msg) is not dict:
            return None
        usage = msg.get("usage")
        if type(usage) is not dict:
            return None
        ts = obj.get("timestamp")
        if ts == self._ts[0]:
            ts_ms = self._ts[1]
        else:
            if type(ts) is not str or not _TS.match(ts):
                return None
            ts_ms = parse_ts_ms(ts)
            self._ts = (ts, ts_ms)
        inp, out = _int(usage.get("input_tokens")), _int(usage.get("output_tokens"))
        if ts_ms is None or inp is None or out is None:
            return None
        version = obj.get("version")
        if version is not None and (type(version) is not str or not _VERSION.match(version)):
            return None
        msg_id, req_id, model = msg.get("id"), obj.get("requestId"), msg.get("model")
        for v in (obj.get("sessionId"), req_id, msg_id, model):
            if v is not None and (type(v) is not str or not v):
                return None
        cc = usage.get("cache_creation")
        if type(cc) is dict:
            c5 = _int(cc.get("ephemeral_5m_input_tokens", 0))
            c1 = _int(cc.get("ephemeral_1h_input_tokens", 0))
        else:
            c5 = _int(usage.get("cache_creation_input_tokens", 0))
            c1 = 0
        cr = _int(usage.get("cache_read_input_tokens", 0))
        if c5 is None or c1 is None or cr is None:
            return None
        if model == SYNTHETIC:
            model = None
        f = self.file
        if msg_id is not None:
            key = f"{msg_id}|{req_id or ''}"
        else:
            key = "line:" + hashlib.sha1(f.rel.encode() + b"\0" + line).hexdigest()
        logged = obj.get("costUSD")
        logged_pico = storable_cost(to_pico(logged)) if type(logged) in (int, float) and logged >= 0 else None
        if logged_pico is not None and self.mode == "auto":
            cost, label = logged_pico, ESTIMATED
        elif model is None:
            zero = inp + out + c5 + c1 + cr == 0
            cost, label = (0, ESTIMATED) if zero else (None, UNPRICED)
        else:
            cost = self.pricer.cost_pico(model, inp, out, c5, c1, cr)
            label = UNPRICED if cost is None else ESTIMATED
        rec = UsageRecord(SOURCE, key, ts_ms, model, inp, out, c5, c1, cr, 0, f.project, f.session, cost, label,
                          msg_id=msg_id, sidechain=obj.get("isSidechain") is True, logged_cost_pico=logged_pico)
        return ClaudeEntry(rec, req_id, usage.get("speed") is not None)


@dataclass(slots=True)
class Kept:
    key: str
    sidechain: bool
    total: int
    has_speed: bool


def resolve_duplicates(new: Sequence[ClaudeEntry], kept: dict[str, list[Kept]]
                       ) -> tuple[dict[str, ClaudeEntry], set[str], list[int]]:
    """Apply the §2.4 dedupe rules to ``new`` entries (in path, line order).

    ``kept`` maps message id → entries already stored (updated in place). Returns the entries
    to upsert by key, the stored keys to delete, and the indices (into ``new``) of the
    entries that were duplicates of another.
    """
    upsert: dict[str, ClaudeEntry] = {}
    delete: set[str] = set()
    dups: list[int] = []
    for i, e in enumerate(new):
        r = e.record
        if r.msg_id is None:
            if r.key in upsert:
                dups.append(i)
            upsert[r.key] = e
            continue
        group = kept.setdefault(r.msg_id, [])
        match = None
        for k in group:
            if k.key == r.key:
                match = k
                break
        if match is None:
            for k in group:
                if k.sidechain or r.sidechain:
                    match = k
                    break
        total = r.total
        if match is None:
            group.append(Kept(r.key, r.sidechain, total, e.has_speed))
            upsert[r.key] = e
            continue
        dups.append(i)
        if match.sidechain != r.sidechain:
            replace = match.sidechain
        elif total != match.total:
            replace = total > match.total
        else:
            replace = e.has_speed and not match.has_speed
        if replace:
            group.remove(match)
            group.append(Kept(r.key, r.sidechain, total, e.has_speed))
            if match.key != r.key:
                upsert.pop(match.key, None)
                delete.add(match.key)
            upsert[r.key] = e
            delete.discard(r.key)
    return upsert, delete, dups
