"""core.lazy_re: a pattern compiled at first use behaves as the compiled one."""

from __future__ import annotations

import copy
import re

import pytest

from tokentui.core.lazy_re import lazy_compile


def test_a_lazy_pattern_matches_as_re_compile_does() -> None:
    for pattern, flags, text in ((r"a(b+)", 0, "xabbby ab"), (rb"(?i)k\d", 0, b"K1 k2 x"), (r"^x", re.M, "a\nx")):
        lazy, real = lazy_compile(pattern, flags), re.compile(pattern, flags)
        assert lazy.search(text).span() == real.search(text).span()
        assert lazy.findall(text) == real.findall(text)
        assert lazy.sub(lambda m: m.group(0) * 2, text) == real.sub(lambda m: m.group(0) * 2, text)
        assert (lazy.match(text) is None) == (real.match(text) is None)
        assert lazy.pattern == pattern and lazy.groups == real.groups


def test_it_compiles_once_at_first_use_and_fails_there_for_a_bad_pattern() -> None:
    lazy = lazy_compile(r"(")  # no error at declaration: nothing is compiled yet
    with pytest.raises(re.error):
        lazy.search("x")
    ok = lazy_compile(r"\d+")
    assert "search" not in vars(ok)
    assert ok.search("a12").group() == "12"
    assert vars(ok)["search"].__self__ is vars(ok)["findall"].__self__  # one compiled pattern
    copy.copy(ok)  # copying (and its dunder probing) does not recurse
