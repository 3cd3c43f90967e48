"""Claude Desktop's Claude Code transcripts (spec/agents.md §14): where they are and what each
Cowork task is called. Claude Desktop runs Claude Code for its Cowork tasks and its Code tab
and keeps those transcripts outside ``~/.claude``; :mod:`tokentui.sources.claude_code` reads
them as more Claude Code roots (one parser, one dedupe table)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NamedTuple, Sequence

from tokentui.sources.common import load_document

#: Claude Desktop keeps the transcripts of the Claude Code it runs (Cowork tasks, the Code tab)
#: outside ``~/.claude``: under these folders of its app-data dir, in ``…/.claude/projects/``
DESKTOP_FOLDERS = ("local-agent-mode-sessions", "claude-code-sessions")
#: how deep below a desktop folder a ``projects/`` folder is looked for (Cowork's is at 4)
DESKTOP_DEPTH = 8
#: entries listed while looking for them, and the largest ``spaces.json`` read
DESKTOP_MAX_ENTRIES, DESKTOP_MAX_META = 200_000, 1 << 20


def desktop_app_dirs(platform: str | None = None) -> list[Path]:
    """Claude Desktop's app-data folders on this OS (the MSIX build's too on Windows)."""
    platform = platform or sys.platform
    home = Path(os.path.expanduser("~"))
    if platform == "darwin":
        return [home / "Library" / "Application Support" / "Claude"]
    if platform == "win32":
        roaming = os.environ.get("APPDATA", "").strip() or str(home / "AppData" / "Roaming")
        local = os.environ.get("LOCALAPPDATA", "").strip() or str(home / "AppData" / "Local")
        dirs = [Path(roaming) / "Claude"]
        try:
            packages = sorted(e.name for e in os.scandir(Path(local) / "Packages")
                              if e.name.startswith("Claude_") or ".Claude_" in e.name)
        except OSError:
            packages = []
        dirs += [Path(local) / "Packages" / name / "LocalCache" / "Roaming" / "Claude" for name in packages]
        return dirs
    xdg = os.environ.get("XDG_CONFIG_HOME", "").strip() or str(home / ".config")
    return [Path(xdg) / "Claude"]


class DesktopRoot(NamedTuple):
    """A Claude config root that Claude Desktop made (``…/local_<id>/.claude``)."""

    root: Path
    rel: str  # its path below the desktop folder: keeps fallback keys apart from the CLI's
    space: str | None  # the Cowork space's name, the project a user knows the task by


def desktop_roots(bases: Sequence[Path] | None = None, errors: list[str] | None = None) -> list[DesktopRoot]:
    """Every folder holding a ``projects/`` folder below Claude Desktop's session folders,
    at most :data:`DESKTOP_DEPTH` deep; links are not followed, ``node_modules`` and ``.git``
    are skipped, and the search stops after :data:`DESKTOP_MAX_ENTRIES` entries."""
    if bases is None:
        bases = [app / name for app in desktop_app_dirs() for name in DESKTOP_FOLDERS]
    found: list[DesktopRoot] = []
    budget = DESKTOP_MAX_ENTRIES
    for base in bases:
        stack: list[tuple[str, int]] = [(str(base), 0)]
        while stack and budget > 0:
            folder, depth = stack.pop()
            try:
                entries = sorted(os.scandir(folder), key=lambda e: e.name)
            except FileNotFoundError:
                continue
            except OSError as exc:
                if errors is not None:
                    errors.append(f"{folder}: {exc.strerror or exc}")
                continue
            budget -= len(entries)
            names = {e.name for e in entries if e.is_dir(follow_symlinks=False)}
            if "projects" in names and folder != str(base):
                rel = os.path.relpath(folder, base).replace(os.sep, "/")
                found.append(DesktopRoot(Path(folder), f"desktop/{base.name}/{rel}", _space_name(Path(folder))))
                continue
            if depth < DESKTOP_DEPTH:
                stack += [(os.path.join(folder, n), depth + 1) for n in sorted(names, reverse=True)
                          if n not in ("node_modules", ".git")]
        if budget <= 0 and errors is not None:
            errors.append(f"{base}: more than {DESKTOP_MAX_ENTRIES:,} entries; stopped looking for sessions")
    return found


def _space_name(root: Path) -> str | None:
    """The Cowork space of ``<workspace>/local_<id>/.claude``: ``<workspace>/local_<id>.json``
    names its ``spaceId``, ``<workspace>/spaces.json`` maps ids to names."""
    session = root.parent
    if root.name != ".claude" or not session.name.startswith("local_"):
        return None
    meta, spaces = _small_json(session.parent / f"{session.name}.json"), _small_json(session.parent / "spaces.json")
    space_id = meta.get("spaceId") if isinstance(meta, dict) else None
    listed = spaces.get("spaces") if isinstance(spaces, dict) else None
    if not isinstance(space_id, str) or not isinstance(listed, list):
        return None
    for space in listed:
        if isinstance(space, dict) and space.get("id") == space_id and isinstance(space.get("name"), str):
            return space["name"] or None
    return None


def _small_json(path: Path):
    try:
        with open(path, "rb") as f:
            data = f.read(DESKTOP_MAX_META + 1)
        return None if len(data) > DESKTOP_MAX_META else load_document(data)
    except (OSError, ValueError):
        return None
