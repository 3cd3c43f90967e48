"""Whether a sync has plan-limit work to do, answered without importing
:mod:`tokentui.services.quota` (the windows, their states and alerts): every ``tokentop sync``
asks, and most have nothing to do. The status line's spool, its state file (the status line
is in use) and the ``[quota.oauth]`` opt-in.

Also the one home of the names of the files ``tokentop statusline`` and a sync share in the
data dir: the status line (:mod:`tokentui.cli.statusline`, on every Claude Code refresh)
imports them from here, so this module imports nothing at load time.
"""

from __future__ import annotations

#: what the status line appends and a sync ingests
SPOOL = "quota-spool.jsonl"
#: the status line's own state: its presence says the status line is in use
STATUSLINE_STATE = "statusline-state.json"
#: today's figures a sync leaves for the status line to show
STATUSLINE_SUMMARY = "statusline-summary.json"
OAUTH_SOURCES = {"claude-oauth": "anthropic", "codex-oauth": "openai"}


def spool_path():
    from tokentui import paths

    return paths.data_dir() / SPOOL


def statusline_in_use() -> bool:
    """Whether ``tokentop statusline`` has run here (its state file exists in the data dir)."""
    from tokentui import paths

    return (paths.data_dir() / STATUSLINE_STATE).exists()


def oauth_enabled(settings) -> list[str]:
    """The OAuth sources the user opted in to (``[quota.oauth] anthropic / openai = true``)."""
    oauth = ((settings.raw or {}).get("quota") or {}).get("oauth") or {}
    return [src for src, key in OAUTH_SOURCES.items() if oauth.get(key) is True]
