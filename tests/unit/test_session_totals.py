"""Running session totals to records (core.session_totals): first sight, growth, shrinkage, spreads."""

from __future__ import annotations

from tokentui.core.records import TOKENS_ESTIMATED
from tokentui.core.session_totals import SessionTotal, deltas

T0 = 1795165200000


def _s(inp: int, out: int, seen: int = T0, cost: int | None = None, spread=()) -> SessionTotal:
    return SessionTotal("s1", T0, seen, "m", inp, out, 0, 0, 0, cost, "proj", spread)


def test_first_sight_then_growth_then_shrink_then_growth() -> None:
    recs, state = deltas("x", {}, [_s(100, 10)])
    assert [(r.key, r.ts_ms, r.input, r.output, r.token_label) for r in recs] == [("s1", T0, 100, 10,
                                                                                  TOKENS_ESTIMATED)]
    recs, state = deltas("x", state, [_s(100, 10, T0 + 5)])
    assert recs == []
    recs, state = deltas("x", state, [_s(150, 10, T0 + 9)])
    assert [(r.ts_ms, r.input, r.output) for r in recs] == [(T0 + 9, 50, 0)]
    recs, state = deltas("x", state, [_s(20, 5, T0 + 10)])  # reset: nothing taken back, nothing added
    assert recs == []
    recs, state = deltas("x", state, [_s(170, 12, T0 + 11)])  # only past the old high-water mark counts
    assert [(r.input, r.output) for r in recs] == [(20, 2)]
    again, _ = deltas("x", {}, [_s(170, 12, T0 + 11)])  # a lost state gives the first-sight key again
    assert [r.key for r in again] == ["s1"]


def test_a_spread_adds_up_exactly() -> None:
    recs, _ = deltas("x", {}, [_s(0, 0, cost=421_500_000_001, spread=((T0, 3), (T0 + 1, 1), (T0 + 2, 1)))])
    assert [r.logged_cost_pico for r in recs] == [252_900_000_000, 84_300_000_000, 84_300_000_001]
    assert sum(r.logged_cost_pico for r in recs) == 421_500_000_001
    assert [r.ts_ms for r in recs] == [T0, T0 + 1, T0 + 2] and len({r.key for r in recs}) == 3
