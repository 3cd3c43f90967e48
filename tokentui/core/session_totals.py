"""Agents that keep only running totals per session (Goose, Droid, Crush, Hermes): from snapshots
of those totals to ledger records, without ever counting a token twice.

The first time a session is seen, its whole total is one record dated at the session's start
(or spread over ``spread`` times in proportion to their weights: Crush's cost over its
assistant messages). Each later snapshot adds one record holding the increase of every
counter since the last snapshot, dated when the snapshot was taken (the agent's ``updated_at``
or the file's mtime): after the first sync this is exact to the refresh interval. A counter
that went down (a rewrite, a reset) adds nothing and is not taken back: history is kept, and
the old high-water mark stays the baseline, so nothing is counted twice when it grows again.

Keys: ``<session>`` for the first record (``<session>|<n>`` for its spread parts) and
``<session>@<observed ms>#<cumulative tokens and cost>`` for an increase, so a re-read, a
second process or a lost state gives the same keys and the store's upsert never double counts.

Pure: plain values in, records and the new state out.
"""

from __future__ import annotations

from typing import NamedTuple

from tokentui.core.records import TOKENS_ESTIMATED, UNPRICED, UsageRecord

#: the counters a snapshot carries, in this order (cost in picodollars, None = not logged)
COUNTERS = ("input", "output", "cache_write", "cache_read", "reasoning", "cost_pico")


class SessionTotal(NamedTuple):
    """One session's running totals as read now."""

    session: str
    started_ms: int
    observed_ms: int
    model: str | None
    input: int = 0
    output: int = 0  # reasoning included
    cache_write: int = 0
    cache_read: int = 0
    reasoning: int = 0
    cost_pico: int | None = None  # a cost the agent logged (its own estimate or a billed amount)
    project: str | None = None
    #: cold read: ``(ts_ms, weight)`` to spread the first total over (empty: all at ``started_ms``)
    spread: tuple[tuple[int, int], ...] = ()
    model_fallback: bool = False

    def counters(self) -> list[int]:
        return [self.input, self.output, self.cache_write, self.cache_read, self.reasoning, self.cost_pico or 0]


def _split(amounts: list[int], weights: list[int]) -> list[list[int]]:
    """``amounts`` shared out in proportion to ``weights`` (whole numbers; the last part takes
    the remainder, so the parts add up exactly)."""
    total = sum(weights)
    parts, given = [], [0] * len(amounts)
    for n, w in enumerate(weights):
        if n == len(weights) - 1:
            part = [a - g for a, g in zip(amounts, given)]
        else:
            part = [a * w // total for a in amounts]
            given = [g + p for g, p in zip(given, part)]
        parts.append(part)
    return parts


def deltas(source: str, previous: dict[str, list[int]], snapshots: list[SessionTotal]
           ) -> tuple[list[UsageRecord], dict[str, list[int]]]:
    """The records ``snapshots`` add to what ``previous`` (session → counters, see
    :data:`COUNTERS`) already counted, and the state to keep for next time."""
    state = {k: list(v) for k, v in previous.items()}
    out: list[UsageRecord] = []

    def record(key: str, ts_ms: int, s: SessionTotal, c: list[int], logged: bool) -> None:
        if not any(c[:4]) and not c[5]:
            return
        cost = c[5] if logged else None
        out.append(UsageRecord(source, key, ts_ms, s.model, c[0], c[1], c[2], 0, c[3], min(c[4], c[1]),
                               s.project, s.session, cost, UNPRICED, model_fallback=s.model_fallback,
                               logged_cost_pico=cost, token_label=TOKENS_ESTIMATED))

    for s in snapshots:
        now = s.counters()
        logged = s.cost_pico is not None
        before = state.get(s.session)
        if before is None or len(before) != len(COUNTERS):
            state[s.session] = now
            spread = [(ts, w) for ts, w in s.spread if w > 0]
            if len(spread) > 1:
                for n, ((ts, _w), part) in enumerate(zip(spread, _split(now, [w for _t, w in spread]))):
                    record(f"{s.session}|{n}", ts, s, part, logged)
            else:
                record(s.session, spread[0][0] if spread else s.started_ms, s, now, logged)
            continue
        grew = [max(0, n - b) for n, b in zip(now, before)]
        if not any(grew):
            continue
        state[s.session] = [max(n, b) for n, b in zip(now, before)]
        mark = "-".join(str(v) for v in state[s.session])
        record(f"{s.session}@{s.observed_ms}#{mark}", max(s.observed_ms, s.started_ms), s, grew, logged)
    return out, state
