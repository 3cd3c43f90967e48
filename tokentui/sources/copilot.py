"""GitHub Copilot CLI (spec/agents.md §3): OpenTelemetry chat spans and session journals.

Two kinds of append-only JSONL, read by byte cursor:

* **OTel file export** (``$COPILOT_OTEL_FILE_EXPORTER_PATH``, and ``~/.copilot/otel/**/*.jsonl``
  by convention): one record per ``chat`` span (``gen_ai.operation.name == "chat"`` or a
  name starting ``chat ``), key ``<traceId>|<spanId>``, dated at ``endTime``.
  ``gen_ai.usage.input_tokens`` includes cache read *and* cache write: both are subtracted
  (dotted and CLI 1.0.6x underscore attribute names). A span re-exported under a new trace
  with the same ``gen_ai.response.id`` is a copy: the first one read is kept (the dedupe hook,
  across files and syncs). ``invoke_agent`` spans, log records and metrics are not counted.
* **Session journals** (``session-state/<id>/events.jsonl``): per ``session.shutdown``, per
  model in ``modelMetrics``: the first counts as is; a later one counts its increase over the
  previous shutdown when every counter grew (cumulative counters, current CLIs), else at face
  value (older CLIs restart counters per leg). Key ``<session>|<shutdown id>|<model>``. A
  session that has OTel chat spans is counted from the spans only (never both).

Models: ``-1m`` / ``-1m-internal`` suffixes dropped, dotted Claude versions
(``claude-sonnet-4.5``) written as LiteLLM ids (``claude-sonnet-4-5``). Output includes
reasoning (``reasoning`` is the informative subset). Copilot bills premium requests, not
tokens; the cost is the tokens' API price.

* **Session store** (``session-store.db``, §3.4): one row per request, read from a watermark
  (:mod:`tokentui.sources.copilot_store`).

Per session one of them counts (§3.5): its OTel chat spans if any, else its store rows, else
its rollups. Not read: the inference-log fallback for traces without a chat span.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Sequence

from tokentui.core.records import ESTIMATED, UNPRICED, UsageRecord
from tokentui.sources.common import (MAX_MS, MAX_TOKENS, MIN_MS, LocalFile, existing_dirs, folder, loads,
                                     parse_ts_ms, read_head, real_roots, token_count, walk_files)

SOURCE = "copilot"
ENV = ("COPILOT_HOME", "COPILOT_OTEL_FILE_EXPORTER_PATH")
_U = "gen_ai.usage."
_CACHE_READ = (_U + "cache_read.input_tokens", _U + "cache_read_input_tokens")
_CACHE_WRITE = (_U + "cache_creation.input_tokens", _U + "cache_write.input_tokens",
                _U + "cache_creation_input_tokens", _U + "cache_write_input_tokens")
_REASONING = (_U + "reasoning.output_tokens", _U + "reasoning_output_tokens")
_CONV = re.compile(rb'"gen_ai\.conversation\.id":\s*"([^"\\]{1,200})"')
_BAD = object()


def _candidates(extra: Sequence[str] = ()) -> list[str]:
    env = os.environ.get("COPILOT_HOME", "").strip()
    cands = [p.strip() for p in env.split(",") if p.strip()] if env else ["~/.copilot"]
    return list(cands) + list(extra)


def homes(extra: Sequence[str] = ()) -> list[Path]:
    """``$COPILOT_HOME`` (comma list) or ``~/.copilot``, plus configured extra roots."""
    return existing_dirs(_candidates(extra))


def looked(extra: Sequence[str] = ()) -> list[str]:
    """Every Copilot home tried, found or not, and the OTel export file when one is named."""
    return [os.path.expanduser(c) for c in _candidates(extra)] + ([_otel_path()] if _otel_path() else [])


def _otel_path() -> str | None:
    p = os.environ.get("COPILOT_OTEL_FILE_EXPORTER_PATH", "").strip()
    return os.path.expanduser(p) if p else None


def discover(extra: Sequence[str] = (), errors: list[str] | None = None) -> tuple[list[LocalFile], str | None]:
    """Journals ``session-state/<id>/events.jsonl`` and OTel files ``otel/**/*.jsonl`` under each
    home, plus the file ``$COPILOT_OTEL_FILE_EXPORTER_PATH`` names. Links are followed only while
    they stay under the folder read."""
    files: list[LocalFile] = []
    seen: set[str] = set()

    def add(path: str, kind: str, session: str | None, rel: str) -> None:
        real = os.path.realpath(path)
        if real not in seen:
            seen.add(real)
            files.append(LocalFile(path, SOURCE, None, session, rel, kind))

    for home in homes(extra):
        state, otel = home / "session-state", home / "otel"
        for path in walk_files(state, (".jsonl",), errors, max_depth=1, within=real_roots([state])):
            parts = Path(os.path.relpath(path, state)).parts
            if len(parts) == 2 and parts[1] == "events.jsonl":
                add(path, "session", parts[0], f"session-state/{parts[0]}/events.jsonl")
        for path in walk_files(otel, (".jsonl",), errors, within=real_roots([otel])):
            add(path, "otel", None, "otel/" + os.path.relpath(path, otel))
    problem = None
    exported = _otel_path()
    if exported:
        if os.path.isfile(exported):
            add(exported, "otel", None, os.path.basename(exported))
        else:
            problem = f"COPILOT_OTEL_FILE_EXPORTER_PATH names no file ({exported})"
    files.sort(key=lambda f: (f.kind != "otel", f.path))  # spans first: the sessions they cover
    return files, problem


def otel_files(files: Sequence[LocalFile]) -> dict:
    """``prepare``: the OTel files and the session stores, which a journal asks (lazily) for the
    sessions they cover; the journals, which a chat span asks (lazily) for its session's folder."""
    from tokentui.sources.copilot_store import STORE

    homes_of = {str(h) for h in homes()} | {os.path.dirname(os.path.dirname(os.path.dirname(f.path)))
                                           for f in files if f.kind == "session"}
    return {"otel": [f.path for f in files if f.kind == "otel"],
            "stores": sorted(str(Path(h) / STORE) for h in homes_of if (Path(h) / STORE).is_file()),
            "journals": {f.session: f.path for f in files if f.kind == "session" and f.session}}


def start_folder(data) -> str | None:
    """The folder a session ran in, from its ``session.start`` data (``context.cwd``)."""
    ctx = data.get("context") if type(data) is dict else None
    return folder(ctx.get("cwd")) if type(ctx) is dict else None


def journal_folder(path: str) -> str | None:
    """The folder of a journal's session (its first line, ``session.start``)."""
    head = read_head(path)
    if head is None:
        return None
    try:
        obj = loads(head.split(b"\n", 1)[0])
    except ValueError:
        return None
    return start_folder(obj.get("data")) if type(obj) is dict and obj.get("type") == "session.start" else None


def session_folders(shared: dict) -> dict[str, str]:
    """``{session id: folder}`` of the journals ``prepare`` found (read once per process)."""
    got = shared.get("folders")
    if got is None:
        got = shared["folders"] = {}
        for sid, path in (shared.get("journals") or {}).items():
            f = journal_folder(path)
            if f:
                got[sid] = f
    return got


_covered_cache: dict[tuple, frozenset] = {}


def covered_sessions(paths: Sequence[str]) -> frozenset:
    """Conversation ids that appear in the OTel files (cached per file identity and size)."""
    out: set[str] = set()
    for p in paths:
        try:
            st = os.stat(p)
        except OSError:
            continue
        ident = (p, st.st_ino, st.st_size, st.st_mtime_ns)
        got = _covered_cache.get(ident)
        if got is None:
            try:
                with open(p, "rb") as fh:
                    data = fh.read()
            except OSError:
                continue
            got = _covered_cache[ident] = frozenset(m.decode("utf-8", "replace") for m in _CONV.findall(data))
        out |= got
    return frozenset(out)


def normalise_model(model: str) -> str:
    m = re.sub(r"-1m(?:-internal)?$", "", model.strip())
    return re.sub(r"(\d)\.(\d)", r"\1-\2", m) if m.startswith("claude-") else m


def _first(attrs: dict, names: Sequence[str]) -> object:
    for n in names:
        if n in attrs:
            c = token_count(attrs[n])
            return _BAD if c is None else c
    return 0


def _ms(v) -> int | None:
    """OTel ``[seconds, nanoseconds]`` (or epoch ms) to epoch ms within the accepted range."""
    if type(v) is list and len(v) == 2 and all(type(x) is int for x in v):
        ms = v[0] * 1000 + v[1] // 1_000_000
    elif type(v) in (int, float):
        ms = int(v)
    else:
        return None
    return ms if MIN_MS <= ms < MAX_MS else None


class CopilotParser:
    """One file's lines to records; ``state`` (JSON-able) keeps a journal's session id and the
    previous shutdown's counters per model, so a read can resume at any line."""

    def __init__(self, file: LocalFile, pricer, state: dict | None = None, covered=None, folders=None) -> None:
        self.file = file
        self.pricer = pricer
        self.state = state if state is not None else {"session": None, "prev": {}}
        self.covered = covered  # () -> conversation ids with OTel spans
        self.folders = folders or dict  # () -> {session id: the folder it ran in}, for chat spans
        self.skipped = 0

    def _record(self, key: str, ts_ms: int, model: str, inp: int, out: int, cw: int, cr: int, reas: int,
                session: str | None, project: str | None, msg_id: str | None = None) -> UsageRecord:
        cost = self.pricer.cost_pico(model, inp, out, cw, 0, cr) if self.pricer is not None else None
        return UsageRecord(SOURCE, key, ts_ms, model, inp, out, cw, 0, cr, reas, project, session, cost,
                           UNPRICED if cost is None else ESTIMATED, msg_id=msg_id)

    def span(self, obj: dict) -> UsageRecord | None:
        if obj.get("type") != "span":
            return None
        attrs = obj.get("attributes")
        if type(attrs) is not dict:
            self.skipped += 1
            return None
        op = attrs.get("gen_ai.operation.name")
        name = obj.get("name")
        if not (op == "chat" or (op is None and type(name) is str and name.startswith("chat "))):
            return None
        inp = _first(attrs, (_U + "input_tokens",))
        out = _first(attrs, (_U + "output_tokens",))
        cr, cw, reas = _first(attrs, _CACHE_READ), _first(attrs, _CACHE_WRITE), _first(attrs, _REASONING)
        if _BAD in (inp, out, cr, cw, reas) or max(inp, out, cr, cw) > MAX_TOKENS:
            self.skipped += 1
            return None
        if not (inp or out):
            return None
        model = attrs.get("gen_ai.response.model") or attrs.get("gen_ai.request.model")
        trace, span_id = obj.get("traceId"), obj.get("spanId")
        ts_ms = _ms(obj.get("endTime"))
        if type(model) is not str or not model.strip() or ts_ms is None or type(trace) is not str \
                or type(span_id) is not str:
            self.skipped += 1
            return None
        conv = attrs.get("gen_ai.conversation.id")
        resp = attrs.get("gen_ai.response.id")
        conv = conv if type(conv) is str else None
        return self._record(f"{trace}|{span_id}", ts_ms, normalise_model(model), max(inp - cr - cw, 0), out, cw,
                            cr, min(reas, out), conv, self.folders().get(conv) if conv else None,
                            f"resp:{resp}" if type(resp) is str and resp else None)

    def journal(self, obj: dict) -> list[UsageRecord]:
        kind = obj.get("type")
        data = obj.get("data")
        if kind == "session.start":
            sid = data.get("sessionId") if type(data) is dict else None
            if type(sid) is str and sid and self.state["session"] is None:
                self.state["session"] = sid
            if self.state.get("cwd") is None:  # the folder the session ran in: its project
                self.state["cwd"] = start_folder(data)
            return []
        if kind != "session.shutdown":
            return []
        session = self.state["session"] or self.file.session
        metrics = data.get("modelMetrics") if type(data) is dict else None
        ts = obj.get("timestamp")
        ts_ms = parse_ts_ms(ts) if type(ts) is str else None
        eid = obj.get("id")
        if type(metrics) is not dict or ts_ms is None or type(eid) is not str or not eid:
            self.skipped += 1
            return []
        if self.covered is not None and session in self.covered():
            return []  # counted from its OTel chat spans or its session-store rows
        out = []
        prev = self.state["prev"]
        for model, m in metrics.items():
            u = m.get("usage") if type(m) is dict else None
            if type(u) is not dict or not model:
                self.skipped += 1
                continue
            cur = [token_count(u.get(f, 0)) for f in
                   ("inputTokens", "outputTokens", "cacheReadTokens", "cacheWriteTokens", "reasoningTokens")]
            if None in cur or max(cur) > MAX_TOKENS:
                self.skipped += 1
                continue
            before = prev.get(model)
            prev[model] = cur
            amount = [c - b for c, b in zip(cur, before)] if before and all(
                c >= b for c, b in zip(cur, before)) else cur
            inp, outp, cr, cw, reas = amount
            if not (inp or outp):
                continue
            out.append(self._record(f"{session}|{eid}|{model}", ts_ms, normalise_model(model), max(inp - cr - cw, 0),
                                    outp, cw, cr, min(reas, outp), session, self.state.get("cwd")))
        return out

    def records(self, lines: Sequence[bytes], last_may_be_partial: bool = False) -> list[UsageRecord]:
        out: list[UsageRecord] = []
        for i, raw in enumerate(lines):
            if not raw.strip():
                continue
            try:
                obj = loads(raw)
            except ValueError:
                if not (last_may_be_partial and i == len(lines) - 1):
                    self.skipped += 1
                continue
            if type(obj) is not dict:
                self.skipped += 1
                continue
            if self.file.kind == "otel":
                r = self.span(obj)
                if r is not None:
                    out.append(r)
            else:
                out.extend(self.journal(obj))
        return out


def resolve_copies(items: Sequence[Sequence], kept: dict[str, list[str]]
                   ) -> tuple[dict[str, int], set[str], list[int]]:
    """The dedupe hook: items ``(key, msg_id, …, row)``; a chat span whose response id was
    already kept under another key (stored, or earlier in this batch) is a re-export."""
    upsert: dict[str, int] = {}
    dups: list[int] = []
    for i, e in enumerate(items):
        key, msg_id = e[0], e[1]
        if msg_id is not None:
            group = kept.setdefault(msg_id, [])
            if group and key not in group:
                dups.append(i)
                continue
            if key not in group:
                group.append(key)
        if key in upsert:
            dups.append(i)
        upsert[key] = i
    return upsert, set(), dups


def _kept(key: str, *_ignored) -> str:
    return key


def parse_lines(chunks, file: LocalFile, state: dict | None, ctx, row_of, mtime_ms: int = 0):
    """:data:`~tokentui.sources.readers.ParseLines`: dedupe items ``(key, msg_id, False, total,
    False, row)`` and the journal state."""
    from tokentui.sources.readers import LinesParsed

    from tokentui.sources.copilot_store import store_sessions

    shared = ctx.shared.get(SOURCE) or {}
    parser = CopilotParser(file, ctx.pricer, dict(state) if state is not None else None,
                           lambda: covered_sessions(shared.get("otel", ())) | store_sessions(shared.get("stores", ())),
                           lambda: session_folders(shared))
    items: list = []
    for lines, _start in chunks:
        for r in parser.records(lines):
            row = row_of(r, False)
            if row is None:
                parser.skipped += 1
            else:
                items.append((r.key, r.msg_id, False, r.total, False, row))
    return LinesParsed(items, parser.skipped, 0, parser.state)


def where(extra: Sequence[str] = ()) -> tuple[list[str], str | None]:
    found = [str(h) for h in homes(extra)]
    exported = _otel_path()
    if exported and os.path.isfile(exported):
        found.append(exported)
    return found, None


def _reader():
    from tokentui.sources import copilot_store as store
    from tokentui.sources.readers import Combined, Dedupe, JsonlLog, WatermarkDatabase

    return Combined((JsonlLog(where=where, discover=discover, parse=parse_lines,
                              dedupe=Dedupe(resolve_copies, _kept), prepare=otel_files, looked=looked),
                     WatermarkDatabase(where=store.where, locations=store.store_homes, signature=store.signature,
                                       read_since=store.read_since)))


READER = _reader()
