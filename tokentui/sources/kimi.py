"""Kimi CLI and Kimi Code (spec/agents.md §5): append-only ``wire.jsonl`` files, read by byte cursor.

**Kimi CLI** (``$KIMI_SHARE_DIR``, else ``~/.kimi``): ``sessions/<md5 of the work dir>/<session>/
wire.jsonl`` and the sub-agents' own ``…/subagents/<agent>/wire.jsonl``. A record is a
*top-level* ``StatusUpdate`` with a ``token_usage`` object (one model step); one mirrored inside
a ``SubagentEvent`` is not counted (the sub-agent's own wire has it). Key: the provider's
``message_id``, global across files, so a ``/fork`` (which copies the source wire's lines into a
new session) and a repeated update collapse onto one row (the copy read first keeps its session); without one (old builds) the session
dir (the sub-agent's, for its wire) and the line's timestamp. ``input_other`` is uncached input,
``input_cache_read`` / ``input_cache_creation`` the cache (a reader given a total ``input`` instead subtracts them),
``output`` all output. Time: the line's ``timestamp`` (Unix seconds). The wire names no model:
``$KIMI_MODEL_NAME``, else ``config.toml``'s ``default_model`` → ``[models.<key>] model`` (else the
old ``config.json``'s ``model``), else ``kimi-for-coding``; an attribution (``/model`` switches
are not recorded per step), so those records are listed as fallback models.

**Kimi Code** (``$KIMI_CODE_HOME``, else ``~/.kimi-code``; on macOS also the desktop app's embedded
home): ``sessions/<workspace>/<session>/agents/<agent>/wire.jsonl`` with ``usage.record`` lines
(``usage.{inputOther, output, inputCacheRead, inputCacheCreation}``, ``time`` in ms,
``usageScope`` ``turn`` or ``session``). ``step.end`` repeats a record (not counted);
``llm.request`` names the real model behind the configured alias. Both scopes cost tokens
(``session`` = bookkeeping such as compaction) and are counted; a ``session``-scope record is
reported apart, as the session ``<session> (session scope)``. Key: a message/response id when
the line has one, else ``<session>|<agent>|<time>|<scope>``.

No cost is stored by either: the tokens are priced (``kimi-for-coding`` has no public list price
and stays unpriced unless ``[pricing.overrides]`` names one).
"""

from __future__ import annotations

import hashlib
import math
import os
import sys
from pathlib import Path
from typing import Sequence

from tokentui.core.records import UNPRICED, UsageRecord
from tokentui.sources.common import (MAX_MS, MAX_TOKENS, MIN_MS, LocalFile, existing_dirs, load_document, loads,
                                     real_roots, walk_files)
from tokentui.sources.common import INVALID as _BAD
from tokentui.sources.common import optional_count as _count

SOURCE = "kimi"
ENV = ("KIMI_SHARE_DIR", "KIMI_DATA_DIR", "KIMI_CODE_HOME", "KIMI_MODEL_NAME")
DEFAULT_MODEL = "kimi-for-coding"
MAX_CONFIG = 1 << 20  # a larger config file is not read
_CLI, _CODE = "cli", "code"
_DESKTOP = "~/Library/Application Support/kimi-desktop/daimon-share/daimon/runtime/kimi-code/home"


def _env_list(name: str) -> list[str]:
    v = os.environ.get(name, "").strip()
    return [p.strip() for p in v.split(",") if p.strip()]


def _candidates() -> tuple[str | None, list[str], list[str], list[str]]:
    """(the env var naming Kimi CLI homes, those homes to try, ``$KIMI_CODE_HOME``'s list, the Kimi
    Code homes to try)."""
    cli_env = next((n for n in ("KIMI_SHARE_DIR", "KIMI_DATA_DIR") if _env_list(n)), None)
    code_env = _env_list("KIMI_CODE_HOME")
    return (cli_env, _env_list(cli_env) if cli_env else ["~/.kimi"], code_env,
            code_env or (["~/.kimi-code"] + ([_DESKTOP] if sys.platform == "darwin" else [])))


def looked(extra: Sequence[str] = ()) -> list[str]:
    """Every Kimi CLI and Kimi Code home tried, found or not."""
    _, cli, _, code = _candidates()
    return list(dict.fromkeys(os.path.expanduser(p) for p in [*cli, *code, *extra]))


def homes(extra: Sequence[str] = ()) -> tuple[list[tuple[Path, str]], str | None]:
    """``(home, kind)`` of every Kimi CLI and Kimi Code home found: ``$KIMI_SHARE_DIR`` (Kimi's own;
    comma list) or ``$KIMI_DATA_DIR`` (ccusage's) else ``~/.kimi``; ``$KIMI_CODE_HOME`` else
    ``~/.kimi-code`` (and the macOS desktop app's home); plus ``extra`` roots from config (a root
    holding ``agents``-style sessions is read as Kimi Code)."""
    cli_env, cli_cands, code_env, code_cands = _candidates()
    cli, code = existing_dirs(cli_cands), existing_dirs(code_cands)
    out = [(p, _CLI) for p in cli] + [(p, _CODE) for p in code]
    seen = {os.path.realpath(p) for p, _ in out}
    for p in existing_dirs(extra):
        if os.path.realpath(p) not in seen:
            out.append((p, _CODE if (p.name == ".kimi-code" or "kimi-code" in p.parts) else _CLI))
    problems = []
    if cli_env and not cli:
        problems.append(f"no existing Kimi directory in {cli_env} ({os.environ[cli_env].strip()})")
    if code_env and not code:
        problems.append(f"no existing Kimi Code directory in KIMI_CODE_HOME ({os.environ['KIMI_CODE_HOME'].strip()})")
    return out, ("; ".join(problems) or None)


def _work_dirs(home: Path) -> dict[str, str]:
    """md5 of a work dir's path → the folder's name, from ``kimi.json`` (projects by name, never path)."""
    try:
        if os.path.getsize(home / "kimi.json") > MAX_CONFIG:
            return {}
        doc = load_document((home / "kimi.json").read_bytes())
    except (OSError, ValueError):
        return {}
    out = {}
    for wd in doc.get("work_dirs", []) if type(doc) is dict and type(doc.get("work_dirs")) is list else []:
        path = wd.get("path") if type(wd) is dict else None
        if type(path) is str and path:
            digest = hashlib.md5(path.encode("utf-8", "surrogateescape")).hexdigest()
            name = os.path.basename(path.rstrip("/\\")) or path
            kaos = wd.get("kaos")
            out[digest] = name
            if type(kaos) is str and kaos and kaos != "local":
                out[f"{kaos}_{digest}"] = name
    return out


def _work_dir_name(session_dir: Path) -> str | None:
    """Kimi Code: the name of the folder a session worked in (``state.json``'s ``workDir``)."""
    try:
        if os.path.getsize(session_dir / "state.json") > MAX_CONFIG:
            return None
        doc = loads((session_dir / "state.json").read_bytes())
    except (OSError, ValueError):
        return None
    wd = doc.get("workDir") if type(doc) is dict else None
    return (os.path.basename(wd.rstrip("/\\")) or None) if type(wd) is str and wd.strip() else None


def discover(extra: Sequence[str] = (), errors: list[str] | None = None) -> tuple[list[LocalFile], str | None]:
    """Every ``wire.jsonl`` under each home's ``sessions/`` (sub-agent wires included), sorted by
    path. ``LocalFile.kind`` says which product wrote it; ``rel`` starts at ``sessions/``. Links
    are followed only while they stay under the ``sessions/`` folders read."""
    found, problem = homes(extra)
    files, seen = [], set()
    for home, kind in found:
        base = home / "sessions"
        if not base.is_dir():
            continue
        names = _work_dirs(home) if kind == _CLI else {}
        for path in walk_files(base, ("wire.jsonl",), errors, max_depth=6, within=real_roots([base])):
            parts = Path(os.path.relpath(path, base)).parts
            real = os.path.realpath(path)
            if len(parts) < 3 or parts[-1] != "wire.jsonl" or real in seen:
                continue
            seen.add(real)
            if kind == _CODE and (parts[0], parts[1]) not in names:
                names[(parts[0], parts[1])] = _work_dir_name(base / parts[0] / parts[1]) or parts[0]
            project = names.get((parts[0], parts[1])) if kind == _CODE else names.get(parts[0], parts[0])
            files.append(LocalFile(path, SOURCE, project, parts[1], "sessions/" + "/".join(parts), kind))
    files.sort(key=lambda f: f.path)
    return files, problem


def _config_model(home: Path) -> str | None:
    """The model ``config.toml`` (or the pre-TOML ``config.json``) makes the default."""
    import tomllib

    try:
        if (home / "config.toml").is_file() and os.path.getsize(home / "config.toml") <= MAX_CONFIG:
            with open(home / "config.toml", "rb") as fh:
                doc = tomllib.load(fh)
            key = doc.get("default_model")
            models = doc.get("models")
            entry = models.get(key) if type(models) is dict and type(key) is str else None
            model = entry.get("model") if type(entry) is dict else None
            if type(model) is str and model.strip():
                return model.strip()
            return key.strip() if type(key) is str and key.strip() else None
        if (home / "config.json").is_file() and os.path.getsize(home / "config.json") <= MAX_CONFIG:
            doc = loads((home / "config.json").read_bytes())
            model = doc.get("model") if type(doc) is dict else None
            return model.strip() if type(model) is str and model.strip() else None
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return None


def prepare(files: list[LocalFile]) -> dict:
    """Once per sync: each home's attributed model (``home path`` → model), shared with every parser."""
    env = os.environ.get("KIMI_MODEL_NAME", "").strip()
    out: dict[str, str] = {}
    for f in files:
        home = f.path[: len(f.path) - len(f.rel)].rstrip("/\\") or "/"
        if home not in out:
            out[home] = env or _config_model(Path(home)) or DEFAULT_MODEL
    return out


def _str(v) -> str | None:
    return v.strip() if type(v) is str and v.strip() else None


class _Parser:
    def __init__(self, file: LocalFile, model: str, state: dict | None) -> None:
        self.file = file
        self.model = model
        self.skipped = 0
        self.duplicates = 0
        self.seen: set[str] = set()
        self.real_model = (state or {}).get("model") if type((state or {}).get("model")) is str else None
        #: the wire's folder below ``sessions/`` (a session, or a sub-agent inside one)
        self.wire_dir = self.file.rel.rsplit("/", 1)[0].split("/", 1)[-1]

    def _counts(self, u: dict, names: tuple[str, str, str, str], total: str):
        inp, out, cr, cw = (_count(u.get(n)) for n in names)
        whole = _count(u.get(total)) if total in u and names[0] not in u else 0
        if _BAD in (inp, out, cr, cw, whole):
            return None
        if whole:
            if whole < cr + cw:
                return None
            inp = whole - cr - cw
        if max(inp, out, cr, cw) > MAX_TOKENS:
            return None
        return inp, out, cw, cr

    def _record(self, key: str, ts_ms: int, model: str, fallback: bool, counts, session: str | None
                ) -> UsageRecord | None:
        if key in self.seen:
            self.duplicates += 1
            return None
        self.seen.add(key)
        inp, out, cw, cr = counts
        return UsageRecord(SOURCE, key, ts_ms, model, inp, out, cw, 0, cr, 0, self.file.project, session,
                           None, UNPRICED, model_fallback=fallback, msg_id=key)

    def cli(self, obj) -> UsageRecord | None:
        msg = obj.get("message")
        if type(msg) is not dict or msg.get("type") != "StatusUpdate":
            return None  # metadata, other events, and SubagentEvent mirrors
        payload = msg.get("payload")
        if type(payload) is not dict:
            self.skipped += 1
            return None
        u = payload.get("token_usage")
        if u is None:
            return None  # e.g. a plan_mode-only update
        ts = obj.get("timestamp")
        counts = self._counts(u, ("input_other", "output", "input_cache_read", "input_cache_creation"), "input") \
            if type(u) is dict else None
        ts_ms = int(round(ts * 1000)) if type(ts) in (int, float) and math.isfinite(ts) else None
        if counts is None or ts_ms is None or not MIN_MS <= ts_ms < MAX_MS:
            self.skipped += 1
            return None
        if not any(counts):
            return None
        mid = _str(payload.get("message_id"))
        key = f"msg:{mid}" if mid else f"{self.wire_dir}@{ts_ms}"
        return self._record(key, ts_ms, self.model, True, counts, self.file.session)

    def code(self, obj) -> UsageRecord | None:
        kind = obj.get("type")
        if kind == "llm.request":
            self.real_model = _str(obj.get("model")) or self.real_model
            return None
        if kind != "usage.record":
            return None  # step.end repeats a usage.record
        u = obj.get("usage")
        t = obj.get("time")
        counts = self._counts(u, ("inputOther", "output", "inputCacheRead", "inputCacheCreation"), "input") \
            if type(u) is dict else None
        ts_ms = int(t) if type(t) in (int, float) and math.isfinite(t) else None
        if ts_ms is not None and ts_ms < 10**11:
            ts_ms *= 1000  # seconds
        if counts is None or ts_ms is None or not MIN_MS <= ts_ms < MAX_MS:
            self.skipped += 1
            return None
        if not any(counts):
            return None
        scope = _str(obj.get("usageScope")) or "turn"
        mid = next((_str(obj.get(k)) for k in ("messageId", "message_id", "responseId", "response_id")
                    if _str(obj.get(k))), None)
        parts = self.file.rel.split("/")
        agent = parts[4] if len(parts) > 5 and parts[3] == "agents" else "/".join(parts[3:-1]) or "main"
        key = f"msg:{mid}" if mid else f"code:{self.file.session}|{agent}|{ts_ms}|{scope}"
        model = self.real_model or _str(obj.get("model"))
        session = self.file.session if scope == "turn" else f"{self.file.session} ({scope} scope)"
        return self._record(key, ts_ms, model or self.model, model is None, counts, session)


def parse_lines(chunks, file: LocalFile, state: dict | None, ctx, row_of, mtime_ms: int = 0):
    """:data:`~tokentui.sources.readers.ParseLines`: rows keyed by message id (global), so copies
    in other files and later reads upsert the same row; a key seen twice in one read is a
    duplicate. The state keeps Kimi Code's last named model."""
    from tokentui.sources.readers import LinesParsed, first_copy_item, json_line_rows

    homes_model = ctx.shared.get(SOURCE) or {}
    home = file.path[: len(file.path) - len(file.rel)].rstrip("/\\") or "/"
    p = _Parser(file, homes_model.get(home) or os.environ.get("KIMI_MODEL_NAME", "").strip() or DEFAULT_MODEL,
                state)
    handle = p.code if file.kind == _CODE else p.cli
    rows, bad = json_line_rows(chunks, lambda obj: handle(obj) if type(obj) is dict else _BAD, row_of,
                               first_copy_item)
    return LinesParsed(rows, p.skipped + bad, p.duplicates, {"model": p.real_model} if p.real_model else {})


def where(extra: Sequence[str] = ()) -> tuple[list[str], str | None]:
    found, problem = homes(extra)
    return [str(h / "sessions") for h, _ in found], problem


def _reader():
    from tokentui.sources.readers import FIRST_COPY, JsonlLog

    return JsonlLog(where=where, discover=discover, parse=parse_lines, dedupe=FIRST_COPY, prepare=prepare,
                    looked=looked)


READER = _reader()
