"""records.implausible and records.problem run once per local record, so they are written as
inline checks: they must decide exactly as the plain definitions do."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tokentui.core import records
from tokentui.core.records import MAX_LINE_TOKENS, MAX_TOKENS, UsageRecord

count = st.one_of(st.integers(-2, 3), st.integers(MAX_LINE_TOKENS - 2, MAX_LINE_TOKENS + 2),
                  st.integers(MAX_TOKENS - 1, MAX_TOKENS + 1), st.sampled_from([1.0, True, None, "3"]))


@settings(max_examples=500, deadline=None)
@given(st.tuples(count, count, count, count, count, count), st.sampled_from(["local", "api"]))
def test_checks_equal_their_definitions(n, kind) -> None:
    r = UsageRecord("s", "k", 1_700_000_000_000, "m", *n, kind=kind)
    five = n[:5]
    want = kind == "local" and all(type(v) is int for v in five) and sum(five) > MAX_LINE_TOKENS
    assert records.implausible(r) is want or records.implausible(r) == want
    cap = records.MAX_BUCKET_TOKENS if kind == "api" else MAX_TOKENS
    ok = all(records.token_count(v, cap) is not None for v in n)  # 12.0 is a count too
    assert (records.problem(r) is None) == ok
