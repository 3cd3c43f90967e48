"""Which Claude account a plan-limit sample belongs to (spec/quotas.md §1.2): the
``oauthAccount.accountUuid`` in Claude Code's account config, found as CodexBar finds it.
Standard library only: the status line imports it."""

from __future__ import annotations

import json
import os

#: the account config is rewritten by Claude Code and can be large (project history)
MAX_CONFIG = 64 << 20


def config_dir() -> str:
    cfg = os.environ.get("CLAUDE_CONFIG_DIR")
    return os.path.expanduser(cfg) if cfg else os.path.join(os.path.expanduser("~"), ".claude")


def account_config() -> str:
    """``$CLAUDE_CONFIG_DIR/.config.json`` if it exists, else ``$CLAUDE_CONFIG_DIR/.claude.json``
    when ``CLAUDE_CONFIG_DIR`` is set, else ``~/.claude.json``."""
    cfg = os.environ.get("CLAUDE_CONFIG_DIR")
    if cfg:
        cfg = os.path.expanduser(cfg)
        dot = os.path.join(cfg, ".config.json")
        return dot if os.path.exists(dot) else os.path.join(cfg, ".claude.json")
    return os.path.join(os.path.expanduser("~"), ".claude.json")


def fallback_key(path: str) -> str:
    import hashlib

    return "anthropic:profile:" + hashlib.sha256(os.path.dirname(path).encode()).hexdigest()[:12]


def read_key(path: str, size: int) -> str:
    """``anthropic:<uuid>`` from the account config at ``path`` (read only), else the fallback."""
    if size <= MAX_CONFIG:
        try:
            with open(path, "rb") as fh:
                data = json.loads(fh.read(MAX_CONFIG + 1))
            uuid = data.get("oauthAccount", {}).get("accountUuid") if isinstance(data, dict) else None
            if isinstance(uuid, str) and uuid and len(uuid) < 200:
                return "anthropic:" + uuid
        except (OSError, ValueError, AttributeError):
            pass
    return fallback_key(path)


def account_key(cache: dict | None = None) -> str:
    """The current account's key; ``cache`` (the status line's state) keeps it by the config
    file's (path, mtime, size), so the file is read again only when it changed."""
    path = account_config()
    try:
        st = os.stat(path)
    except OSError:
        return fallback_key(path)
    sig = [path, st.st_mtime_ns, st.st_size]
    cached = cache.get("acct") if cache is not None else None
    if isinstance(cached, dict) and cached.get("sig") == sig and isinstance(cached.get("key"), str):
        return cached["key"]
    key = read_key(path, st.st_size)
    if cache is not None:
        cache["acct"] = {"sig": sig, "key": key}
    return key
