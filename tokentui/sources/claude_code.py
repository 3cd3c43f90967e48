"""Claude Code transcripts (spec/local-logs.md §2): discovery, line validation, the parser.

Pure parsing: no store, no UI. The ingest service feeds appended bytes to :class:`ClaudeParser`
and resolves duplicates against stored entries with
:func:`tokentui.sources.claude_dedupe.resolve_duplicates`.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Iterable, Sequence

from tokentui.core.lazy_re import lazy_compile
from tokentui.core.pricing import FAST_SUFFIX
from tokentui.core.projects import encoded
from tokentui.core.records import MAX_TOKENS, ESTIMATED, UNPRICED, UsageRecord, storable_cost, to_pico
from tokentui.sources.claude_dedupe import Kept, resolve_duplicates
from tokentui.sources.claude_desktop import DesktopRoot, desktop_roots
from tokentui.sources.common import (
    JSON_WS,
    LocalFile,
    folder,
    json_string_pattern,
    loads,
    parse_ts_ms,
    real_roots,
    token_count,
    walk_files,
)

SOURCE = "claude-code"
SYNTHETIC = "<synthetic>"
#: usage lines of a file tried for the folder its project dir encodes (the first has it, unless
#: the session changed folder at once); a dir name cut to 200 characters matches none
FOLDER_TRIES = 3

# ccusage drops a usage line when any of these keys is literally null anywhere in it (§2.3)
_NULL_KEY_NAMES = frozenset((b"id", b"cwd", b"model", b"speed", b"costUSD", b"version", b"sessionId", b"requestId",
                             b"isApiErrorMessage", b"cache_read_input_tokens", b"cache_creation_input_tokens"))
_TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{3})?(?:Z|[+-]\d{2}:\d{2})$")
_VERSION = re.compile(r"^\d+\.\d+\.\d+")
_USAGE_MARK = b'"usage":{'  # how Claude Code writes it
_USAGE_KEY = lazy_compile(b'"' + json_string_pattern("usage") + b'"' + JSON_WS + b":" + JSON_WS + rb"\{")


def _candidates(extra: Sequence[str] = ()) -> list[Path]:
    env = os.environ.get("CLAUDE_CONFIG_DIR")
    if env is not None and env.strip():
        cands = [Path(os.path.expanduser(p.strip())) for p in env.split(",") if p.strip()]
    else:
        xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
        cands = [Path(xdg) / "claude", Path(os.path.expanduser("~/.claude"))]
    return cands + [Path(os.path.expanduser(p)) for p in extra]


def looked(extra: Sequence[str] = ()) -> list[str]:
    """Every ``projects/`` folder tried, found or not."""
    return [str(c if c.name == "projects" else c / "projects") for c in _candidates(extra)]


def roots(extra: Sequence[str] = ()) -> tuple[list[Path], str | None]:
    """Claude config roots that have a ``projects/`` dir, and a problem message if none.

    ``CLAUDE_CONFIG_DIR`` (comma list) replaces the defaults ``$XDG_CONFIG_HOME/claude`` (or
    ``~/.config/claude``) and ``~/.claude``; ``extra`` roots from config are added.
    """
    env = os.environ.get("CLAUDE_CONFIG_DIR")
    from_env = env is not None and bool(env.strip())
    cands = _candidates(extra)
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


def discover(extra: Sequence[str] = (), errors: list[str] | None = None,
             desktop: Sequence[DesktopRoot] | None = None) -> tuple[list[LocalFile], str | None]:
    """Every ``*.jsonl`` under ``<root>/projects/`` of each root (Claude Code's and Claude
    Desktop's), sorted by path. Links are followed only while they stay under one of those
    ``projects/`` folders. Desktop transcripts are Claude Code's: the same parser and one
    dedupe table, so a request in both places counts once."""
    rts, problem = roots(extra)
    if desktop is None:
        desktop = desktop_roots(errors=errors)
    seen = {os.path.realpath(r) for r in rts}
    tagged = [(r, "", None) for r in rts] + [(d.root, d.rel + "/", d.space) for d in desktop
                                              if os.path.realpath(d.root) not in seen]
    files: list[LocalFile] = []
    within = real_roots(root / "projects" for root, _, _ in tagged)
    for root, rel_prefix, space in tagged:
        proj = root / "projects"
        cut = len(str(proj)) + len(os.sep)  # walk_files joins names to str(proj): string ops, not Path (~3x faster)
        for path in walk_files(proj, (".jsonl",), errors, within=within):
            rel = path[cut:].split(os.sep)
            if len(rel) < 2:
                continue
            project = space or rel[0]
            if len(rel) == 2:
                session = rel[1][:-len(".jsonl")] if len(rel[1]) > len(".jsonl") else rel[1]  # Path.stem
            elif rel[-2] == "subagents" and len(rel) >= 4:
                session = rel[-3]
            else:
                session = rel[-2]
            files.append(LocalFile(path, SOURCE, project, session, rel_prefix + "/".join(rel)))
    files.sort(key=lambda f: f.path)
    return files, problem


class ClaudeEntry:
    """One usage line's record and what the dedupe rules ask of it. A plain slotted class: as
    cheap to make as a slotted dataclass (one per line), and nothing to build at import, which
    every command pays."""

    __slots__ = ("record", "req_id", "has_speed")

    def __init__(self, record: UsageRecord, req_id: str | None, has_speed: bool) -> None:
        self.record = record
        self.req_id = req_id
        self.has_speed = has_speed


def _maybe_usage(line: bytes) -> bool:
    """Whether ``line`` may be a usage line: it has a ``"usage"`` key with an object value,
    in any spelling a JSON writer may use (spaces around the colon, escaped letters). Hot
    (every line of every transcript), so each line is scanned as few times as can be: one
    search for ``"usage"``, which settles the compact form Claude Code writes; without it,
    only a line with a backslash (a one-byte search) can spell the key with a ``\\u00``
    escape, and only such a line is searched again. The regex decides the rest. Never false
    for a line whose JSON has such a key."""
    i = line.find(b'"usage"')
    if i >= 0:
        return line.startswith(_USAGE_MARK, i) or _USAGE_KEY.search(line) is not None
    return b"\\" in line and b"\\u00" in line and _USAGE_KEY.search(line) is not None


def _has_null_key(line: bytes) -> bool:
    """Whether one of the §2.3 keys is literally ``null`` anywhere in ``line``: some
    ``"<key>":null`` in the raw bytes (as a regex would find it, about twice as fast)."""
    i = line.find(b'":null')
    while i >= 0:
        if line[line.rfind(b'"', 0, i) + 1:i] in _NULL_KEY_NAMES:
            return True
        i = line.find(b'":null', i + 6)
    return False

#: ClaudeParser._fields() result for a valid line without ``message.usage``: not counted at all
NOT_USAGE = object()

# the fields of one valid usage line, before pricing (see ClaudeParser._fields)
_Fields = tuple  # (key, msg_id, sidechain, total, has_speed, ts_ms, model, in, out, c5, c1, cr, logged, req_id)


class ClaudeParser:
    """Turns Claude Code transcript lines into entries (validation of §2.3).

    Streamed copies of one response (§2.4 (a): one line per content block, same message id
    and request id) that follow each other are collapsed here to the copy the dedupe rules
    would keep, and counted in ``collapsed``: for consecutive entries with the same key and
    sidechain flag, keeping only the winner gives the same result as resolving each in turn
    (see :func:`resolve_duplicates`), and the losers are never priced.
    """

    def __init__(self, file: LocalFile, pricer, mode: str = "auto") -> None:
        self.file = file
        self.pricer = pricer
        self.mode = mode
        self.skipped = 0
        self.collapsed = 0
        self._pending: _Fields | None = None
        self._ts: tuple[str | None, int | None] = (None, None)  # streamed copies share a timestamp: parse once
        self._version: str | None = None  # the last valid version string
        #: the folder the file's project dir name encodes (a usage line's ``cwd`` that encodes to
        #: it: the session's start folder), for naming projects (:mod:`tokentui.core.projects`)
        self.folder: str | None = None
        self._folder_tries = FOLDER_TRIES if file.project else 0  # -home-me-api, C--Users-me-api

    def feed(self, lines: Iterable[bytes], final: bool = True) -> list[ClaudeEntry]:
        """Entries for ``lines``. With ``final=False`` the last entry may be held back (a later
        streamed copy could replace it): call again, ending with ``final=True``."""
        out: list[ClaudeEntry] = []
        pending = self._pending
        for line in lines:
            if not _maybe_usage(line):
                continue
            f = self._fields(line)
            if f is None:
                self.skipped += 1
                continue
            if f is NOT_USAGE:
                continue
            if pending is not None:
                if f[1] is not None and f[0] == pending[0] and f[2] == pending[2]:
                    self.collapsed += 1
                    if f[3] > pending[3] or (f[3] == pending[3] and f[4] and not pending[4]):
                        pending = f
                    continue
                out.append(self._entry(pending))
            pending = f
        if final and pending is not None:
            out.append(self._entry(pending))
            pending = None
        self._pending = pending
        return out

    def _fields(self, line: bytes) -> _Fields | None | object:
        """The fields of a usage line; None for a corrupt one (counted as skipped);
        :data:`NOT_USAGE` for a valid line that is not a usage line (e.g. a user line carrying
        a sub-agent result's ``toolUseResult.usage``)."""
        # hot: one call per usage line, so locals and inline checks (the same as token_count)
        try:
            obj = loads(line)
        except ValueError:
            return None
        if type(obj) is not dict:
            return None
        get = obj.get
        msg = get("message")
        if msg is None or (type(msg) is dict and "usage" not in msg):
            return NOT_USAGE
        if type(msg) is not dict:
            return None
        usage = msg.get("usage")
        if type(usage) is not dict or _has_null_key(line):
            return None
        if self._folder_tries:
            self._find_folder(get("cwd"))
        ts = get("timestamp")
        if ts == self._ts[0]:
            ts_ms = self._ts[1]
        else:
            if type(ts) is not str or not _TS.match(ts):
                return None
            ts_ms = parse_ts_ms(ts)
            self._ts = (ts, ts_ms)
        if ts_ms is None:
            return None
        uget = usage.get
        inp, out = uget("input_tokens"), uget("output_tokens")
        if type(inp) is not int or not 0 <= inp <= MAX_TOKENS:
            inp = token_count(inp)
            if inp is None:
                return None
        if type(out) is not int or not 0 <= out <= MAX_TOKENS:
            out = token_count(out)
            if out is None:
                return None
        version = get("version")
        if version is not None and version != self._version:
            if type(version) is not str or not _VERSION.match(version):
                return None
            self._version = version  # one version per session: checked once
        msg_id, req_id, model, session = msg.get("id"), get("requestId"), msg.get("model"), get("sessionId")
        if ((msg_id is not None and (type(msg_id) is not str or not msg_id))
                or (req_id is not None and (type(req_id) is not str or not req_id))
                or (model is not None and (type(model) is not str or not model))
                or (session is not None and (type(session) is not str or not session))):
            return None
        cc = uget("cache_creation")
        if type(cc) is dict:
            c5 = token_count(cc.get("ephemeral_5m_input_tokens", 0))
            c1 = token_count(cc.get("ephemeral_1h_input_tokens", 0))
        else:
            c5 = token_count(uget("cache_creation_input_tokens", 0))
            c1 = 0
        cr = token_count(uget("cache_read_input_tokens", 0))
        if c5 is None or c1 is None or cr is None:
            return None
        if msg_id is not None:
            key = f"{msg_id}|{req_id or ''}"
        else:
            key = "line:" + hashlib.sha1(self.file.rel.encode() + b"\0" + line).hexdigest()
        logged = get("costUSD")
        logged_pico = storable_cost(to_pico(logged)) if type(logged) in (int, float) and logged >= 0 else None
        speed = uget("speed")
        if speed == "fast" and model is not None and model != SYNTHETIC:
            model += FAST_SUFFIX  # fast mode: its own price, its own row in breakdowns (ccusage's name)
        return (key, msg_id, get("isSidechain") is True, inp + out + c5 + c1 + cr,
                speed is not None, ts_ms, model, inp, out, c5, c1, cr, logged_pico, req_id)

    def _find_folder(self, cwd) -> None:
        self._folder_tries -= 1
        if _is_folder_of(cwd, self.file):
            self.folder, self._folder_tries = cwd, 0

    def _entry(self, fields: _Fields) -> ClaudeEntry:
        key, msg_id, sidechain, total, has_speed, ts_ms, model, inp, out, c5, c1, cr, logged_pico, req_id = fields
        if model == SYNTHETIC:
            model = None
        if logged_pico is not None and self.mode == "auto":
            cost, label = logged_pico, ESTIMATED
        elif model is None:
            cost, label = (0, ESTIMATED) if total == 0 else (None, UNPRICED)
        else:
            cost = self.pricer.cost_pico(model, inp, out, c5, c1, cr)
            label = UNPRICED if cost is None else ESTIMATED
        f = self.file
        rec = UsageRecord(SOURCE, key, ts_ms, model, inp, out, c5, c1, cr, 0, f.project, f.session, cost, label,
                          msg_id=msg_id, sidechain=sidechain, logged_cost_pico=logged_pico)
        return ClaudeEntry(rec, req_id, has_speed)


def dedupe_item(e: ClaudeEntry, *extra) -> tuple:
    """``(key, msg_id, sidechain, total, has_speed, *extra)``: what :func:`resolve_duplicates`
    reads, as a plain tuple (cheap to send between processes)."""
    r = e.record
    return (r.key, r.msg_id, r.sidechain, r.total, e.has_speed, *extra)


def parse_lines(chunks, file: LocalFile, state, ctx, row_of, _mtime_ms: int = 0):
    """:data:`~tokentui.sources.readers.ParseLines` for transcripts: dedupe items ending with
    each entry's row; streamed copies collapsed here count as duplicates. The state keeps the
    folder the project dir encodes, once found (``{"folder": "/home/me/api"}``)."""
    from tokentui.sources.readers import LinesParsed

    parser = ClaudeParser(file, ctx.pricer, ctx.mode)
    items: list = []

    def take(entries: list[ClaudeEntry]) -> None:
        for e in entries:
            row = row_of(e.record, e.has_speed)
            if row is None:
                parser.skipped += 1
            else:
                items.append(dedupe_item(e, row))

    found = state.get("folder") if type(state) is dict else None  # in an earlier read
    if found:
        parser._folder_tries = 0
    for lines, _start in chunks:
        take(parser.feed(lines, final=False))
    take(parser.feed((), final=True))
    found = found or parser.folder
    return LinesParsed(items, parser.skipped, parser.collapsed, {"folder": found} if found else {})


def head_state(head: bytes, file: LocalFile) -> dict | None:
    """Revision 2 of the reader keeps each transcript's folder in its cursor (see
    :class:`ClaudeParser`): for a file read before, the folder from its first complete lines."""
    if not file.project:
        return None
    for line in head.split(b"\n")[:-1]:
        if b'"cwd"' not in line and b"\\u" not in line:  # no such key, in any spelling JSON allows
            continue
        try:
            obj = loads(line)
        except ValueError:
            continue
        cwd = obj.get("cwd") if type(obj) is dict else None
        if _is_folder_of(cwd, file):
            return {"folder": cwd}
    return None


def _is_folder_of(cwd, file: LocalFile) -> bool:
    """Whether ``cwd`` is the folder the transcript's project dir encodes."""
    return folder(cwd) is not None and encoded(cwd) == file.project


def where(extra: Sequence[str] = ()) -> tuple[list[str], str | None]:
    found, problem = roots(extra)
    return [str(r / "projects") for r in found] + [str(d.root / "projects") for d in desktop_roots()], problem


def _reader():
    from tokentui.sources.readers import Dedupe, JsonlLog

    # revision 2: cursors keep the folder the project dir encodes (stores read before get it from
    # each file's first lines, once)
    return JsonlLog(where=where, discover=discover, parse=parse_lines, dedupe=Dedupe(resolve_duplicates, Kept),
                    looked=looked, revision=2, head_state=head_state)


READER = _reader()
