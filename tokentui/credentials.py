"""API keys: the standard env var first, then the OS keyring (service ``tokentop``).

tokentop never writes a key to a file. Where no keyring backend works (a headless
Linux box without Secret Service), :class:`CredentialError` says so and names the env var.

Asking the keyring is slow (finding a backend alone takes ~30 ms, a Secret Service round
trip more), so ``keyring-index.json`` in the data dir remembers *whether* the keyring held a
key for each source (never the key): a source known to have none is not asked again until
``set_key``, ``delete_key`` or ``key_info(refresh=True)`` (``tokentop keys list``) updates it.
"""

from __future__ import annotations

import json
import os
import re
from typing import NamedTuple

from tokentui.errors import CredentialError, TokentopError
from tokentui.sources import registry

SERVICE = "tokentop"

def key_env(source: str) -> str:
    """The standard environment variable of ``source``'s key (from the source registry)."""
    return registry.key_env(source)


class KeyInfo(NamedTuple):  # not a frozen dataclass: every sync imports this module (~10x cheaper)
    source: str
    origin: str  # "env" | "keyring" | "none"
    redacted: str


def redact(key: str | None) -> str:
    """Only a short tail of a key, e.g. ``…3f9a``; never more than 4 characters of it."""
    from tokentui.core.secrets import redact_key  # here: a sync asks whether keys exist, and redacts none

    return redact_key(key)


#: anything shaped like a provider key (sk-…, sk-ant-…, sk-or-v1-…, sk-admin-…), for scrubbing
_KEYLIKE = re.compile(r"sk-[A-Za-z0-9_\-]{12,}")


def scrub(text: str, *keys: str | None) -> str:
    """``text`` with every key in ``keys``, every key in the standard env vars and anything
    shaped like a provider key replaced by its redacted tail (for errors, logs, tracebacks)."""
    for key in (*keys, *(os.environ.get(v, "").strip() for v in registry.key_env_vars().values())):
        if key and len(key) >= 8 and key in text:
            text = text.replace(key, redact(key))
    return _KEYLIKE.sub(lambda m: redact(m.group(0)), text)


def configured_keys(keyring: bool = True) -> tuple[str, ...]:
    """Every API key tokentop is configured with: the standard env vars and, with
    ``keyring``, the keys the keyring holds (asked only for sources the index does not rule
    out). For redacting them from text that came from elsewhere; never stored."""
    env_vars = registry.key_env_vars()
    keys = [os.environ.get(v, "").strip() for v in env_vars.values()]
    if keyring:
        keys += [get_key(source)[0] for source in env_vars]
    return tuple(k for k in dict.fromkeys(keys) if k)


def _no_backend(exc: Exception | None = None) -> CredentialError:
    return CredentialError(
        "no working OS keyring backend on this machine",
        "set the key in an environment variable instead, e.g. OPENAI_ADMIN_KEY; "
        "on Linux install and unlock a Secret Service such as gnome-keyring or KWallet",
    )


def _keyring():
    import keyring
    from keyring.backends import fail

    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring):
        raise _no_backend()
    return keyring


def _check_source(source: str) -> None:
    if source not in registry.key_env_vars():
        raise CredentialError(f"unknown key source {source!r}", f"known: {registry.help_list(registry.API)}")


def _index_file():
    from tokentui import paths

    return paths.data_dir() / "keyring-index.json"


def keyring_index() -> dict[str, bool]:
    """Whether the keyring held a key for each source, as last seen (see the module doc)."""
    try:
        data = json.loads(_index_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if k in registry.key_env_vars() and type(v) is bool}


def _note(source: str, present: bool) -> None:
    index = keyring_index()
    if index.get(source) is present:
        return
    index[source] = present
    from tokentui import paths

    try:
        paths.write_private_text(_index_file(), json.dumps(index, sort_keys=True))
    except (OSError, TokentopError):
        pass  # only a cache: the keyring is asked again next time


def get_key(source: str, refresh: bool = False) -> tuple[str | None, str]:
    """Return ``(key, origin)``; origin is ``env``, ``keyring`` or ``none``.

    A broken keyring is not fatal here: the source is simply not configured. Unless
    ``refresh``, a source the keyring index says has no key is not looked up.
    """
    _check_source(source)
    env = os.environ.get(key_env(source), "").strip()
    if env:
        return env, "env"
    if not refresh and keyring_index().get(source) is False:
        return None, "none"
    try:
        kr = _keyring()
        value = kr.get_password(SERVICE, source)
    except CredentialError:  # no backend: no key can be there until one is set up (set_key notes it)
        _note(source, False)
        return None, "none"
    except Exception:  # keyring backends raise many types (dbus, locked, …): ask again next time
        return None, "none"
    _note(source, bool(value))
    return (value, "keyring") if value else (None, "none")


def has_key(source: str, index: dict[str, bool] | None = None) -> bool:
    """Whether a key for ``source`` is available: its env var is set, or the keyring holds one.
    Asks the keyring only when the index (read here unless given) does not know yet."""
    if os.environ.get(key_env(source), "").strip():
        return True
    known = (keyring_index() if index is None else index).get(source)
    return known if known is not None else get_key(source)[0] is not None


def key_problem(key: str) -> str | None:
    """Why ``key`` cannot be a provider key (it could not even be sent in an HTTP header), or
    None. Never quotes the key."""
    if not key.isascii():
        return "contains a non-ASCII character"
    if any(c.isspace() for c in key):
        return "contains whitespace"
    if not key.isprintable():
        return "contains a control character"
    return None


def set_key(source: str, key: str) -> None:
    _check_source(source)
    key = key.strip()
    if not key:
        raise CredentialError("empty key: nothing stored")
    if key_problem(key):
        raise CredentialError(f"the key {key_problem(key)}; paste only the key itself")
    kr = _keyring()
    try:
        kr.set_password(SERVICE, source, key)
    except Exception as exc:
        raise CredentialError(f"the OS keyring refused to store the key: {type(exc).__name__}",
                              f"set {key_env(source)} instead") from None
    _note(source, True)


def delete_key(source: str) -> bool:
    """Remove the stored key; False when there was none."""
    _check_source(source)
    kr = _keyring()
    import keyring.errors

    try:
        kr.delete_password(SERVICE, source)
    except keyring.errors.PasswordDeleteError:
        _note(source, False)
        return False
    _note(source, False)
    return True


def key_info(source: str, refresh: bool = False) -> KeyInfo:
    key, origin = get_key(source, refresh)
    return KeyInfo(source, origin, redact(key))


def check_base_url(url: str) -> str | None:
    """Why ``url`` is not acceptable as an API base URL, or None if it is.

    https is required except on loopback (127.0.0.0/8, ::1, localhost), where http is
    allowed for local gateways and tests.
    """
    import ipaddress
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return f"not a URL: {url!r}"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"not an http(s) URL: {url!r}"
    if parts.scheme == "https":
        return None
    host = parts.hostname
    if host == "localhost":
        return None
    try:
        if ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        pass
    return f"plain http is only allowed on loopback; use https for {host}"
