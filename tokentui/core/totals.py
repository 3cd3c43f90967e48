"""Summed usage: token kinds, cost and how much of it is billed or unpriced."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Totals:
    """Summed token kinds and cost. ``cost_pico`` sums priced records only."""

    input: int = 0
    output: int = 0
    cache_write: int = 0
    cache_read: int = 0
    reasoning: int = 0
    cost_pico: int = 0
    billed_pico: int = 0
    unpriced_tokens: int = 0
    records: int = 0
    requests: int = 0
    models: dict[str, bool] = field(default_factory=dict)  # model -> is fallback (first-seen order)
    estimated_tokens: int = 0  # of ``total``: tokens of records whose counts are estimates

    @property
    def total(self) -> int:
        return self.input + self.output + self.cache_write + self.cache_read

    def add(self, other: "Totals") -> None:
        self.input += other.input
        self.output += other.output
        self.cache_write += other.cache_write
        self.cache_read += other.cache_read
        self.reasoning += other.reasoning
        self.cost_pico += other.cost_pico
        self.billed_pico += other.billed_pico
        self.unpriced_tokens += other.unpriced_tokens
        self.records += other.records
        self.requests += other.requests
        self.estimated_tokens += other.estimated_tokens
        for m, fb in other.models.items():
            self.models[m] = self.models.get(m, True) and fb
