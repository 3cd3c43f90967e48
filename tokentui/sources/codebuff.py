"""Codebuff chats (spec/agents.md §13): one JSON array per chat, rewritten whole.

``<channel>/projects/<project>/chats/<chat id>/chat-messages.json`` under
``~/.config/manicode`` (and the ``manicode-dev`` / ``manicode-staging`` channels), or the dirs
in ``$CODEBUFF_DATA_DIR`` (comma list; ccusage's override, Codebuff documents none).

One record per assistant message (``variant`` ``ai``/``agent`` or ``role`` ``assistant``)
that carries usage, keyed ``<channel>/<project>/<chat>|<message id>`` (no id: the message's
place in the chat). Usage sits in one of three places that describe the same call, so one is
taken per message, never a sum: ``metadata.usage``, else ``metadata.codebuff.usage``, else the
last assistant entry of ``metadata.runState.sessionState.mainAgentState.messageHistory``
(its ``providerOptions.usage`` / ``providerOptions.codebuff.usage``). A field missing in the
first is not filled from another (ccusage merges field by field; we keep one coherent
reading of one call).

Token fields come in Anthropic spelling (``inputTokens``, uncached, with
``cacheReadInputTokens`` / ``cacheCreationInputTokens`` beside it) or OpenAI spelling
(``promptTokens`` / ``prompt_tokens`` with ``promptTokensDetails.cachedTokens``, where the
cached tokens are part of the prompt): the OpenAI form is stored as prompt − cached uncached
input, so cached tokens are not counted twice. A usage with only a total counts it as output.

Dated at the message's ``timestamp`` / ``createdAt`` / ``metadata.timestamp`` (ISO text or
epoch seconds or ms), else the chat id (which is the chat's start time,
``2025-10-14T12-30-45.123Z``), else the file's mtime. Cost is priced from tokens; Codebuff's
``credits`` are its own billing unit and are not stored. Codebuff calls the model vendors from
its own account, not with the user's keys, so it overlaps with no admin API source.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from tokentui.core.records import ESTIMATED, UNPRICED, UsageRecord
from tokentui.sources.common import INVALID as _BAD
from tokentui.sources.common import MAX_MS, MIN_MS, LocalFile, existing_dirs, loads, parse_ts_ms, real_roots, walk_files
from tokentui.sources.common import optional_count as _count

SOURCE = "codebuff"
ENV = ("CODEBUFF_DATA_DIR",)
CHANNELS = ("manicode", "manicode-dev", "manicode-staging")
FILE_NAME = "chat-messages.json"
_ASSISTANT = frozenset(("ai", "agent", "assistant"))

_INPUT = ("inputTokens", "input_tokens")
_PROMPT = ("promptTokens", "prompt_tokens")
_OUTPUT = ("outputTokens", "output_tokens", "completionTokens", "completion_tokens")
_CACHE_READ = ("cacheReadInputTokens", "cache_read_input_tokens")
_CACHE_WRITE = ("cacheCreationInputTokens", "cache_creation_input_tokens", "cacheCreationTokens",
                "cache_creation_tokens", "cachedTokensCreated", "cached_tokens_created")
_TOTAL = ("totalTokens", "total_tokens", "total")
_CACHED_IN_PROMPT = (("promptTokensDetails", "cachedTokens"), ("prompt_tokens_details", "cached_tokens"))


def _candidates(extra: Sequence[str] = ()) -> list[Path]:
    """The ``projects/`` folders to try, in order: of each dir in ``$CODEBUFF_DATA_DIR`` (comma
    list), else of the three channel dirs in ``~/.config``; plus ``extra`` dirs from config. A dir
    that is itself a ``projects`` folder is tried as is."""
    env = os.environ.get("CODEBUFF_DATA_DIR", "").strip()
    if env:
        cands = [p.strip() for p in env.split(",") if p.strip()]
    else:
        cands = [os.path.join("~/.config", c) for c in CHANNELS]
    out: list[Path] = []
    for c in list(cands) + list(extra):
        d = Path(os.path.expanduser(c))
        d = d if d.name == "projects" else d / "projects"
        if d not in out:
            out.append(d)
    return out


def looked(extra: Sequence[str] = ()) -> list[str]:
    """Every ``projects/`` folder tried, found or not."""
    return [str(p) for p in _candidates(extra)]


def roots(extra: Sequence[str] = ()) -> tuple[list[Path], str | None]:
    """The ``projects/`` folders of :func:`_candidates` that exist."""
    env = os.environ.get("CODEBUFF_DATA_DIR", "").strip()
    found = existing_dirs(_candidates(extra))
    problem = f"no Codebuff projects folder in CODEBUFF_DATA_DIR ({env})" if env and not found else None
    return found, problem


def discover(extra: Sequence[str] = (), errors: list[str] | None = None) -> tuple[list[LocalFile], str | None]:
    """Every ``<project>/chats/<chat>/chat-messages.json`` of each ``projects/`` folder."""
    rts, problem = roots(extra)
    within = real_roots(rts)
    files, seen = [], set()
    for root in rts:
        channel = root.parent.name or "manicode"
        cut = len(str(root)) + len(os.sep)
        for path in walk_files(root, (FILE_NAME,), errors, max_depth=4, within=within):
            rel = path[cut:].split(os.sep)
            real = os.path.realpath(path)
            if len(rel) != 4 or rel[1] != "chats" or rel[3] != FILE_NAME or real in seen:
                continue
            seen.add(real)
            project, chat = rel[0], rel[2]
            files.append(LocalFile(path, SOURCE, project, f"{channel}/{project}/{chat}", f"{channel}/{project}/{chat}"))
    files.sort(key=lambda f: f.path)
    return files, problem


def _pick(u: dict, names: tuple[str, ...]) -> object:
    """The first of ``names`` present in ``u``: its count, 0 if none is, or INVALID."""
    for n in names:
        if u.get(n) is not None:
            return _count(u[n])
    return 0


def _tokens(u: dict) -> tuple[int, int, int, int] | None:
    """(uncached input, output, cache write, cache read) of one usage object; None if corrupt."""
    inp, prompt, out = _pick(u, _INPUT), _pick(u, _PROMPT), _pick(u, _OUTPUT)
    cr, cw, total = _pick(u, _CACHE_READ), _pick(u, _CACHE_WRITE), _pick(u, _TOTAL)
    cached = 0
    for holder, name in _CACHED_IN_PROMPT:
        if type(u.get(holder)) is dict and u[holder].get(name) is not None:
            cached = _count(u[holder][name])
            break
    if _BAD in (inp, prompt, out, cr, cw, total, cached):
        return None
    if not inp and prompt:  # OpenAI spelling: the cached tokens are part of the prompt
        if cached > prompt:
            return None
        inp, cr = prompt - cached, cr or cached
    if not (inp or out or cr or cw) and total:
        out = total
    return inp, out, cw, cr


def _usage(meta: dict) -> tuple[dict, object] | None:
    """The one usage object of a message (see the module doc) and the model it names."""
    if type(meta.get("usage")) is dict:
        return meta["usage"], meta["usage"].get("model") or meta.get("model")
    cb = meta.get("codebuff")
    if type(cb) is dict and type(cb.get("usage")) is dict:
        return cb["usage"], cb["usage"].get("model") or cb.get("model") or meta.get("model")
    state = meta.get("runState")
    for step in ("sessionState", "mainAgentState", "messageHistory"):
        state = state.get(step) if type(state) is dict else None
    if type(state) is list:
        for entry in reversed(state):
            if type(entry) is not dict or entry.get("role") != "assistant":
                continue
            opts = entry.get("providerOptions")
            if type(opts) is not dict:
                continue
            cb = opts.get("codebuff") if type(opts.get("codebuff")) is dict else {}
            u = opts.get("usage") if type(opts.get("usage")) is dict else cb.get("usage")
            if type(u) is dict:
                return u, cb.get("model") or u.get("model") or meta.get("model")
    return None


def _ts(v: object) -> int | None:
    if type(v) is str:
        return parse_ts_ms(v)
    if type(v) is int and v > 0:
        ms = v * 1000 if v < 10_000_000_000 else v
        return ms if MIN_MS <= ms < MAX_MS else None
    return None


def chat_start_ms(chat: str) -> int | None:
    """A chat id such as ``2025-10-14T12-30-45.123Z`` as epoch ms (its start time)."""
    date, sep, time = chat.partition("T")
    if not sep:
        return None
    return parse_ts_ms(f"{date}T{time.replace('-', ':', 2)}")


def parse_file(data: bytes, file: LocalFile, pricer, mtime_ms: int = 0) -> tuple[list[UsageRecord], int]:
    """Usage records of one chat file and how many messages (or a whole file) were skipped as
    corrupt. Never raises on bad input; a file caught mid-write is read again when it changes."""
    try:
        doc = loads(data)
    except ValueError:
        return [], 1
    if type(doc) is not list:
        return [], 1
    session = file.session or file.rel
    chat = session.rsplit("/", 1)[-1]
    fallback_ts = chat_start_ms(chat) or (mtime_ms if MIN_MS <= mtime_ms < MAX_MS else None)
    out: list[UsageRecord] = []
    skipped = 0
    for i, m in enumerate(doc):
        if type(m) is not dict or (m.get("variant") or m.get("role")) not in _ASSISTANT:
            continue
        meta = m.get("metadata")
        found = _usage(meta) if type(meta) is dict else None
        if found is None:
            continue
        usage, model = found
        counts = _tokens(usage)
        if counts is None:
            skipped += 1
            continue
        if not any(counts):
            continue  # credits only, or an empty usage: no tokens to count
        ts = _ts(m.get("timestamp"))
        if ts is None:
            ts = _ts(m.get("createdAt"))
        if ts is None and type(meta) is dict:
            ts = _ts(meta.get("timestamp"))
        if ts is None:
            ts = fallback_ts
        if ts is None or type(model) is not str or not model.strip():
            skipped += 1
            continue
        model = model.strip()
        inp, outp, cw, cr = counts
        mid = m.get("id")
        key = f"{session}|{mid}" if type(mid) is str and mid.strip() else f"{session}|#{i}"
        cost = pricer.cost_pico(model, inp, outp, cw, 0, cr) if pricer is not None else None
        out.append(UsageRecord(SOURCE, key, ts, model, inp, outp, cw, 0, cr, 0, file.project, session,
                               cost, UNPRICED if cost is None else ESTIMATED))
    return out, skipped


def where(extra: Sequence[str] = ()) -> tuple[list[str], str | None]:
    found, problem = roots(extra)
    return [str(r) for r in found], problem


def _reader():
    from tokentui.sources.readers import RewrittenJson

    return RewrittenJson(where=where, discover=discover, parse_file=parse_file, looked=looked)


READER = _reader()
