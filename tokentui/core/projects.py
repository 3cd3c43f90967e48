"""Project names as a user thinks of them: worktrees and subfolders of one repository together.

The agents record a project as they see it: a working directory (Codex, OpenCode, …) or an
encoded folder name (Claude Code writes ``/Users/me/code/api`` as ``-Users-me-code-api``, with
``/`` and ``.`` both turned into ``-``). :func:`fold_projects` maps each recorded name to the
project it belongs to, by these rules, in order:

1. ``\\`` becomes ``/`` and a trailing ``/`` goes (``C:\\code\\api\\`` is ``C:/code/api``).
2. A git worktree folds into its repository: the path is cut before ``/.worktrees/``,
   ``/.claude/worktrees/``, ``/.git/worktrees/`` or ``/worktrees/``, and a sibling folder
   ``api.worktrees/feat`` (or ``api-worktrees/feat``) is ``api``. Claude Code's encoded names
   are cut the same way before ``--worktrees-``, ``--claude-worktrees-`` and ``--git-worktrees-``
   (``--`` is an encoded ``/.``).
3. A subfolder folds into the nearest recorded project that contains it (``~/code/api/web`` is
   ``~/code/api`` when sessions also ran in ``~/code/api``), except into a home folder
   (``/home/NAME``, ``/Users/NAME``, ``C:/Users/NAME``, ``/root``) or a filesystem root, which
   would swallow every repository under them. Encoded names are never folded by this rule:
   ``-code-api-web`` cannot be told from a sibling repository ``api-web``.
4. An encoded name is the recorded folder it encodes, when another agent recorded that folder
   (Codex, OpenCode, … record the path itself) or Claude Code's own transcripts name it (their
   lines carry the ``cwd``): ``-home-me-api`` is ``/home/me/api``, so one repository is one
   project whichever agent worked in it, and Claude Code's projects fold by rules 2–3 too. Two
   recorded folders with the same encoding (``/a/b-c`` and ``/a/b/c``) leave the name alone.
5. A bare folder name (Goose, pi, Kimi, Hermes, Droid, Zed and Gemini CLI record only the last
   folder) is the project whose folder has that name, when exactly one project has it:
   ``proj`` is ``/home/me/proj`` when another agent recorded that path, and stays ``proj`` when
   ``/home/me/a/proj`` and ``/home/me/b/proj`` are both recorded.
6. A SHA-256 name (older Gemini CLI folders are the hash of the project's path) is the recorded
   folder it hashes.

The display name is the folded path's last folder (``api``); an encoded name that no folder
matched is shown without its home-folder part (``-Users-me-code-api`` is ``code-api``: the rest
of a flattened path cannot be split reliably).
"""

from __future__ import annotations

import hashlib
import re
from typing import Iterable

_WORKTREE_DIRS = ("/.worktrees/", "/.claude/worktrees/", "/.git/worktrees/", "/worktrees/")
_WORKTREE_ENCODED = ("--worktrees-", "--claude-worktrees-", "--git-worktrees-")
_SIBLING = re.compile(r"^(.*?)[.-]worktrees/[^/]+")
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
#: a home folder at the start of an encoded name: /home/NAME, /Users/NAME, C:\\Users\\NAME, /root
_ENCODED_HOME = re.compile(r"^(?:-(?:home|Users|users)-[^-]+-|[A-Za-z]--Users-[^-]+-|-root-)")
_HOME = re.compile(r"^(?:/home/[^/]+|/Users/[^/]+|[A-Za-z]:/Users/[^/]+|/root|/|[A-Za-z]:)$", re.IGNORECASE)


def _is_path(name: str) -> bool:
    return "/" in name


def normalize(name: str) -> str:
    """Rules 1 and 2: one project name for a recorded one (no subfolder folding)."""
    text = name.replace("\\", "/")
    if _is_path(text):
        text = text.rstrip("/") or "/"
        probe = text + "/"
        for marker in _WORKTREE_DIRS:
            at = probe.find(marker)
            if at > 0:
                text = probe[:at]
                probe = text + "/"
        m = _SIBLING.match(probe)
        if m and m.group(1) and not m.group(1).endswith("/"):
            text = m.group(1)
        return text
    for marker in _WORKTREE_ENCODED:
        at = text.find(marker)
        if at > 0:
            text = text[:at]
    return text


def encoded(path: str) -> str:
    """Claude Code's folder name for ``path``: every character but an ASCII letter or digit is
    ``-`` (``/home/u/my.app`` → ``-home-u-my-app``)."""
    return _NOT_ALNUM.sub("-", path)


def fold_projects(names: Iterable[str | None], folders: Iterable[str] = ()) -> dict[str | None, str | None]:
    """``{recorded name: project}`` for every name (rules 1–6); ``None`` stays ``None``.

    ``folders``: more folders sessions ran in, which name no record themselves (the folder a
    Claude Code project dir encodes, read from its transcripts): rules 3–6 use them as recorded
    folders."""
    recorded = {n for n in names} | {f for f in folders if f and _is_path(f.replace("\\", "/"))}
    base = {n: (normalize(n) if n else n) for n in recorded}
    roots = sorted({p for p in base.values() if p and _is_path(p)}, key=len)
    folded: dict[str | None, str | None] = {}
    for n, p in base.items():
        if p and _is_path(p):
            for root in roots:  # shortest first: the outermost recorded project wins
                if len(root) >= len(p):
                    break
                if p.startswith(root.rstrip("/") + "/") and not _HOME.match(root):
                    p = root
                    break
        folded[n] = p
    # rules 4 and 5: the folders an encoded or a bare name may stand for, each as recorded and
    # as folded; None where two projects would
    by_code: dict[str, str | None] = {}
    by_last: dict[str, str | None] = {}
    hashed = any(n and _SHA256.match(n) for n in recorded)
    for n, p in folded.items():
        if p and _is_path(p):
            for text in {n.replace("\\", "/").rstrip("/"), base[n], p}:
                code = encoded(text)
                by_code[code] = p if by_code.get(code, p) == p else None
            if hashed:  # rule 6: the path as the agent saw it (Gemini hashes it as is)
                for text in {n, n.rstrip("/\\"), p}:
                    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
                    by_code[digest] = p if by_code.get(digest, p) == p else None
            last = p.rsplit("/", 1)[-1]  # the project's own name: a subfolder's could be another repo's
            by_last[last] = p if by_last.get(last, p) == p else None
    if by_code:
        for n, p in base.items():
            if p and not _is_path(p):
                target = by_code.get(n) or by_code.get(p) or (None if p.startswith("-") else by_last.get(p))
                if target:
                    folded[n] = target
    return folded


def display_name(project: str | None) -> str:
    """What a table shows for a (folded) project: its last folder, or the name as recorded."""
    if not project:
        return "(no project)"
    if _is_path(project):
        return project.rstrip("/").rsplit("/", 1)[-1] or project
    m = _ENCODED_HOME.match(project)
    return project[m.end():] if m and m.end() < len(project) else project
