"""API keys in text that came from elsewhere (a provider's answer, a gateway's error page):
found and replaced before the text is stored, shown or exported. Pure: no I/O.

A key is found when it equals a configured key, or by its shape: the key formats of the
providers tokentop reads (``sk-ant-…``, ``sk-or-v1-…``, ``sk-proj-…``, ``sk-admin-…``,
``sk-svcacct-…``, ``sk-`` and 32 or more letters and digits) and the token after ``Bearer``
or an ``api-key:``/``x-api-key=`` label. It is replaced by its last 4 characters
(``…3f9a``); where the text identifies a record (a natural key), by the tail and a short
hash (``…3f9a~5d41402abc``), so two keys with the same tail never merge two records.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Iterable

#: provider key formats; never inside a longer word ("task-…" is not a key)
KEY_SHAPES = re.compile(r"""
    (?<![A-Za-z0-9_-])
    (?: sk-ant-[a-z]+[0-9]*-[A-Za-z0-9_-]{16,}            # Anthropic: sk-ant-api03-…, sk-ant-admin01-…
      | sk-or-v[0-9]+-[A-Za-z0-9]{16,}                     # OpenRouter: sk-or-v1-…
      | sk-(?:proj|admin|svcacct|None)-[A-Za-z0-9_-]{16,}  # OpenAI project, admin, service-account keys
      | sk-[A-Za-z0-9]{32,}                                # OpenAI (older), DeepSeek, Moonshot
    )""", re.VERBOSE)
#: a token after "Bearer" or an api-key label, whatever its format
LABELLED = re.compile(r"""(?ix)
    ( \bbearer\s+
    | \b(?:x-)?api[-_]?key\b ["']? \s* [:=] \s* ["']? )
    ( [A-Za-z0-9._~+/-]{16,} =* )""")
MIN_KEY = 8  # shorter "keys" are not replaced: they would match ordinary text


def redact_key(key: str | None) -> str:
    """Only a short tail of a key, e.g. ``…3f9a``; never more than 4 characters of it."""
    if not key:
        return ""
    tail = key[-4:] if len(key) >= 12 else ""
    return f"…{tail}"


def _mark(secret: str, identity: bool) -> str:
    if not identity:
        return redact_key(secret)
    return f"{redact_key(secret)}~{hashlib.sha256(secret.encode()).hexdigest()[:10]}"


def redact_secrets(text: str, keys: Iterable[str | None] = (), *, identity: bool = False) -> str:
    """``text`` with every key in ``keys`` and everything shaped like a key replaced.

    ``identity``: ``text`` identifies something (a record's natural key): the replacement
    keeps different keys apart (see the module doc)."""
    if not text:
        return text
    for key in sorted({k for k in keys if k and len(k) >= MIN_KEY}, key=len, reverse=True):
        if key in text:
            text = text.replace(key, _mark(key, identity))
    text = KEY_SHAPES.sub(lambda m: _mark(m.group(0), identity), text)
    return LABELLED.sub(lambda m: m.group(1) + _mark(m.group(2), identity), text)


def redact_tree(value: Any, keys: Iterable[str | None] = ()) -> Any:
    """A JSON-like value (dicts, lists, strings, numbers) with :func:`redact_secrets` applied
    to every string in it, dictionary keys included."""
    keys = tuple(keys)
    if isinstance(value, str):
        return redact_secrets(value, keys)
    if isinstance(value, dict):
        return {redact_tree(k, keys): redact_tree(v, keys) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact_tree(v, keys) for v in value)
    return value
