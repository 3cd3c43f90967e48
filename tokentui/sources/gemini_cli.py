"""Gemini CLI chat recordings (spec/local-logs.md §4): discovery and a pure whole-file parser.

Gemini CLI rewrites its session files (a message is appended again each time it changes, and
on resume the whole file is rewritten atomically in compact form), so the ingest re-parses a
whole file whenever it changes. Every record has a stable key, ``"<sessionId>|<message id>"``,
so re-parsing is idempotent; keys that vanish after a rewrite must be kept (tokens were spent).

Representation (ccusage normalisation): ``input`` = uncached prompt + tool-use prompt,
``cache_read`` = cached, ``output`` = candidates + thoughts (thoughts are billed at the output
rate) and ``reasoning`` = thoughts (the informative subset), so ``record.total`` equals the
logged ``total`` and the cost is ``input×in + (output+thoughts)×out + cached×cache_read``.
ccusage's ``outputTokens`` column excludes thoughts: it equals ``output − reasoning`` here.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Sequence

from tokentui.core.records import ESTIMATED, UNPRICED, UsageRecord
from tokentui.sources.common import INVALID as _BAD
from tokentui.sources.common import (MAX_MS, MIN_MS, LocalFile, existing_dirs, loads, parse_ts_ms, real_roots,
                                     walk_files)
from tokentui.sources.common import optional_count as _count

SOURCE = "gemini-cli"
#: per-field cap: more tokens than this in one request is corrupt data (keeps costs in int64)
_FIELDS = ("input", "output", "cached", "thoughts", "tool", "total")
# `gemini -p --output-format json` captures name the same counts differently
_STATS_FIELDS = {"input": ("prompt", "input"), "output": ("candidates", "output"), "cached": ("cached",),
                 "thoughts": ("thoughts",), "tool": ("tool",), "total": ("total",)}


def _candidates(extra: Sequence[str] = ()) -> list[Path]:
    env = os.environ.get("GEMINI_DATA_DIR", "").strip()
    if env:
        cands = [p.strip() for p in env.split(",") if p.strip()]
    else:
        home = os.environ.get("GEMINI_CLI_HOME", "").strip() or "~"
        cands = [os.path.join(home, ".gemini", "tmp")]
    return [Path(os.path.expanduser(c)) for c in list(cands) + list(extra)]


def looked(extra: Sequence[str] = ()) -> list[str]:
    """Every Gemini temp folder tried, found or not."""
    return [str(p) for p in _candidates(extra)]


def roots(extra: Sequence[str] = ()) -> tuple[list[Path], str | None]:
    """Gemini temp dirs to scan, and a problem message when the env var names none that exist.

    ``GEMINI_DATA_DIR`` (comma list, ccusage) replaces the default ``$GEMINI_CLI_HOME/.gemini/tmp``
    (``~/.gemini/tmp`` without ``GEMINI_CLI_HOME``); ``extra`` roots from config are added. A
    root given as a ``.gemini`` dir is read through its ``tmp`` child.
    """
    env = os.environ.get("GEMINI_DATA_DIR", "").strip()
    paths = _candidates(extra)
    # a `.gemini` folder given instead of its `tmp/` is read through `tmp/`
    found = existing_dirs(p / "tmp" if p.name == ".gemini" and (p / "tmp").is_dir() else p for p in paths)
    problem = None
    if env and not found:
        problem = f"no existing Gemini data directory in GEMINI_DATA_DIR ({env})"
    return found, problem


def discover(extra: Sequence[str] = (), errors: list[str] | None = None) -> tuple[list[LocalFile], str | None]:
    """Every ``*.json`` and ``*.jsonl`` under each root (recursively), sorted by path.

    ``project`` is the first directory under the root (slug or legacy sha256 hash),
    ``session`` the file stem (the parser prefers the ``sessionId`` inside the file). Links are
    followed only while they stay under one of the roots."""
    rts, problem = roots(extra)
    files: list[LocalFile] = []
    seen: set[str] = set()
    within = real_roots(rts)
    for root in rts:
        for path in walk_files(root, (".json", ".jsonl"), errors, within=within):
            real = os.path.realpath(path)
            if real in seen:
                continue
            seen.add(real)
            parts = Path(os.path.relpath(path, root)).parts
            project = parts[0] if len(parts) >= 2 else None
            files.append(LocalFile(path, SOURCE, project, _stem(path), "/".join(parts)))
    files.sort(key=lambda f: f.path)
    return files, problem


def _stem(path: str) -> str:
    name = os.path.basename(path)
    return name[:-6] if name.endswith(".jsonl") else name[:-5] if name.endswith(".json") else name



class _Parse:
    """State of one whole-file parse: session id, last seen model, messages by id."""

    def __init__(self, file: LocalFile, pricer, mtime_ms: int) -> None:
        self.file = file
        self.pricer = pricer
        self.mtime_ms = mtime_ms if type(mtime_ms) is int and MIN_MS <= mtime_ms < MAX_MS else None
        self.session: str | None = None
        self.model: str | None = None
        self.msgs: dict[str, tuple[dict, str | None]] = {}  # id -> (last write, model at that point)
        self.anon: list[tuple[dict, str | None]] = []  # messages without an id
        self.stats: list[tuple[dict, str]] = []  # (`-p --output-format json` document, key tag)
        self.skipped = 0

    # -- collecting ------------------------------------------------------------------------
    def meta(self, obj: dict) -> None:
        sid = obj.get("sessionId")
        if type(sid) is str and sid.strip() and self.session is None:
            self.session = sid.strip()

    def message(self, obj: dict) -> None:
        m = obj.get("model")
        if type(m) is str and m.strip():
            self.model = m.strip()
        mid = obj.get("id")
        if type(mid) is int and not isinstance(mid, bool):
            mid = str(mid)
        entry = (obj, self.model)
        if type(mid) is str and mid:
            self.msgs.pop(mid, None)  # last write wins; keep the order of the last write
            self.msgs[mid] = entry
        else:
            self.anon.append(entry)

    def line(self, obj, tag: str) -> None:
        if type(obj) is not dict:
            self.skipped += 1
            return
        if "$rewindTo" in obj:  # the UI hides later messages; their tokens were still spent
            return
        if "$set" in obj:
            if type(obj["$set"]) is dict:
                self.meta(obj["$set"])
            return
        if type(obj.get("stats")) is dict:
            self.meta(obj)
            self.stats.append((obj, tag))
            return
        if "type" in obj or "tokens" in obj:
            self.message(obj)
        else:
            self.meta(obj)

    # -- records ---------------------------------------------------------------------------
    def _ts(self, obj: dict) -> int | None:
        for k in ("timestamp", "created_at"):
            v = obj.get(k)
            if v is not None:
                return parse_ts_ms(v) if type(v) is str else None
        return self.mtime_ms

    def _record(self, key: str, msg_id: str | None, ts_ms: int, model: str, c: dict, subtract: bool
                ) -> UsageRecord:
        inp, cached, tool, thoughts = c["input"], c["cached"], c["tool"], c["thoughts"]
        if subtract:
            inp -= min(inp, cached)
        inp += tool
        out = c["output"] + thoughts
        cost = self.pricer.cost_pico(model, inp, out, 0, 0, cached) if self.pricer is not None else None
        return UsageRecord(SOURCE, key, ts_ms, model, inp, out, 0, 0, cached, thoughts,
                           self.file.project, self.session, cost, UNPRICED if cost is None else ESTIMATED,
                           msg_id=msg_id)

    def _message_record(self, obj: dict, model: str | None, mid: str | None) -> UsageRecord | None:
        if obj.get("type") != "gemini":
            return None
        tokens = obj.get("tokens")
        if tokens is None:
            return None  # not known yet
        if type(tokens) is not dict:
            self.skipped += 1
            return None
        c = {f: _count(tokens.get(f)) for f in _FIELDS}
        if any(v is _BAD for v in c.values()):
            self.skipped += 1
            return None
        if not (c["input"] or c["output"] or c["cached"] or c["thoughts"] or c["tool"]):
            return None
        ts_ms = self._ts(obj)
        if ts_ms is None or model is None:
            self.skipped += 1
            return None
        subtract = c["cached"] > 0 and c["total"] == c["input"] + c["output"] + c["thoughts"] + c["tool"]
        if mid is not None:
            key = f"{self.session}|{mid}"
        else:
            key = f"{self.session}|@{ts_ms}|{model}|" + ",".join(str(c[f]) for f in _FIELDS)
        return self._record(key, mid, ts_ms, model, c, subtract)

    def _stats_records(self, doc: dict, tag: str) -> list[UsageRecord]:
        models = doc["stats"].get("models")
        if type(models) is not dict:
            return []
        ts_ms = self._ts(doc)
        out = []
        for name, entry in models.items():
            tokens = entry.get("tokens") if type(entry) is dict else None
            if type(tokens) is not dict or not name:
                self.skipped += 1
                continue
            c = {}
            for f, aliases in _STATS_FIELDS.items():
                c[f] = next((_count(tokens[a]) for a in aliases if a in tokens), 0)
            if any(v is _BAD for v in c.values()) or ts_ms is None:
                self.skipped += 1
                continue
            if c["input"] or c["output"] or c["cached"] or c["thoughts"] or c["tool"]:
                key = f"{self.session}|stats{tag}|{name}|{_content_id(doc)}"
                out.append(self._record(key, None, ts_ms, name, c, True))
        return out

    def records(self) -> list[UsageRecord]:
        if self.session is None:
            self.session = self.file.session or _stem(self.file.path)
        out = []
        for mid, (obj, model) in self.msgs.items():
            r = self._message_record(obj, model, mid)
            if r is not None:
                out.append(r)
        for obj, model in self.anon:
            r = self._message_record(obj, model, None)
            if r is not None:
                out.append(r)
        for doc, tag in self.stats:
            out.extend(self._stats_records(doc, tag))
        return out


def _content_id(doc: dict) -> str:
    """A hash of a ``-p --output-format json`` capture: the next run written over the same file
    is new content with its own keys (the earlier run's records stay); the same capture read
    again has the same keys."""
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def parse_file(data: bytes, file: LocalFile, pricer, mtime_ms: int = 0) -> tuple[list[UsageRecord], int]:
    """Usage records of one whole Gemini file, and the number of corrupt lines/values skipped.

    Handles the JSONL recording (metadata line, message records re-written under the same
    ``id`` where the last write wins, ``$set`` / ``$rewindTo`` lines), the legacy whole-file
    JSON (``{sessionId, …, messages: […]}``) and ``gemini -p --output-format json`` captures
    (``stats.models.<model>.tokens``). ``mtime_ms`` dates records that carry no timestamp.
    An unterminated last line that does not parse is taken as still being written and is
    neither used nor counted. Never raises on bad input.
    """
    p = _Parse(file, pricer, mtime_ms)
    if not data.strip():
        return [], 0
    try:
        doc = loads(data)
    except ValueError:
        doc = _BAD
    if doc is not _BAD:
        if type(doc) is dict and type(doc.get("messages")) is list:
            p.meta(doc)
            for m in doc["messages"]:
                if type(m) is dict:
                    p.message(m)
                else:
                    p.skipped += 1
        elif type(doc) is dict:
            p.line(doc, "")
        # any other JSON value (logs.json lists, checkpoints) carries no usage
        return p.records(), p.skipped
    lines = data.split(b"\n")
    first = next((ln for ln in lines if ln.strip()), b"")
    if file.path.endswith(".json"):
        try:
            loads(first)
        except ValueError:  # a broken whole-file JSON (not JSONL): one corrupt file
            return [], 1
    last = len(lines) - 1
    for i, raw in enumerate(lines):
        if not raw.strip():
            continue
        try:
            obj = loads(raw)
        except ValueError:
            if not (i == last and not data.endswith(b"\n")):
                p.skipped += 1
            continue
        p.line(obj, f"@{i}")
    return p.records(), p.skipped


def where(extra: Sequence[str] = ()) -> tuple[list[str], str | None]:
    found, problem = roots(extra)
    return [str(r) for r in found], problem


def _reader():
    from tokentui.sources.readers import RewrittenJson

    return RewrittenJson(where=where, discover=discover, parse_file=parse_file, looked=looked)


READER = _reader()
