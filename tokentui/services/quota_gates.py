"""Whether a sync has plan-limit work to do, answered without importing
:mod:`tokentui.services.quota` (the windows, their states and alerts): every ``tokentop sync``
asks, and most have nothing to do. The status line's spool, its state file (the status line
is in use) and the ``[quota.oauth]`` opt-in."""

from __future__ import annotations

from pathlib import Path

from tokentui import paths

SPOOL = "quota-spool.jsonl"
#: ``tokentop statusline`` keeps this file in the data dir: its presence says the status line is in use
STATUSLINE_STATE = "statusline-state.json"
OAUTH_SOURCES = {"claude-oauth": "anthropic", "codex-oauth": "openai"}


def spool_path() -> Path:
    return paths.data_dir() / SPOOL


def statusline_in_use() -> bool:
    """Whether ``tokentop statusline`` has run here (its state file exists in the data dir)."""
    return (paths.data_dir() / STATUSLINE_STATE).exists()


def oauth_enabled(settings) -> list[str]:
    """The OAuth sources the user opted in to (``[quota.oauth] anthropic / openai = true``)."""
    oauth = ((settings.raw or {}).get("quota") or {}).get("oauth") or {}
    return [src for src, key in OAUTH_SOURCES.items() if oauth.get(key) is True]
