"""Qwen Code chat recordings (spec/agents.md §4): append-only JSONL, read by byte cursor.

``<runtime>/projects/<project>/chats/<sessionId>.jsonl``. A record is a ``type:"assistant"``
line with a ``usageMetadata`` object; its key is the line's ``uuid`` (a record can be written
twice: the copy is a duplicate). Counts are Gemini-shaped but OpenAI-filled:

* ``cache read`` = ``cachedContentTokenCount``; ``input`` = ``promptTokenCount`` − cache read
  (the prompt includes the cache); cache write is never reported;
* ``reasoning`` = ``thoughtsTokenCount``; ``output`` = ``candidatesTokenCount`` + reasoning only
  when ``totalTokenCount`` = prompt + candidates + thoughts (Gemini: thoughts apart), else
  ``candidatesTokenCount`` (OpenAI-compatible: reasoning inside; also when there is no total).

Time ``timestamp``; model ``model``; Qwen stores no cost (the tokens are priced).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from tokentui.core.records import UNPRICED, UsageRecord
from tokentui.sources.common import INVALID as _BAD
from tokentui.sources.common import MAX_TOKENS, LocalFile, existing_dirs, parse_ts_ms, real_roots, walk_files
from tokentui.sources.common import optional_count as _count

SOURCE = "qwen-code"
ENV = ("QWEN_RUNTIME_DIR", "QWEN_DATA_DIR")
_FIELDS = ("promptTokenCount", "cachedContentTokenCount", "candidatesTokenCount", "thoughtsTokenCount")


def _candidates(extra: Sequence[str] = ()) -> list[str]:
    name = next((n for n in ENV if os.environ.get(n, "").strip()), None)
    env = os.environ.get(name, "").strip() if name else ""
    cands = [p.strip() for p in env.split(",") if p.strip()] if env else ["~/.qwen"]
    return list(cands) + list(extra)


def looked(extra: Sequence[str] = ()) -> list[str]:
    """Every ``projects/`` folder tried, found or not."""
    return [os.path.join(os.path.expanduser(c), "projects") for c in _candidates(extra)]


def roots(extra: Sequence[str] = ()) -> tuple[list[Path], str | None]:
    """Runtime dirs holding ``projects/``: ``$QWEN_RUNTIME_DIR`` (Qwen's own; comma list), else
    ``$QWEN_DATA_DIR`` (ccusage's), else ``~/.qwen``; plus ``extra`` dirs from config."""
    name = next((n for n in ENV if os.environ.get(n, "").strip()), None)
    env = os.environ.get(name, "").strip() if name else ""
    found = existing_dirs(_candidates(extra))
    return found, (f"no existing Qwen Code directory in {name} ({env})" if env and not found else None)


def discover(extra: Sequence[str] = (), errors: list[str] | None = None) -> tuple[list[LocalFile], str | None]:
    """``projects/*/chats/*.jsonl`` under each root, sorted by path; links are followed only
    while they stay under one of the ``projects/`` folders read."""
    rts, problem = roots(extra)
    bases = [r / "projects" for r in rts if (r / "projects").is_dir()]
    within = real_roots(bases)
    files, seen = [], set()
    for base in bases:
        for path in walk_files(base, (".jsonl",), errors, max_depth=2, within=within):
            parts = Path(os.path.relpath(path, base)).parts
            real = os.path.realpath(path)
            if len(parts) != 3 or parts[1] != "chats" or real in seen:
                continue
            seen.add(real)
            files.append(LocalFile(path, SOURCE, parts[0], parts[2][:-6], "/".join(parts)))
    files.sort(key=lambda f: f.path)
    return files, problem


class QwenParser:
    def __init__(self, file: LocalFile) -> None:
        self.file = file
        self.skipped = 0
        self.duplicates = 0
        self.seen: set[str] = set()

    def record(self, obj) -> UsageRecord | None:
        if type(obj) is not dict:
            self.skipped += 1
            return None
        if obj.get("type") != "assistant" or obj.get("usageMetadata") is None:
            return None
        u = obj["usageMetadata"]
        if type(u) is not dict:
            self.skipped += 1
            return None
        prompt, cached, cand, thoughts = (_count(u.get(f)) for f in _FIELDS)
        total = u.get("totalTokenCount")
        total = None if total is None else _count(total)
        if _BAD in (prompt, cached, cand, thoughts, total) or max(prompt, cand, thoughts) > MAX_TOKENS:
            self.skipped += 1
            return None
        if not (prompt or cand or thoughts):
            return None
        uuid, ts, model = obj.get("uuid"), obj.get("timestamp"), obj.get("model")
        ts_ms = parse_ts_ms(ts) if type(ts) is str else None
        if type(uuid) is not str or not uuid or ts_ms is None or type(model) is not str or not model.strip():
            self.skipped += 1
            return None
        if uuid in self.seen:
            self.duplicates += 1
            return None
        self.seen.add(uuid)
        cached = min(cached, prompt)
        apart = total is not None and thoughts > 0 and total == prompt + cand + thoughts
        out = cand + thoughts if apart else cand
        sid = obj.get("sessionId")
        session = sid if type(sid) is str and sid else self.file.session
        return UsageRecord(SOURCE, uuid, ts_ms, model.strip(), prompt - cached, out, 0, 0, cached, min(thoughts, out),
                           self.file.project, session, None, UNPRICED)


def parse_lines(chunks, file: LocalFile, state: dict | None, ctx, row_of, mtime_ms: int = 0):
    """:data:`~tokentui.sources.readers.ParseLines`: rows keyed by ``uuid``; a uuid seen again in
    the same read is a duplicate (another read upserts the same key)."""
    from tokentui.sources.readers import LinesParsed, json_line_rows

    parser = QwenParser(file)
    rows, bad = json_line_rows(chunks, parser.record, row_of)
    return LinesParsed(rows, parser.skipped + bad, parser.duplicates, {})


def where(extra: Sequence[str] = ()) -> tuple[list[str], str | None]:
    found, problem = roots(extra)
    return [str(r / "projects") for r in found], problem


def _reader():
    from tokentui.sources.readers import JsonlLog

    return JsonlLog(where=where, discover=discover, parse=parse_lines, looked=looked)


READER = _reader()
