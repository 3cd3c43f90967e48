"""Droid (Factory) sessions (spec/agents.md §8): running totals per session, so tokens are estimates.

``~/.factory/sessions/<cwd slug>/<uuid>.settings.json`` (older builds: ``sessions/<uuid>.settings.json``),
rewritten whole as the session goes on; ``tokenUsage`` holds the session's sums and no
per-message usage exists anywhere. Droid documents no override; ccusage's ``$DROID_SESSIONS_DIR``
(comma list, the sessions folder) and codeburn's ``$FACTORY_DIR`` (the ``.factory`` folder) are
honoured.

input = ``inputTokens``, cache write / read = ``cacheCreationTokens`` / ``cacheReadTokens``,
reasoning = ``thinkingTokens``, output = ``outputTokens`` + ``thinkingTokens`` (thinking is apart:
``totalTokens``, where present, equals the five-field sum). The first time a session is seen it is
dated at ``providerLockTimestamp`` (≈ its start; else the file's mtime); after that its increases
are dated at the file's mtime (see :mod:`tokentui.core.session_totals`). A file is read again
when its size or mtime changes; a half-written one does not parse, is counted as skipped and
is read again next time. Model: ``custom:`` and bracketed provider tags dropped from BYOK names
(``custom:GPT-5.1-Codex-[OpenAI]-7`` → ``gpt-5.1-codex``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Sequence

from tokentui.core.session_totals import SessionTotal
from tokentui.sources.common import (MAX_TOKENS, existing_dirs, loads, parse_ts_ms, real_roots, stat_signature,
                                     token_count, walk_files)

SOURCE = "droid"
ENV = ("DROID_SESSIONS_DIR", "FACTORY_DIR")
SUFFIX = ".settings.json"
MAX_FILE = 1 << 20  # a settings file larger than this is not one


def _env_list(name: str) -> list[str]:
    v = os.environ.get(name, "").strip()
    return [p.strip() for p in v.split(",") if p.strip()]


def _candidates() -> list[str]:
    direct = _env_list("DROID_SESSIONS_DIR")
    factory = _env_list("FACTORY_DIR")
    return direct or [os.path.join(os.path.expanduser(f), "sessions") for f in factory] or ["~/.factory/sessions"]


def looked(extra: Sequence[str] = ()) -> list[str]:
    """Every sessions folder tried, found or not."""
    return list(dict.fromkeys(os.path.expanduser(p) for p in [*_candidates(), *extra]))


def session_dirs(extra: Sequence[str] = ()) -> list[Path]:
    """``$DROID_SESSIONS_DIR`` (comma list), else ``$FACTORY_DIR/sessions``, else
    ``~/.factory/sessions``; plus ``extra`` (a ``.factory`` folder or a sessions folder)."""
    cands = _candidates()
    for e in extra:
        p = Path(os.path.expanduser(e))
        cands.append(str(p / "sessions" if (p / "sessions").is_dir() else p))
    return existing_dirs(cands)


def _files(d: Path) -> list[str]:
    return sorted(p for p in walk_files(d, (SUFFIX,), None, max_depth=1, within=real_roots([d])))


def signature(d: Path) -> str:
    return stat_signature(_files(d))


def model_id(name: str) -> str:
    """A priceable id for a Droid model name (BYOK custom names included)."""
    if not name.startswith("custom:"):
        return name
    name = re.sub(r"\[[^\]]*\]", "", name[len("custom:"):])
    name = re.sub(r"-\d+$", "", name.strip("- "))
    return re.sub(r"-{2,}", "-", name).strip("-").lower() or name


def _count(v):
    return 0 if v is None else token_count(v)


def read(d: Path, watermark) -> tuple[list[SessionTotal], int, str | None, object]:
    """Settings files whose size or mtime changed since ``watermark`` (path → [size, mtime_ns])."""
    seen = dict(watermark) if isinstance(watermark, dict) else {}
    out: list[SessionTotal] = []
    skipped = 0
    for path in _files(d):
        try:
            st = os.stat(path)
            stamp = [st.st_size, st.st_mtime_ns]
            if seen.get(path) == stamp:
                continue
            if st.st_size > MAX_FILE:
                skipped += 1
                continue
            with open(path, "rb") as fh:
                doc = loads(fh.read())
        except OSError:
            continue  # vanished or unreadable: tried again next time
        except ValueError:
            skipped += 1  # half-written: tried again when it changes
            continue
        u = doc.get("tokenUsage") if type(doc) is dict else None
        if type(u) is not dict:
            if type(doc) is not dict:
                skipped += 1
            else:
                seen[path] = stamp  # a session without usage yet
            continue
        i, o, cw, cr, th = (_count(u.get(k)) for k in ("inputTokens", "outputTokens", "cacheCreationTokens",
                                                      "cacheReadTokens", "thinkingTokens"))
        if None in (i, o, cw, cr, th) or max(i, o, cw, cr, th) > MAX_TOKENS:
            skipped += 1
            continue
        seen[path] = stamp
        mtime_ms = st.st_mtime_ns // 10**6
        lock = doc.get("providerLockTimestamp")
        started = parse_ts_ms(lock) if type(lock) is str else None
        model = doc.get("model")
        model = model_id(model.strip()) if type(model) is str and model.strip() else None
        rel = Path(os.path.relpath(path, d)).parts
        project = rel[0].strip("-").rsplit("-", 1)[-1] or None if len(rel) == 2 else None
        sid = rel[-1][: -len(SUFFIX)]
        out.append(SessionTotal(sid, started if started is not None else mtime_ms, mtime_ms, model,
                                i, o + th, cw, cr, th, None, project, model_fallback=model is None))
    seen = {p: s for p, s in seen.items() if os.path.exists(p)}
    return out, skipped, None, seen


def where(extra: Sequence[str] = ()) -> tuple[list[str], str | None]:
    found = session_dirs(extra)
    env = next((n for n in ENV if _env_list(n)), None)
    return [str(d) for d in found], (f"no existing Droid sessions folder in {env} ({os.environ[env].strip()})"
                                     if env and not found else None)


def _reader():
    from tokentui.sources.readers import SessionTotals

    return SessionTotals(where=where, locations=session_dirs, signature=signature, read=read, looked=looked)


READER = _reader()
