"""Where Codex keeps its files: its homes (``$CODEX_HOME``), the rollouts and headless outputs
found there, and what a home's ``config.toml`` says (the fast service tier)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from tokentui.sources.common import LocalFile, existing_dirs, real_roots, walk_files

SOURCE = "codex"


def _candidates(extra: Sequence[str] = ()) -> list[str]:
    env = os.environ.get("CODEX_HOME", "").strip()
    cands = [p.strip() for p in env.split(",") if p.strip()] if env else ["~/.codex"]
    return list(cands) + list(extra)


def homes(extra: Sequence[str] = ()) -> list[Path]:
    """``$CODEX_HOME`` (comma list) or ``~/.codex``, plus configured extra roots."""
    return existing_dirs(_candidates(extra))


def looked(extra: Sequence[str] = ()) -> list[str]:
    """Every Codex home tried, found or not."""
    return [os.path.expanduser(c) for c in _candidates(extra)]


def discover(extra: Sequence[str] = (), errors: list[str] | None = None) -> tuple[list[LocalFile], str | None]:
    """Rollouts under ``sessions/`` and ``archived_sessions/`` of each home (``sessions/`` wins
    for the same relative path); a home with neither is read as a folder of headless JSONL.
    Links are followed only while they stay under one of the folders read."""
    files: list[LocalFile] = []
    found = homes(extra)
    bases = [[b for b in (h / "sessions", h / "archived_sessions") if b.is_dir()] or [h] for h in found]
    within = real_roots(b for bs in bases for b in bs)
    for home in found:
        sess, arch = home / "sessions", home / "archived_sessions"
        if not sess.is_dir() and not arch.is_dir():
            cut = len(str(home)) + len(os.sep)  # walk_files joins names to str(home)
            for path in sorted(walk_files(home, (".jsonl",), errors, within=within)):
                rel = path[cut:]
                files.append(LocalFile(path, SOURCE, None, rel[:-6], "headless/" + rel, "headless"))
            continue
        taken: set[str] = set()
        for base in (sess, arch):
            if not base.is_dir():
                continue
            cut = len(str(base)) + len(os.sep)
            for path in sorted(walk_files(base, (".jsonl",), errors, within=within)):
                rel = path[cut:].replace(os.sep, "/")
                if rel in taken:
                    continue
                taken.add(rel)
                files.append(LocalFile(path, SOURCE, None, rel[:-6], rel))
    files.sort(key=lambda f: f.path)
    return files, None


def session_id_of(path: str) -> str | None:
    """The uuid at the end of ``rollout-<date>-<uuid>.jsonl``."""
    name = os.path.basename(path)
    stem = name[:name.rfind(".")] if name.rfind(".") > 0 else name  # Path(path).stem, without the Path
    return stem[-36:] if len(stem) >= 36 and stem[-28] == "-" else None


def sessions_by_id(files: Sequence[LocalFile]) -> dict[str, str]:
    """Session id → rollout path, for every rollout found: how a fork finds its parent."""
    return {sid: f.path for f in files if f.kind == "session" and (sid := session_id_of(f.path))}


FAST_TIERS = ("fast", "priority")


def home_of(f: LocalFile) -> str:
    """The Codex home a discovered file belongs to (the folder that holds ``sessions/``, or the
    folder of headless JSONL)."""
    rel = f.rel[len("headless/"):] if f.kind == "headless" else f.rel
    base = f.path[:len(f.path) - len(rel) - 1]
    return base if f.kind == "headless" else os.path.dirname(base)


def service_tier(home: str) -> str | None:
    """``service_tier`` in ``<home>/config.toml`` (top level), or None (no file, unreadable,
    not TOML, not set)."""
    import tomllib

    try:
        with open(os.path.join(home, "config.toml"), "rb") as fh:
            doc = tomllib.load(fh)
    except (OSError, ValueError):
        return None
    tier = doc.get("service_tier")
    return tier.strip().lower() if type(tier) is str else None


def prepare(files: Sequence[LocalFile]) -> dict:
    """What every parser of a sync shares: rollout paths by session id (forks find their parent)
    and the homes whose ``config.toml`` sets a fast ``service_tier``."""
    tiers: dict[str, str | None] = {}
    for f in files:
        h = home_of(f)
        if h not in tiers:
            tiers[h] = service_tier(h)
    return {"sessions": sessions_by_id(files), "fast_homes": sorted(h for h, t in tiers.items() if t in FAST_TIERS)}


def where(extra: Sequence[str] = ()) -> tuple[list[str], str | None]:
    return [str(h) for h in homes(extra)], None
