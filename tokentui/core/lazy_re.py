"""A regular expression compiled at its first use instead of at import.

Every command imports the readers and the text rules; a pattern with large character classes or
one built by :func:`~tokentui.sources.common.json_string_pattern` costs 0.3-1.5 ms to compile,
spent even by a run that never parses a line or prints a character (``tokentop sync -q`` with
nothing new). Only such patterns are declared with :func:`lazy_compile`; small ones stay plain
``re.compile``.
"""

from __future__ import annotations

import re


class LazyPattern:
    """Stands for ``re.compile(pattern, flags)``: the first use of any attribute compiles it;
    from then on each method is the compiled pattern's own bound method, kept on this object
    (a plain attribute look-up on hot paths, no indirection)."""

    def __init__(self, pattern: str | bytes, flags: int = 0) -> None:
        self._args = (pattern, flags)

    def __getattr__(self, name: str):
        if name.startswith("__") or name == "_args":  # copy/pickle probing, or before __init__
            raise AttributeError(name)
        compiled = re.compile(*self._args)
        for method in ("search", "match", "fullmatch", "findall", "finditer", "sub", "subn", "split"):
            setattr(self, method, getattr(compiled, method))
        self.pattern, self.flags, self.groups = compiled.pattern, compiled.flags, compiled.groups
        return getattr(compiled, name)


def lazy_compile(pattern: str | bytes, flags: int = 0) -> LazyPattern:
    return LazyPattern(pattern, flags)
