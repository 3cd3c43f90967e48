"""JSON read strictly: an object that gives a key twice is refused.

``json.loads`` keeps the last of two equal keys; other readers keep the first. A document
that says two things is not trusted to mean either: a snapshot with a fake ``"label"`` or
``"cost_usd"`` before the real one would verify (the digest covers the last value) while a
first-wins reader shows the fake one. Pure: no I/O.
"""

from __future__ import annotations

import json
from typing import Any


class DuplicateKeyError(ValueError):
    """An object in the text gives ``key`` more than once."""

    def __init__(self, key: str) -> None:
        super().__init__(f"the key {key!r} is given twice in one object")
        self.key = key


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise DuplicateKeyError(key)
        out[key] = value
    return out


def loads(text: str) -> Any:
    """``json.loads`` that raises :class:`DuplicateKeyError` (a ``ValueError``) for a repeated key."""
    return json.loads(text, object_pairs_hook=_unique)
