"""Cline's session format (the CLI and the SDK-based extension; spec/agents.md §10.5), read as
part of the ``cline`` source next to the task format of :mod:`tokentui.sources.cline`.

Why one source: it is the same product's usage. Cline's SDK (``@cline/core``) writes this
format for the CLI (npm ``cline``), for JetBrains and, since the SDK migration, for the VS Code
extension too, which now only *reads* the old ``tasks/<id>/`` folders (it resumes such a task
into a session with the same id). One registry entry keeps one status line, ``--source cline``
filter and budget scope for a user's Cline usage whichever front end spent it; the task reader
is reused unchanged (a :class:`~tokentui.sources.readers.Combined` of both parts), so this
module adds to :mod:`~tokentui.sources.cline` without editing it.

Layout (Cline ``sdk/packages/core/src/services/session-artifacts.ts``,
``docs/messages-contract-v1.md``)::

    <sessions>/<session id>/<session id>.json           manifest (session_id, model, cwd,
                                                        workspace_root, metadata{usage,
                                                        aggregateUsage, fork, …}): never summed
    <sessions>/<session id>/<session id>.messages.json  {version, sessionId, agent, messages[]}
    <sessions>/<session id>/<agent id>.messages.json    a sub-agent's or teammate's run
                                                        (``<agent>__<team task>`` for team tasks)

``<sessions>`` is ``$CLINE_SESSION_DATA_DIR``, else ``<data>/sessions`` of each Cline data dir
(``$CLINE_DATA_DIR``, else ``$CLINE_DIR/data``, else ``~/.cline/data``; ccusage's ``$CLINE_HOME``
roots as the task reader takes them, and their ``sessions/`` too); plus ``sessions/`` of the
extension's ``globalStorage/saoudrizwan.claude-dev`` in every VS Code family user dir (ccusage
scans there; not seen written by Cline's current source) and config roots.

Each ``*.messages.json`` is rewritten whole (read as a
:class:`~tokentui.sources.readers.RewrittenJson`; rows a rewrite drops, e.g. metrics stripped
by a compaction, are kept: those tokens were spent). A record is an ``assistant`` message with
``metrics{inputTokens, outputTokens, cacheReadTokens, cacheWriteTokens, cost,
reasoningTokenCount?}``: one per model call (the SDK stamps each call's delta on the last
assistant message it produced). ``inputTokens`` follows the AI SDK convention, the *whole*
input with the cache included (Cline ``sdk/packages/core/src/services/agent-events.ts``
``legacyTokenUsageFromUsageEvent``), so uncached = input − cache read − cache write; a value
smaller than its cache part cannot be inclusive (the host-registered ``ApiHandler`` providers
report it uncached) and is taken as is. ``reasoningTokenCount`` is part of the output. Time
``ts`` (epoch ms); model ``modelInfo.id`` (else the manifest's ``model``, flagged as a
fallback); the logged ``cost`` is kept as the logged cost, as for the task format.

Counted once:

* Key ``session-msg|<message id>`` (the SDK gives every stored message a stable id), the same
  in every file: a forked session (and a resumed one, rewritten in place) carries earlier
  messages over with their ids and metrics, and they upsert into one row. A copy is attributed to
  the session it was first spent in (a fork's manifest names its parent and the time of the
  fork: messages up to then are the parent's). A message without an id (not written by the
  current SDK) is keyed by its time, model and counts.
* The manifest's ``metadata.usage`` and ``metadata.aggregateUsage`` (which folds in
  sub-agents, read from their own files) are rollups: never read.
* A classic task resumed in the SDK-based extension: its ``tasks/<id>/ui_messages.json`` (read
  by the task reader, per request) is converted into the session ``<id>`` followed by a user
  message "this is a legacy conversation, which means tool names may have changed…"; the
  converter stamps the *task's totals* (from ``taskHistory``) as ``metrics`` on the last
  converted assistant message (Cline ``apps/vscode/src/sdk/legacy-task-handling.ts``). That
  message is never counted (converted history carries no other metrics).
* ``*.compaction.json`` (a projection of the same messages) and ``hooks.jsonl`` are not read.

Sub-agent and teammate files count under their root session (the folder); a session id
``<root>__<agent>`` of the older one-folder-per-sub-agent layout is attributed to ``<root>``.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Sequence

from tokentui.core.records import ESTIMATED, UNPRICED, UsageRecord, to_pico
from tokentui.sources import cline
from tokentui.sources.common import INVALID as _BAD
from tokentui.sources.common import (MAX_MS, MAX_TOKENS, MIN_MS, LocalFile, existing_dirs, loads, parse_ts_ms,
                                     real_roots, walk_files)
from tokentui.sources.common import optional_count as _count

SUFFIX = ".messages.json"
KEY_PREFIX = "session-msg|"
#: the user message the extension appends after a converted classic task (legacy-task-handling.ts)
LEGACY_WARNING = "this is a legacy conversation, which means tool names may have changed"
_METRIC_KEYS = ("inputTokens", "outputTokens", "cacheWriteTokens", "cacheReadTokens")
MAX_FORK_HOPS = 16  # a fork of a fork of …: parents followed at most this far
MAX_NAME = 200  # a model or project name longer than this is not one


# -- where ----------------------------------------------------------------------------------
def _env_list(name: str) -> list[str]:
    return [p.strip() for p in os.environ.get(name, "").split(",") if p.strip()]


def _home_candidates() -> tuple[list[str], str | None, str | None]:
    """Cline's own sessions folders (found or not), and the env var that named them."""
    explicit = _env_list("CLINE_SESSION_DATA_DIR")
    if explicit:
        return explicit, "CLINE_SESSION_DATA_DIR", os.environ["CLINE_SESSION_DATA_DIR"].strip()
    homes, name, env = cline._cline_homes()
    out = [os.path.join(h, "sessions") for h in homes]
    if name == "CLINE_HOME":  # ccusage's roots: an archive may hold sessions/ at its top too
        out += [os.path.join(p, "sessions") for p in _env_list("CLINE_HOME")]
    return out, name, env


def _editor_candidates() -> list[str]:
    return [os.path.join(d, "User", "globalStorage", cline.CLINE.extension, "sessions")
            for d in cline.editor_user_dirs()]


def _sessions_dir(d: Path) -> Path:
    """The ``sessions`` folder a configured root means: itself, ``<d>/sessions``,
    ``<d>/data/sessions`` (a Cline home), ``<d>/<ext>/sessions`` (a globalStorage folder) or
    ``<d>/User/globalStorage/<ext>/sessions`` (a VS Code user dir)."""
    if d.name == "sessions":
        return d
    ext = cline.CLINE.extension
    for cand in (d / "sessions", d / "data" / "sessions", d / ext / "sessions",
                 d / "User" / "globalStorage" / ext / "sessions"):
        if cand.is_dir():
            return cand
    return d / "sessions"


def _home_sessions() -> tuple[list[Path], str | None]:
    """Cline's own sessions folders that exist, and a problem when an env var named none (a
    Cline data dir with only ``tasks/`` is not one: the task reader reads it)."""
    homes, name, env = _home_candidates()
    got = existing_dirs(os.path.expanduser(h) for h in homes)
    if not name or got:
        return got, None
    if name == "CLINE_SESSION_DATA_DIR":
        return got, f"no Cline sessions folder in {name} ({env})"
    if existing_dirs(Path(os.path.expanduser(h)) / "tasks" for h in cline._cline_homes()[0]):
        return got, None
    return got, f"no Cline data folder with sessions/ or tasks/ in {name} ({env})"


def session_roots(extra: Sequence[str] = ()) -> tuple[list[Path], str | None]:
    """The sessions folders that exist, and a problem when an env var named none."""
    got, problem = _home_sessions()
    editors = [c for c in _editor_candidates() if os.path.isdir(os.path.dirname(c))]
    cands = got + existing_dirs(editors) + [_sessions_dir(Path(os.path.expanduser(e))) for e in extra]
    return existing_dirs(cands), problem


def looked(extra: Sequence[str] = ()) -> list[str]:
    """Every sessions folder tried, found or not."""
    cands = [os.path.expanduser(h) for h in _home_candidates()[0]] + _editor_candidates()
    cands += [str(_sessions_dir(Path(os.path.expanduser(e)))) for e in extra]
    return list(dict.fromkeys(cands))


def where(extra: Sequence[str] = ()) -> tuple[list[str], str | None]:
    found, problem = session_roots(extra)
    return [str(r) for r in found], problem


def discover(extra: Sequence[str] = (), errors: list[str] | None = None) -> tuple[list[LocalFile], str | None]:
    """``<sessions>/<session id>/*.messages.json`` under each sessions folder, sorted by path;
    links are followed only while they stay under a folder read."""
    rts, problem = session_roots(extra)
    within = real_roots(rts)
    files, seen = [], set()
    for root in rts:
        for path in walk_files(root, (SUFFIX,), errors, max_depth=1, within=within):
            parts = Path(os.path.relpath(path, root)).parts
            real = os.path.realpath(path)
            if len(parts) != 2 or not parts[1].endswith(SUFFIX) or real in seen:
                continue
            seen.add(real)
            files.append(LocalFile(path, cline.CLINE.source, None, parts[0], "sessions/" + "/".join(parts)))
    files.sort(key=lambda f: f.path)
    return files, problem


# -- parse ----------------------------------------------------------------------------------
def _name(v) -> str | None:
    return v.strip() if type(v) is str and v.strip() and len(v.strip()) <= MAX_NAME else None


def _root_session(session: str) -> str:
    """The root of a sub-session id ``<root>__<agent>`` (Cline's ``makeSubSessionId``)."""
    root = session.split("__", 1)[0]
    return root or session


def _manifest(sessions_dir: str, session: str) -> dict:
    doc = cline._read_side(os.path.join(sessions_dir, session, session + ".json"))
    return doc if type(doc) is dict else {}


def _fork(manifest: dict) -> tuple[str, int] | None:
    """``(parent session id, fork time in ms)`` of a forked session's manifest, or None."""
    meta = manifest.get("metadata")
    fork = meta.get("fork") if type(meta) is dict else None
    if type(fork) is not dict:
        return None
    parent, at = _name(fork.get("forkedFromSessionId")), fork.get("forkedAt")
    at_ms = parse_ts_ms(at) if type(at) is str else None
    return (parent, at_ms) if parent and at_ms is not None else None


class _Origins:
    """The session a message was first spent in: a fork's copies of its parent's messages (up
    to the fork's time) belong to the parent, and so on up a chain of forks."""

    def __init__(self, sessions_dir: str, session: str, manifest: dict) -> None:
        self.dir = sessions_dir
        self.chain: list[tuple[str, int]] = []  # (parent, fork time), nearest first
        seen = {session}
        fork = _fork(manifest)
        while fork and len(self.chain) < MAX_FORK_HOPS and fork[0] not in seen:
            self.chain.append(fork)
            seen.add(fork[0])
            fork = _fork(_manifest(sessions_dir, fork[0]))

    def of(self, session: str, ts: int) -> str:
        for parent, at in self.chain:
            if ts > at:
                break
            session = parent
        return session


def _ts(v) -> int | None:
    if type(v) is float and math.isfinite(v) and v.is_integer():
        v = int(v)
    if type(v) is int:
        return v if MIN_MS <= v < MAX_MS else None
    return parse_ts_ms(v) if type(v) is str else None


def _text(content) -> str:
    if type(content) is str:
        return content
    if type(content) is list:
        return "\n".join(c["text"] for c in content if type(c) is dict and type(c.get("text")) is str)
    return ""


def _legacy_rollup_index(messages: list) -> int | None:
    """The index of the converted classic task's totals: the last assistant message before the
    extension's legacy-resume warning, or None (not a converted task)."""
    last = None
    for i, m in enumerate(messages):
        if type(m) is not dict:
            continue
        if m.get("role") == "assistant":
            last = i
        elif m.get("role") == "user" and LEGACY_WARNING in _text(m.get("content")):
            return last
    return None


def _metrics(m) -> list | None:
    """``[input, output, cache write, cache read, reasoning]`` of a ``metrics`` object (None: not
    one, or all zero), or ``_BAD``."""
    if type(m) is not dict or not any(k in m for k in _METRIC_KEYS):
        return None
    got = [_count(m.get(k)) for k in (*_METRIC_KEYS, "reasoningTokenCount")]
    if any(g is _BAD for g in got) or max(got) > MAX_TOKENS:
        return _BAD
    return got


def _logged(cost) -> int | None:
    ok = type(cost) in (int, float) and math.isfinite(cost) and 0 < cost < cline.MAX_COST_USD
    return to_pico(cost) if ok else None


def parse_file(data: bytes, file: LocalFile, pricer, mtime_ms: int = 0) -> tuple[list[UsageRecord], int]:
    """Usage records of one ``*.messages.json`` and how many corrupt messages (or a corrupt
    file) were skipped. Never raises on bad input."""
    try:
        doc = loads(data)
    except ValueError:
        return [], 1  # caught mid-write (or damaged): read again when it changes
    messages = doc.get("messages") if type(doc) is dict else None
    if type(messages) is not list:
        return [], 1
    folder = os.path.dirname(file.path)
    sessions_dir, dir_name = os.path.dirname(folder), os.path.basename(folder)
    session = _root_session(file.session or dir_name)
    manifest = _manifest(sessions_dir, dir_name)
    origins = _Origins(sessions_dir, session, manifest)
    where = _name(manifest.get("workspace_root")) or _name(manifest.get("cwd"))
    project = _name(os.path.basename(where.rstrip("/\\"))) if where else None
    fallback_model = _name(manifest.get("model"))
    rollup = _legacy_rollup_index(messages)
    out: list[UsageRecord] = []
    skipped = 0
    keys: set[str] = set()
    for i, m in enumerate(messages):
        if type(m) is not dict or m.get("role") != "assistant" or i == rollup:
            continue
        counts = _metrics(m.get("metrics"))
        if counts is None:
            continue
        ts = _ts(m.get("ts"))
        if counts is _BAD or ts is None:
            skipped += 1
            continue
        tin, tout, cw, cr, reasoning = counts
        if not (tin or tout or cw or cr):
            continue
        info = m.get("modelInfo")
        model = _name(info.get("id")) if type(info) is dict else None
        fell_back = model is None
        model = model or fallback_model
        inp = tin - cw - cr if tin >= cw + cr else tin
        mid = _name(m.get("id"))
        key = KEY_PREFIX + (mid if mid else f"{ts}|{model or ''}|{tin}|{tout}|{cw}|{cr}")
        if key in keys:
            continue
        keys.add(key)
        metrics = m["metrics"]
        logged = _logged(metrics.get("cost"))
        priced = pricer.cost_pico(model, inp, tout, cw, 0, cr) if pricer is not None and model else None
        out.append(UsageRecord(cline.CLINE.source, key, ts, model, inp, tout, cw, 0, cr,
                               reasoning if reasoning <= tout else 0, project, origins.of(session, ts), priced,
                               UNPRICED if priced is None else ESTIMATED, model_fallback=fell_back,
                               logged_cost_pico=logged))
    return out, skipped


def _reader():
    from tokentui.sources.readers import RewrittenJson

    return RewrittenJson(where=where, discover=discover, parse_file=parse_file, looked=looked)


SESSIONS_READER = _reader()


def _combined():
    """The ``cline`` source: the task folders (:data:`tokentui.sources.cline.CLINE_READER`) and
    the sessions folders. An env var naming a Cline home with only one of ``tasks/`` and
    ``sessions/`` is not a problem."""
    from tokentui.sources.readers import Combined, RewrittenJson

    tasks = cline.CLINE_READER

    def quiet(problem: str | None) -> str | None:
        return None if problem and _home_sessions()[0] else problem

    def tasks_where(extra: Sequence[str] = ()) -> tuple[list[str], str | None]:
        found, problem = tasks.where(extra)
        return found, quiet(problem)

    def tasks_discover(extra: Sequence[str] = (), errors: list[str] | None = None):
        files, problem = tasks.discover(extra, errors)
        return files, quiet(problem)

    return Combined((RewrittenJson(where=tasks_where, discover=tasks_discover, parse_file=tasks.parse_file,
                                   looked=tasks.looked), SESSIONS_READER))


CLINE_READER = _combined()
