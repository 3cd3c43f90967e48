"""Cline, Roo Code and Kilo Code tasks (spec/agents.md §10): one task format, three extensions.

``<VS Code user dir>/User/globalStorage/<extension id>/tasks/<task id>/ui_messages.json``: a
JSON array rewritten whole on every change (read as a
:class:`~tokentui.sources.readers.RewrittenJson`: a changed file is parsed again and upserts
the same keys; a task deleted in the editor keeps its history here). A record is a ``say``
message ``api_req_started`` or ``deleted_api_reqs`` whose ``text`` (a JSON string) carries a
token count; an old-generation ``api_req_finished`` gives its usage to the preceding
``api_req_started`` that had none (counted once, at the started ``ts``). An ``api_req_started``
with only ``request`` is in flight (nothing yet); a cancelled request keeps its partial usage.
Key ``<task id>|<ts>``; time ``ts`` (ms).

``tokensIn`` (§10.3): Cline's is taken as uncached input; Roo Code's and Kilo Code's is the
total input for ``apiProtocol:"openai"`` (the cache is subtracted) and for ``"anthropic"`` when
it is at least the cache part (older builds stored the uncached input there: a smaller value is
taken as is). Model: Cline ``task_metadata.json`` ``model_usage`` (the latest entry at or before
the request); Roo/Kilo the ``<model>`` tag of the nearest preceding ``<environment_details>`` in
``api_conversation_history.json`` (else the task's last tag). The extension's own ``cost`` is
kept as the logged cost (``pricing.mode = auto`` uses it); tokens are priced otherwise.

Where: every VS Code family user dir (Code, Insiders, VSCodium, Cursor, Windsurf, … and the
remote servers' ``~/.vscode-server/data``) per OS; Cline also its own home (``$CLINE_DATA_DIR``,
else ``$CLINE_DIR/data``, else ``~/.cline/data``; ccusage's ``$CLINE_HOME``); plus config roots
(a user dir, a ``globalStorage`` folder, an extension folder or a ``tasks`` folder).
"""

from __future__ import annotations

import math
import os
import re
import sys
from pathlib import Path
from typing import NamedTuple, Sequence

from tokentui.core.records import ESTIMATED, UNPRICED, UsageRecord, to_pico
from tokentui.sources.common import INVALID as _BAD
from tokentui.sources.common import (MAX_MS, MAX_TOKENS, MIN_MS, LocalFile, existing_dirs, loads, real_roots,
                                     walk_files)
from tokentui.sources.common import optional_count as _count

#: VS Code and its forks: the folder name of each one's user dir (under the OS config dir)
EDITORS = ("Code", "Code - Insiders", "Code - OSS", "VSCodium", "VSCodium - Insiders", "Cursor", "Windsurf",
           "Trae", "Kiro", "Positron")
#: remote/server installs keep their user data under ``~/<dir>/data``
SERVERS = (".vscode-server", ".vscode-server-insiders", ".vscodium-server", ".cursor-server", ".windsurf-server")
MAX_SIDE_FILE = 64 << 20  # api_conversation_history.json / task_metadata.json larger than this: not read
MAX_COST_USD = 10**6
_MODEL_TAG = re.compile(r"<model>\s*([^<>\s][^<>]{0,199}?)\s*</model>")
_COUNT_KEYS = ("tokensIn", "tokensOut", "cacheWrites", "cacheReads")


class Variant(NamedTuple):
    source: str  # the registry name
    label: str
    extension: str  # the globalStorage id
    inclusive_input: bool  # Roo/Kilo: tokensIn includes the cache (per apiProtocol)
    model_from_tags: bool  # Roo/Kilo: <model> tags; Cline: task_metadata.json


CLINE = Variant("cline", "Cline", "saoudrizwan.claude-dev", False, False)
ROO = Variant("roo-code", "Roo Code", "rooveterinaryinc.roo-cline", True, True)
KILO = Variant("kilo-code", "Kilo Code", "kilocode.kilo-code", True, True)


def editor_user_dirs() -> list[str]:
    """Every VS Code family user dir this OS may have (existing or not)."""
    home = os.path.expanduser("~")
    if sys.platform == "win32":
        base = os.environ.get("APPDATA", "").strip() or os.path.join(home, "AppData", "Roaming")
    elif sys.platform == "darwin":
        base = os.path.join(home, "Library", "Application Support")
    else:
        base = os.path.expanduser(os.environ.get("XDG_CONFIG_HOME", "").strip() or "~/.config")
    return [os.path.join(base, e) for e in EDITORS] + [os.path.join(home, s, "data") for s in SERVERS]


def _cline_homes() -> tuple[list[str], str | None, str | None]:
    """Cline's own data dirs (CLI, JetBrains): ``$CLINE_DATA_DIR``, else ``$CLINE_DIR/data``
    (ccusage: ``$CLINE_HOME``), else ``~/.cline/data``; and the env var that named them."""
    for name, sub in (("CLINE_DATA_DIR", ""), ("CLINE_DIR", "data"), ("CLINE_HOME", "data")):
        env = os.environ.get(name, "").strip()
        if env:
            return [os.path.join(p.strip(), sub) if sub else p.strip() for p in env.split(",") if p.strip()], name, env
    return ["~/.cline/data"], None, None


def _tasks_dir(d: Path, ext: str) -> Path:
    """The ``tasks`` folder a configured root means: itself, ``<d>/tasks``, ``<d>/<ext>/tasks``
    (a globalStorage folder) or ``<d>/User/globalStorage/<ext>/tasks`` (a user dir)."""
    if d.name == "tasks":
        return d
    for cand in (d / "tasks", d / ext / "tasks", d / "User" / "globalStorage" / ext / "tasks"):
        if cand.is_dir():
            return cand
    return d / "User" / "globalStorage" / ext / "tasks"


def task_roots(v: Variant, extra: Sequence[str] = ()) -> tuple[list[Path], str | None]:
    """The ``tasks`` folders of ``v`` that exist, and a problem when an env var named none."""
    # one stat per editor that is not installed (a sync runs this for three extensions)
    cands: list = [os.path.join(d, "User", "globalStorage", v.extension, "tasks")
                   for d in editor_user_dirs() if os.path.isdir(d)]
    problem = None
    if v is CLINE:
        homes, name, env = _cline_homes()
        got = existing_dirs(Path(os.path.expanduser(h)) / "tasks" for h in homes)
        if name and not got:
            problem = f"no Cline data folder with tasks/ in {name} ({env})"
        cands = got + cands
    cands += [_tasks_dir(Path(os.path.expanduser(e)), v.extension) for e in extra]
    return existing_dirs(cands), problem


def looked_for(v: Variant):
    def looked(extra: Sequence[str] = ()) -> list[str]:
        """Every ``tasks`` folder tried, found or not: Cline's own data dirs, then each VS Code
        family user dir's (installed or not), then the configured roots."""
        cands = [os.path.join(os.path.expanduser(h), "tasks") for h in _cline_homes()[0]] if v is CLINE else []
        cands += [os.path.join(d, "User", "globalStorage", v.extension, "tasks") for d in editor_user_dirs()]
        cands += [str(_tasks_dir(Path(os.path.expanduser(e)), v.extension)) for e in extra]
        return list(dict.fromkeys(cands))

    return looked


def discover_for(v: Variant):
    def discover(extra: Sequence[str] = (), errors: list[str] | None = None) -> tuple[list[LocalFile], str | None]:
        """``tasks/<task id>/ui_messages.json`` under each tasks folder, sorted by path; links
        are followed only while they stay under a folder read."""
        rts, problem = task_roots(v, extra)
        within = real_roots(rts)
        files, seen = [], set()
        for root in rts:
            for path in walk_files(root, (".json",), errors, max_depth=1, within=within):
                parts = Path(os.path.relpath(path, root)).parts
                real = os.path.realpath(path)
                if len(parts) != 2 or parts[1] != "ui_messages.json" or real in seen:
                    continue
                seen.add(real)
                files.append(LocalFile(path, v.source, None, parts[0], f"{v.extension}/tasks/{parts[0]}"))
        files.sort(key=lambda f: f.path)
        return files, problem

    return discover


def _read_side(path: str):
    """A sibling JSON file (task metadata, conversation history), or None (absent, too big,
    being written)."""
    try:
        if os.path.getsize(path) > MAX_SIDE_FILE:
            return None
        with open(path, "rb") as fh:
            return loads(fh.read())
    except (OSError, ValueError):
        return None


def _cline_models(task_dir: str) -> list[tuple[int, str]]:
    meta = _read_side(os.path.join(task_dir, "task_metadata.json"))
    usage = meta.get("model_usage") if type(meta) is dict else None
    out = []
    for u in usage if type(usage) is list else ():
        if type(u) is dict and type(u.get("ts")) is int and type(u.get("model_id")) is str and u["model_id"].strip():
            out.append((u["ts"], u["model_id"].strip()))
    return sorted(out)


def _text_of(content) -> str:
    if type(content) is str:
        return content
    if type(content) is list:
        return "\n".join(c.get("text") for c in content if type(c) is dict and type(c.get("text")) is str)
    return ""


def _tag_models(task_dir: str) -> tuple[list[tuple[int | None, int, str]], str | None]:
    """``(message ts or None, message index, model)`` of each history message's last
    ``<model>`` tag, and the task's last tag."""
    hist = _read_side(os.path.join(task_dir, "api_conversation_history.json"))
    out = []
    for i, m in enumerate(hist if type(hist) is list else ()):
        if type(m) is not dict:
            continue
        tags = _MODEL_TAG.findall(_text_of(m.get("content")))
        if tags:
            ts = m.get("ts") if type(m.get("ts")) is int else None
            out.append((ts, i, tags[-1].strip()))
    return out, (out[-1][2] if out else None)


class _Models:
    """The model of a request in one task (read lazily: only a task with usage asks)."""

    def __init__(self, v: Variant, task_dir: str) -> None:
        self.v, self.dir = v, task_dir
        self._loaded = False

    def _load(self) -> None:
        self._loaded = True
        if self.v.model_from_tags:
            self.tags, self.last = _tag_models(self.dir)
        else:
            self.usage = _cline_models(self.dir)

    def at(self, ts: int, history_index: int | None) -> str | None:
        if not self._loaded:
            self._load()
        if not self.v.model_from_tags:
            before = [m for t, m in self.usage if t <= ts]
            return before[-1] if before else (self.usage[0][1] if self.usage else None)
        if any(t is not None for t, _i, _m in self.tags):
            before = [m for t, _i, m in self.tags if t is not None and t <= ts]
        elif history_index is not None:
            before = [m for _t, i, m in self.tags if i <= history_index]
        else:
            before = []
        return before[-1] if before else self.last


def _usage(payload) -> list | None:
    """The four counts of a usage payload (None: not usage / in flight), or ``_BAD``."""
    if type(payload) is not dict or not any(k in payload for k in _COUNT_KEYS):
        return None
    got = [_count(payload.get(k)) for k in _COUNT_KEYS]
    if any(g is _BAD for g in got) or max(got) > MAX_TOKENS:
        return _BAD
    return got


def _uncached(v: Variant, payload: dict, tin: int, cw: int, cr: int) -> int:
    if not v.inclusive_input:
        return tin
    proto = payload.get("apiProtocol")
    if proto == "openai":
        return max(tin - cw - cr, 0)
    if proto == "anthropic" and cw + cr > 0 and tin >= cw + cr:
        return tin - cw - cr
    return tin  # the older exclusive form (or no protocol stated)


def parse_for(v: Variant):
    def parse_file(data: bytes, file: LocalFile, pricer, mtime_ms: int = 0) -> tuple[list[UsageRecord], int]:
        """Usage records of one task's ``ui_messages.json`` and how many corrupt messages (or
        a corrupt file) were skipped. Never raises on bad input."""
        try:
            doc = loads(data)
        except ValueError:
            return [], 1  # caught mid-write (or damaged): read again when it changes
        if type(doc) is not list:
            return [], 1
        task = file.session or os.path.basename(os.path.dirname(file.path))
        models = _Models(v, os.path.dirname(file.path))
        skipped = 0
        found: list[tuple[int, dict, list, int | None]] = []  # (ts, payload, counts, history index)
        pending: int | None = None  # an api_req_started without usage yet (old generation)
        for m in doc:
            if type(m) is not dict or m.get("type") != "say":
                continue
            say = m.get("say")
            if say not in ("api_req_started", "deleted_api_reqs", "api_req_finished"):
                continue
            ts, text = m.get("ts"), m.get("text")
            if type(ts) is not int or not MIN_MS <= ts < MAX_MS or type(text) is not str:
                skipped += 1
                continue
            try:
                payload = loads(text)
            except ValueError:
                skipped += 1
                continue
            counts = _usage(payload)
            if counts is _BAD:
                skipped += 1
                continue
            hidx = m.get("conversationHistoryIndex")
            hidx = hidx if type(hidx) is int else None
            if say == "api_req_started":
                if counts is None:
                    pending = ts if type(payload) is dict else None
                    if type(payload) is not dict:
                        skipped += 1
                    continue
                found.append((ts, payload, counts, hidx))
                pending = None
            elif say == "api_req_finished":
                if counts is None:
                    continue
                found.append((pending if pending is not None else ts, payload, counts, hidx))
                pending = None
            elif counts is not None:  # deleted_api_reqs: requests whose messages were deleted
                found.append((ts, payload, counts, hidx))
        out: list[UsageRecord] = []
        seen: set[int] = set()
        for ts, payload, (tin, tout, cw, cr), hidx in found:
            if ts in seen or not (tin or tout or cw or cr):
                continue
            seen.add(ts)
            inp = _uncached(v, payload, tin, cw, cr)
            model = models.at(ts, hidx)
            cost = payload.get("cost")
            logged = (to_pico(cost) if type(cost) in (int, float) and math.isfinite(cost)
                      and 0 < cost < MAX_COST_USD else None)
            priced = pricer.cost_pico(model, inp, tout, cw, 0, cr) if pricer is not None and model else None
            out.append(UsageRecord(v.source, f"{task}|{ts}", ts, model, inp, tout, cw, 0, cr, 0, None, task,
                                   priced, UNPRICED if priced is None else ESTIMATED, model_fallback=model is None,
                                   logged_cost_pico=logged))
        return out, skipped

    return parse_file


def where_for(v: Variant):
    def where(extra: Sequence[str] = ()) -> tuple[list[str], str | None]:
        found, problem = task_roots(v, extra)
        return [str(r) for r in found], problem

    return where


def _reader(v: Variant):
    from tokentui.sources.readers import RewrittenJson

    return RewrittenJson(where=where_for(v), discover=discover_for(v), parse_file=parse_for(v),
                        looked=looked_for(v))


CLINE_READER = _reader(CLINE)
ROO_READER = _reader(ROO)
KILO_READER = _reader(KILO)
