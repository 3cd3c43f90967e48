"""The one record type every source produces and the store keeps."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

#: cost labels: from a provider cost API / priced locally / no price known
BILLED, ESTIMATED, UNPRICED = "billed", "estimated", "unpriced"

#: integer picodollars (1e-12 USD) per dollar: exact sums of per-token prices
PICO = 10**12


@dataclass(slots=True)
class UsageRecord:
    """One request (local logs) or one time bucket (provider APIs).

    Token kinds do not overlap: ``input`` is uncached input only, the cache fields are
    separate, ``output`` includes reasoning (``reasoning`` is the informative subset).
    ``key`` is the natural key inside the source: re-ingesting the same usage yields the
    same key, so the store's upsert never double counts.
    """

    source: str
    key: str
    ts_ms: int
    model: str | None
    input: int = 0
    output: int = 0
    cache_write_5m: int = 0
    cache_write_1h: int = 0
    cache_read: int = 0
    reasoning: int = 0
    project: str | None = None
    session: str | None = None
    cost_pico: int | None = None
    cost_label: str = UNPRICED
    kind: str = "local"
    width_s: int = 0
    requests: int = 1
    model_fallback: bool = False
    msg_id: str | None = None
    sidechain: bool = False
    logged_cost_pico: int | None = None
    raw: str | None = None

    @property
    def cache_write(self) -> int:
        return self.cache_write_5m + self.cache_write_1h

    @property
    def total(self) -> int:
        return self.input + self.output + self.cache_write_5m + self.cache_write_1h + self.cache_read

    @property
    def cost(self) -> Decimal | None:
        return None if self.cost_pico is None else Decimal(self.cost_pico) / PICO


def usd(pico: int | None) -> Decimal | None:
    """Picodollars to a Decimal number of dollars."""
    return None if pico is None else Decimal(pico) / PICO


def to_pico(dollars: Decimal | int | float | str) -> int:
    """Dollars (any exact representation) to integer picodollars."""
    return int((Decimal(str(dollars)) * PICO).to_integral_value())
