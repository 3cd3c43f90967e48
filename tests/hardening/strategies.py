"""Hypothesis strategies for hostile input: arbitrary JSON, nasty numbers, odd timestamps."""

from __future__ import annotations

import json
import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st


def examples(n: int) -> settings:
    """Hypothesis settings: ``n`` examples in CI, 50 times as many with ``--soak``."""
    soak = os.environ.get("TOKENTOP_HARDENING_SOAK") == "1"
    return settings(max_examples=n * 50 if soak else n, deadline=None, derandomize=False,
                    suppress_health_check=list(HealthCheck))

NASTY_INTS = st.sampled_from([0, 1, -1, 2**31, 2**53, 2**53 + 1, 2**63 - 1, 2**63, 2**64, -(2**63), 10**30,
                              10**10, 10**10 + 1, 10**13])
NASTY_FLOATS = st.sampled_from([0.5, -0.0, 1e308, -1e308, 1e20, 3.0, 2.0**53, 1e-320])
ODD_TIMESTAMPS = st.sampled_from([
    "2026-11-20T10:00:00Z", "2026-11-20T10:00:00.123Z", "2026-11-20T10:00:00+05:45", "2026-11-20T10:00:00-12:00",
    "2026-11-20T10:00:00+14:00", "2026-11-20T10:00:00+23:59", "2026-11-20T10:00:00+24:00",
    "2026-11-20T10:00:00-00:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "1970-01-01T00:00:00Z",
    "2026-02-30T00:00:00Z", "2026-11-20", "2026-11-20T25:61:61Z", "", "T", "2026-11-20T10:00:00+05:30:15",
    "2026-11-20T10:00:00.999999999Z", "+002026-11-20T10:00:00Z", "2026-11-20 10:00:00", "１２３"])
TEXT = st.text(max_size=12) | st.sampled_from(["", " ", "\x00", "\ud800", "gpt-5", "claude-sonnet-4-5",
                                                "<synthetic>", "codex-auto-review", "|", "null"])
SCALARS = (st.none() | st.booleans() | st.integers() | NASTY_INTS | st.floats(allow_nan=False)
           | NASTY_FLOATS | TEXT | ODD_TIMESTAMPS)
JSON = st.recursive(SCALARS, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(TEXT, kids, max_size=4),
                    max_leaves=12)


def maybe(valid, *, p_keep: int = 3):
    """Usually the valid value, sometimes any JSON value, sometimes absent (``MISSING``)."""
    return st.one_of(*([st.just(valid)] * p_keep), JSON, st.just(MISSING))


MISSING = object()


def build(template):
    """A strategy for ``template`` (a dict/list tree whose leaves may be strategies); keys
    whose strategy draws :data:`MISSING` are dropped."""
    if isinstance(template, dict):
        items = {k: build(v) for k, v in template.items()}
        return st.fixed_dictionaries(items).map(lambda d: {k: v for k, v in d.items() if v is not MISSING})
    if isinstance(template, list):
        return st.tuples(*[build(v) for v in template]).map(list)
    if isinstance(template, st.SearchStrategy):
        return template
    return st.just(template)


def dump(value) -> bytes:
    """JSON bytes (allowing what Python's json writes: huge ints, lone surrogates escaped)."""
    return json.dumps(value, separators=(",", ":")).encode()


def deep(n: int = 10_000, kind: str = "list") -> bytes:
    if kind == "list":
        return b"[" * n + b"]" * n
    return b'{"a":' * n + b"1" + b"}" * n
