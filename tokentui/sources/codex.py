"""Codex CLI rollouts (spec/local-logs.md §3): the per-file delta algorithm and fork replays
(where Codex keeps its files, and its ``config.toml``: :mod:`tokentui.sources.codex_home`; what
one line's payload says: :mod:`tokentui.sources.codex_payload`).

:class:`CodexParser` keeps its whole state in a JSON-able dict so ingest can stop after any
line and resume from the byte offset later (the state is stored with the file cursor).
"""

from __future__ import annotations

import hashlib
import os
import re
from typing import Callable, Iterable, Sequence

from tokentui.core.lazy_re import lazy_compile
from tokentui.core.pricing import FAST_SUFFIX
from tokentui.core.quota_readings import codex_readings
from tokentui.core.quotas import RowMerger
from tokentui.core.quotas import row_of as quota_row
from tokentui.core.records import ESTIMATED, UNPRICED, UsageRecord
from tokentui.sources.codex_home import SOURCE, discover, home_of, looked, prepare, where
from tokentui.sources.codex_payload import FALLBACK_MODEL, auto_review, model_of, token_usage, turn_start_ms
from tokentui.sources.common import (
    MAX_MS,
    MAX_TOKENS,
    MIN_MS,
    LocalFile,
    folder,
    json_string_pattern,
    loads,
    parse_ts_ms,
    value_bytes,
)

#: the lines events() reads contain one of these (one regex scan: twice as fast as three ``in``)
_EVENT_MARK = re.compile(rb'"(?:token_count|turn_context|session_meta|task_started)"')
#: the same names in any spelling JSON allows (escaped letters): tried on lines with a \u00 escape
_EVENT_MARK_ANY = lazy_compile(b'"(?:' + b"|".join(json_string_pattern(n) for n in (
    "token_count", "turn_context", "session_meta", "task_started")) + b')"')
_HEADLESS_MARK = lazy_compile(b'"(?:' + b"|".join(json_string_pattern(n) for n in (
    "usage", "input_tokens", "prompt_tokens")) + b')"')


def initial_state() -> dict:
    return {"prev": None, "model": None, "fb": False, "replay": None}


ParentEvents = Callable[[str, int], "list[list[int]] | None"]


class CodexParser:
    """Per-file delta algorithm (§3.3) plus fork/sub-agent replay skipping (§3.4).

    ``parent_events(parent_id, until_ms)`` returns the parent's usage events (five numbers
    each) up to the fork time, or None when the parent file is not found.
    """

    def __init__(self, file: LocalFile, pricer, state: dict | None = None,
                 parent_events: ParentEvents | None = None, mtime_ms: int = 0, replays: bool = True,
                 fast: bool = False) -> None:
        self.file = file
        self.pricer = pricer
        self.state = state if state is not None else initial_state()
        self.parent_events = parent_events
        self.mtime_ms = mtime_ms
        self.replays = replays
        #: the home's config.toml sets service_tier "fast": models priced as ``<model>-fast``,
        #: flagged as a guess (the config is today's, the logs do not say what a session used)
        self.fast = fast
        self.skipped = 0
        self.duplicates = 0
        #: plan-limit samples of the rows read (spec/quotas.md §1.1), merged as the store's upsert
        #: would merge them; None: not collected
        self.quotas: RowMerger | None = None
        self.quota_account = ""
        # the last rate_limits read (as bytes: ``==`` takes true for 1) and, when they read the same
        # whatever the time, their rows: a rollout repeats them unchanged on most turns, and such
        # a repeat is only a sighting of the same rows
        self._last_limits: bytes | None = None
        self._last_quota_rows: list | None = None
        self._parent_cache: list[list[int]] | None = None

    # -- events -----------------------------------------------------------------------
    def events(self, lines: Iterable[bytes]):
        """Yield ``(ts_ms, ts_str, model, fallback, [in, cached, out, reasoning, total])``."""
        search = _EVENT_MARK.search
        for line in lines:
            # an escaped spelling needs a backslash: a one-byte search rules most lines out
            if not search(line) and (b"\\" not in line or b"\\u00" not in line
                                     or not _EVENT_MARK_ANY.search(line)):
                continue
            try:
                obj = loads(line)
            except ValueError:
                self.skipped += 1
                continue
            if type(obj) is not dict:
                self.skipped += 1
                continue
            kind, payload = obj.get("type"), obj.get("payload")
            if type(payload) is not dict:
                continue
            if kind == "turn_context":
                m = model_of(payload)
                if m:
                    self.state["model"], self.state["fb"] = m, False
                if self.state.get("cwd") is None:  # a rollout whose session_meta names no folder
                    self._project(payload.get("cwd"))
                self._turn_started(payload)
                continue
            if kind == "session_meta":
                self._session_meta(payload, obj.get("timestamp"))
                continue
            if kind != "event_msg":
                continue
            if payload.get("type") == "task_started":
                self._turn_started(payload)
                continue
            if payload.get("type") != "token_count":
                continue
            ts = obj.get("timestamp")
            ts_ms = parse_ts_ms(ts) if type(ts) is str else None
            if ts_ms is None:
                self.skipped += 1
                continue
            info = payload.get("info")
            pending = None
            if self.quotas is not None and payload.get("rate_limits") is not None:
                rp = self.state.get("replay")
                if not rp or rp["mode"] == "done":
                    self._quota(payload["rate_limits"], ts_ms)
                elif rp["mode"] == "match":
                    pending = payload["rate_limits"]  # kept only if this row is not a replay
            if info is None:
                continue  # rate-limit refresh
            if type(info) is not dict:
                self.skipped += 1
                continue
            total = token_usage(info.get("total_token_usage")) if info.get("total_token_usage") is not None else None
            last = token_usage(info.get("last_token_usage")) if info.get("last_token_usage") is not None else None
            if info.get("total_token_usage") is not None and total is None:
                self.skipped += 1
                continue
            prev = self.state["prev"]
            advanced = total is None or total != prev
            if last is not None and advanced:
                raw = last
            elif total is not None:
                raw = [max(0, t - (prev[i] if prev else 0)) for i, t in enumerate(total)]
            else:
                raw = None
            if total is not None:
                self.state["prev"] = total
            if raw is None or not (raw[0] or raw[1] or raw[2] or raw[3]):
                if total is not None and not advanced:
                    self.duplicates += 1
                continue
            if max(raw) > MAX_TOKENS:  # one request this large is corrupt data
                self.skipped += 1
                continue
            model = model_of(payload) or model_of(info) or self.state["model"]
            fallback = False
            if model is None:
                model, fallback = FALLBACK_MODEL, True
                self.state["fb"] = True
            elif model == "codex-auto-review":
                model, fallback = auto_review(ts[:10]), True
            raw[1] = min(raw[1], raw[0])
            if self._replayed(ts, raw):
                self.duplicates += 1
                continue
            if pending is not None:
                self._quota(pending, ts_ms)
            yield ts_ms, ts, model, fallback, raw

    def _quota(self, rate_limits, ts_ms: int) -> None:
        seen = value_bytes(rate_limits)
        if seen is not None and seen == self._last_limits and self._last_quota_rows is not None:
            for r in self._last_quota_rows:
                self.quotas.seen(r, ts_ms, ts_ms)
            return
        obs, timeless = codex_readings(rate_limits, ts_ms, self.quota_account, self.file.session or "")
        rows = [quota_row(o) for o in obs]
        for r in rows:
            self.quotas.add(r)
        self._last_limits, self._last_quota_rows = seen, (rows if timeless else None)

    def _project(self, cwd) -> None:
        """The session's project: the folder it started in (the first ``cwd`` read; a fork's
        own session_meta comes before the lines it copies from its parent)."""
        if self.state.get("cwd") is None and folder(cwd):
            self.state["cwd"] = cwd

    def _session_meta(self, payload: dict, line_ts=None) -> None:
        self._project(payload.get("cwd"))
        parent = payload.get("forked_from_id")
        src = payload.get("source")
        if not parent and type(src) is dict:
            spawn = (src.get("subagent") or {}).get("thread_spawn") if type(src.get("subagent")) is dict else None
            if type(spawn) is dict:
                parent = spawn.get("parent_thread_id")
        if self.replays and parent and type(parent) is str and self.state.get("replay") is None:
            ts = payload.get("timestamp")
            until = parse_ts_ms(ts) if type(ts) is str else None
            if until is None and type(line_ts) is str:
                until = parse_ts_ms(line_ts)
            self.state["replay"] = {"parent": parent, "until": until, "mode": "match", "idx": 0, "turn": False}

    # Replays (§3.4). A fork or sub-agent file first copies its parent's history. Rows are
    # replayed until the file's own first turn starts: a turn whose start (turn_start_ms) is
    # at or after the fork's time (to the second) is the fork's own, an earlier one is the
    # parent's. A turn without a start time: while the parent's rows are matched in order
    # (ccusage's prefix rule, parent file found) the first row that differs ends the replay;
    # otherwise the file's first turn ends it (tokscale's rule). No time window decides.
    def _turn_started(self, payload: dict) -> None:
        rp = self.state.get("replay")
        if not rp or rp["mode"] == "done":
            return
        start = turn_start_ms(payload)
        until = rp.get("until")
        if start is not None and until is not None:
            rp["mode"] = "done" if start >= until // 1000 * 1000 else "skip"
            rp["timed"] = True
        elif rp["mode"] == "skip" and not rp.get("timed"):
            rp["mode"] = "done"  # no start time known: the file's own first turn
        else:
            rp["turn"] = True

    def _replayed(self, ts: str, raw: list[int]) -> bool:
        rp = self.state.get("replay")
        if not rp or rp["mode"] == "done":
            return False
        if rp["mode"] == "match":
            if self._parent_cache is None:
                until = rp["until"] if rp["until"] is not None else 2**62
                got = self.parent_events(rp["parent"], until) if self.parent_events else None
                self._parent_cache = got if got is not None else []
                if got is None:  # no parent file: the file's own first turn ends the replay
                    rp["mode"] = "done" if rp.get("turn") else "skip"
                    if rp["mode"] == "done":
                        return False
            if rp["mode"] == "match":
                parent = self._parent_cache
                if rp["idx"] < len(parent) and parent[rp["idx"]] == raw:
                    rp["idx"] += 1
                    return True
                if rp["idx"] > 0 or rp.get("turn"):  # the parent's rows ended, or a turn began
                    rp["mode"] = "done"
                    return False
                rp["mode"] = "skip"  # nothing matched: replayed rows until the file's own turn
        return rp["mode"] == "skip"

    def _headless(self, line: bytes):
        if not _HEADLESS_MARK.search(line):  # any spelling JSON allows (spaces, escapes)
            return None
        try:
            obj = loads(line)
        except ValueError:
            self.skipped += 1
            return None
        if type(obj) is not dict:
            return None
        usage = None
        for path in (("usage",), ("data", "usage"), ("result", "usage"), ("response", "usage")):
            node = obj
            for p in path:
                node = node.get(p) if type(node) is dict else None
            if type(node) is dict:
                usage = node
                break
        raw = token_usage(usage) if usage is not None else None
        if raw is None or not (raw[0] or raw[2]):
            return None
        if max(raw) > MAX_TOKENS:
            self.skipped += 1
            return None
        ts_ms = None
        for k in ("timestamp", "created_at", "createdAt"):
            v = obj.get(k)
            if type(v) is str:
                ts_ms = parse_ts_ms(v)
                if ts_ms:
                    break
        ts_ms = ts_ms or self.mtime_ms or 0
        if not MIN_MS <= ts_ms < MAX_MS:  # no time in the line, and no usable file time
            self.skipped += 1
            return None
        model = model_of(obj)
        fallback = model is None
        raw[1] = min(raw[1], raw[0])
        return ts_ms, "", model or FALLBACK_MODEL, fallback, raw

    # -- records ----------------------------------------------------------------------
    def records(self, lines: Sequence[bytes], start_offset: int = 0) -> list[UsageRecord]:
        """Records for complete ``lines`` whose first byte is at ``start_offset`` in the file."""
        f = self.file
        if f.kind == "headless":  # no stable content key: a line is identified by its offset
            if start_offset == 0 and lines:
                # and by the run: a file the next `codex exec --json` run rewrites is new content
                # (its first line names the new thread), never a replay of the earlier run
                self.state["head"] = hashlib.sha1(lines[0]).hexdigest()[:16]
            head = self.state.get("head")
            tag = f"#{head}" if head else ""  # no head: a cursor from before heads were kept
            evs, off = [], start_offset
            for line in lines:
                ev = self._headless(line)
                if ev:
                    evs.append((f"{f.rel}@{off}{tag}", ev))
                off += len(line) + 1
        else:
            evs = [(None, ev) for ev in self.events(lines)]
        out = []
        project = self.state.get("cwd") or f.project
        for key, (ts_ms, _ts, model, fallback, raw) in evs:
            inp, cached, outp, reas, total = raw
            key = key or f"{ts_ms}|{model}|{inp}|{cached}|{outp}|{reas}|{total}"  # the config never changes it
            if self.fast:
                model, fallback = model + FAST_SUFFIX, True
            cost = self.pricer.cost_pico(model, inp - cached, outp, 0, 0, cached)
            out.append(UsageRecord(SOURCE, key, ts_ms, model, inp - cached, outp, 0, 0, cached, reas,
                                   project, f.session, cost, UNPRICED if cost is None else ESTIMATED,
                                   model_fallback=fallback))
        return out


def read_events(path: str, until_ms: int) -> list[list[int]] | None:
    """A rollout's usage events up to ``until_ms``, as the child of a fork replays them.

    A fork copies every row of its parent's file, so no replay skipping applies here."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    parser = CodexParser(LocalFile(path, SOURCE, None, None, path), None, replays=False)
    return [raw for ts_ms, _t, _m, _fb, raw in parser.events(data.split(b"\n")) if ts_ms <= until_ms]


def parse_lines(chunks, file: LocalFile, state: dict | None, ctx, row_of, mtime_ms: int = 0):
    """:data:`~tokentui.sources.readers.ParseLines` for rollouts: ledger rows, the delta state."""
    from tokentui.sources.readers import LinesParsed

    shared = ctx.shared.get(SOURCE) or {}
    sessions = shared.get("sessions") or {}

    def parent_events(pid: str, until: int):
        path = sessions.get(pid)
        return read_events(path, until) if path else None

    parser = CodexParser(file, ctx.pricer, dict(state) if state is not None else None, parent_events, mtime_ms,
                         fast=home_of(file) in (shared.get("fast_homes") or ()))
    parser.quotas, parser.quota_account = RowMerger(), quota_account(home_of(file))
    rows: list = []
    for lines, start in chunks:
        for r in parser.records(lines, start):
            row = row_of(r, False)
            if row is None:
                parser.skipped += 1
            else:
                rows.append(row)
    # a rollout repeats its plan limits on every turn: merged here (as the store's upsert would
    # merge them), the writer stores a few hundred samples instead of tens of thousands
    return LinesParsed(rows, parser.skipped, parser.duplicates, parser.state, parser.quotas.rows())


def quota_account(home: str) -> str:
    """The account key of a Codex home's plan-limit samples (spec/quotas.md §1.1): the logs name
    no account, and auth.json holds secrets, so the home stands for it."""
    return "openai:codex:" + hashlib.sha256(os.path.realpath(home).encode()).hexdigest()[:12]


def _reader():
    from tokentui.sources.readers import JsonlLog

    # revision 2: records carry the session's folder as their project (stored rows get it on
    # the first sync after the upgrade, which reads the rollouts again)
    return JsonlLog(where=where, discover=discover, parse=parse_lines, prepare=prepare, looked=looked, revision=2)


READER = _reader()
