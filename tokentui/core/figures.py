"""The dashboard's figures as values: what the services compute and the widgets show."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Burn:
    """Tokens per minute and dollars per hour over the last 5 minutes and the last hour."""

    tokens_per_min_5m: float = 0.0
    usd_per_hour_5m: Decimal = Decimal(0)
    tokens_per_min_1h: float = 0.0
    usd_per_hour_1h: Decimal = Decimal(0)
    #: (source, tokens per minute over the last hour), busiest first
    by_source: tuple[tuple[str, float], ...] = ()
    #: (model, tokens per minute over the last hour), busiest first
    by_model: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class PeriodTotal:
    """Summed usage of one calendar period (local time) up to now."""

    name: str  # today | week | month | quarter
    label: str  # e.g. "Fri 20 Nov", "Q4 2026"
    start_ms: int
    end_ms: int
    tokens: int = 0
    input: int = 0
    output: int = 0
    cache_write: int = 0
    cache_read: int = 0
    cost: Decimal = Decimal(0)  # priced records only
    billed: Decimal = Decimal(0)
    unpriced_tokens: int = 0
    estimated_tokens: int = 0  # of ``tokens``: counts that are estimates (session totals, characters)


@dataclass(frozen=True, slots=True)
class Share:
    """One model's or source's part of the recent usage."""

    name: str
    tokens: int
    cost: Decimal  # priced tokens only
    share: float  # of all tokens in the window
    unpriced_tokens: int = 0
