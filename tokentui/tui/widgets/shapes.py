"""The shapes of the values widgets display, as Protocols.

Widgets never import services (nor, through them, the store or config): a parent hands
them frozen values, and any object with these attributes will do."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Protocol


class BurnLike(Protocol):
    tokens_per_min_5m: float
    usd_per_hour_5m: Decimal
    tokens_per_min_1h: float
    usd_per_hour_1h: Decimal


class PeriodLike(Protocol):
    name: str
    label: str
    tokens: int
    input: int
    output: int
    cache_write: int
    cache_read: int
    cost: Decimal
    unpriced_tokens: int


class ShareLike(Protocol):
    name: str
    tokens: int
    cost: Decimal
    share: float
    unpriced_tokens: int


class SourceLike(Protocol):
    name: str
    status: str
    last_sync_ms: int | None


class BurnupPointLike(Protocol):
    """One day of a budget burn-up: cumulative actual (past) and projection (future)."""

    day: date
    actual: float | None
    expected: float | None
    low: float | None
    high: float | None


class DistributionLike(Protocol):
    n: int
    p10: Decimal
    p25: Decimal
    p50: Decimal
    p75: Decimal
    p90: Decimal


class PlacementLike(Protocol):
    text: str
    median_text: str
    position: str


class MetricLike(Protocol):
    """A leverage metric row: the person's value and the team's distribution."""

    metric: str
    label: str
    value: float | Decimal | None
    text: str
    team: DistributionLike | None
    placement: PlacementLike | None


class ReferenceLike(Protocol):
    key: str
    label: str
    metric: str
    low: float
    high: float
    source: str
