"""Leverage: one person's token figures over a window, expressed per week (pure).

Definitions (window = ``window_days`` days, default 28; ``weeks = window_days / 7``):

* ``tokens_per_week`` — all tokens (uncached input + output + cache write + cache read) / weeks.
* ``fresh_tokens_per_week`` — the same without cache reads / weeks.
* ``cost_per_week`` — priced cost (billed or estimated; unpriced usage adds nothing and is
  reported as ``unpriced_tokens``) / weeks, a Decimal of USD.
* ``active_hours_per_week`` — active minutes / 60 / weeks, where active minutes are defined
  by :func:`active_minutes`: every timestamp with activity marks its whole UTC minute
  active; when the idle stretch between two consecutive active minutes is shorter than
  :data:`MERGE_GAP_MINUTES` (5) whole minutes, that stretch is counted as active too.
  E.g. activity at 10:00:10 and 10:05:50 (minutes 10:00 and 10:05, 4 idle minutes between)
  is 6 active minutes; at 10:00 and 10:06 (5 idle minutes) it is 2. Minutes are absolute
  UTC epoch minutes, so midnight (in any zone) never splits a stretch.
* ``tokens_per_active_hour`` — tokens of the records that carry their own time (per-request
  log entries; provider day buckets have no time within the day) / active hours. None when
  there is no active minute.
* ``cache_hit_ratio`` — cache read / all input (uncached input + cache write + cache read).
* ``output_share`` — output / all tokens.
* model mix — each model's share of all tokens, largest first.
* ``spend_to_comp`` — annualised spend (cost over the window × 365 / window_days) / annual
  compensation (``comp_usd`` in config), only when ``comp_usd`` is set.

Ratios are None when their denominator is zero: "no data" is never shown as 0 %.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Iterable, Mapping

from tokentui.core import fmt
from tokentui.core.benchmarks import Distribution, Placement
from tokentui.core.records import PICO

DEFAULT_WINDOW_DAYS = 28
MERGE_GAP_MINUTES = 5
MINUTE_MS = 60_000
DAY_MS = 86_400_000

#: (name, label, unit) of every scalar metric, in display order. ``unit``: tokens | usd |
#: hours | ratio | tokens_per_hour
METRICS: tuple[tuple[str, str, str], ...] = (
    ("tokens_per_week", "tokens / week", "tokens"),
    ("fresh_tokens_per_week", "fresh tokens / week (no cache reads)", "tokens"),
    ("cost_per_week", "cost / week", "usd"),
    ("active_hours_per_week", "active hours / week", "hours"),
    ("tokens_per_active_hour", "tokens / active hour", "tokens_per_hour"),
    ("cache_hit_ratio", "cache hit ratio (cache read / all input)", "ratio"),
    ("output_share", "output share of all tokens", "ratio"),
    ("spend_to_comp", "annualised spend / compensation", "ratio"),
)
METRIC_NAMES = tuple(m[0] for m in METRICS)
LABELS = {m[0]: m[1] for m in METRICS}
UNITS = {m[0]: m[2] for m in METRICS}


@dataclass(frozen=True, slots=True)
class Usage:
    """Summed token kinds and cost (picodollars) of the counted usage in a window."""

    input: int = 0
    output: int = 0
    cache_write: int = 0
    cache_read: int = 0
    cost_pico: int = 0
    unpriced_tokens: int = 0

    @property
    def total(self) -> int:
        return self.input + self.output + self.cache_write + self.cache_read

    @property
    def fresh(self) -> int:
        return self.input + self.output + self.cache_write


@dataclass(frozen=True, slots=True)
class ModelShare:
    model: str
    tokens: int
    share: float


@dataclass(frozen=True, slots=True)
class Leverage:
    """The metrics of one person over one window. Immutable; see the module docstring."""

    window_days: int
    start_ms: int  # UTC epoch ms, inclusive
    end_ms: int  # exclusive
    usage: Usage
    active_minutes: int
    timed_tokens: int
    tokens_per_week: float
    fresh_tokens_per_week: float
    cost_per_week: Decimal
    active_hours_per_week: float
    tokens_per_active_hour: float | None
    cache_hit_ratio: float | None
    output_share: float | None
    model_mix: tuple[ModelShare, ...] = ()
    comp_usd: Decimal | None = None
    annualised_spend: Decimal = Decimal(0)
    spend_to_comp: float | None = None
    history_start_ms: int | None = None  # earliest record in the whole store (coverage note)
    notes: tuple[str, ...] = field(default=())

    def value(self, metric: str) -> float | Decimal | None:
        """The value of one metric of :data:`METRIC_NAMES`."""
        if metric not in UNITS:
            raise KeyError(metric)
        return getattr(self, metric)

    def values(self) -> dict[str, float | Decimal | None]:
        """Every scalar metric by name (the ``leverage`` object of a snapshot adds ``window_days``)."""
        return {m: self.value(m) for m in METRIC_NAMES}

    def to_json(self, *, include_comp: bool = False) -> dict:
        """JSON-ready figures: money as strings of exact decimals, ratios and rates as numbers.

        ``spend_to_comp`` is left out unless ``include_comp``: next to ``cost_per_week`` it
        gives the person's pay away, and snapshots travel (to a manager, to whoever builds
        the team file).
        """
        out: dict = {"window_days": self.window_days}
        for m, v in self.values().items():
            if m == "spend_to_comp" and not include_comp:
                continue
            out[m] = None if v is None else (str(_cents(v)) if isinstance(v, Decimal) else _round(v))
        out["model_mix"] = [{"model": s.model, "tokens": s.tokens, "share": _round(s.share)} for s in self.model_mix]
        out["active_minutes"] = self.active_minutes
        out["tokens"] = {"input": self.usage.input, "output": self.usage.output,
                         "cache_write": self.usage.cache_write, "cache_read": self.usage.cache_read,
                         "total": self.usage.total, "unpriced": self.usage.unpriced_tokens}
        out["cost_usd"] = str(_cents(Decimal(self.usage.cost_pico) / PICO))
        return out


def _round(x: float) -> float:
    return float(f"{x:.6g}")


def _cents(d: Decimal) -> Decimal:
    return d.quantize(Decimal("0.01"))


def active_minutes(minutes: Iterable[int], merge_gap: int = MERGE_GAP_MINUTES) -> int:
    """Active minutes from epoch-minute indices of activity (any order, repeats allowed).

    Each index counts as one active minute; the ``b - a - 1`` idle minutes between
    consecutive active minutes ``a < b`` count too when fewer than ``merge_gap``.
    """
    total, prev = 0, None
    for m in sorted(set(minutes)):
        if prev is None:
            total += 1
        else:
            idle = m - prev - 1
            total += 1 + (idle if idle < merge_gap else 0)
        prev = m
    return total


def model_mix(tokens_by_model: Mapping[str | None, int]) -> tuple[ModelShare, ...]:
    """Each named model's share of all tokens, largest first (ties by name); zero-token models left out."""
    named = {m: t for m, t in tokens_by_model.items() if m and m != "<synthetic>" and t > 0}
    total = sum(named.values())
    if not total:
        return ()
    return tuple(ModelShare(m, t, t / total) for m, t in sorted(named.items(), key=lambda kv: (-kv[1], kv[0])))


def compute(usage: Usage, *, window_days: int, start_ms: int, end_ms: int, active: int, timed_tokens: int,
            tokens_by_model: Mapping[str | None, int] | None = None, comp_usd: Decimal | None = None,
            history_start_ms: int | None = None) -> Leverage:
    """Build :class:`Leverage` from a window's summed usage and its active minutes.

    ``active`` is :func:`active_minutes` of the window's timed activity; ``timed_tokens``
    the tokens of those timed records (the numerator of ``tokens_per_active_hour``).
    ``history_start_ms`` (the store's earliest record) adds a note when history began
    inside the window, since per-week figures still average over the whole window.
    """
    if window_days <= 0:
        raise ValueError("window_days must be positive")
    weeks = window_days / 7
    cost = Decimal(usage.cost_pico) / PICO
    all_input = usage.input + usage.cache_write + usage.cache_read
    hours = active / 60
    annual = cost * 365 / window_days
    notes: list[str] = []
    if usage.unpriced_tokens:
        notes.append(f"{usage.unpriced_tokens:,} tokens have no known price and are not in the cost figures")
    if history_start_ms is not None and history_start_ms - start_ms > DAY_MS:
        days = (end_ms - history_start_ms) / DAY_MS
        notes.append(f"history covers only the last {days:.0f} of the {window_days} days; per-week figures "
                     "average over the whole window")
    if usage.total and not active:
        notes.append("no per-request timestamps in the window (provider day buckets only): active hours unknown")
    return Leverage(
        window_days=window_days, start_ms=start_ms, end_ms=end_ms, usage=usage, active_minutes=active,
        timed_tokens=timed_tokens,
        tokens_per_week=usage.total / weeks,
        fresh_tokens_per_week=usage.fresh / weeks,
        cost_per_week=cost * 7 / window_days,
        active_hours_per_week=hours / weeks,
        tokens_per_active_hour=timed_tokens / hours if active else None,
        cache_hit_ratio=usage.cache_read / all_input if all_input else None,
        output_share=usage.output / usage.total if usage.total else None,
        model_mix=model_mix(tokens_by_model or {}),
        comp_usd=comp_usd, annualised_spend=annual,
        spend_to_comp=float(annual / comp_usd) if comp_usd else None,
        history_start_ms=history_start_ms, notes=tuple(notes))


def format_value(metric: str, value: float | Decimal | None) -> str:
    """A metric's value for display: ``1.2B``, ``$312.50``, ``14.5 h``, ``92%``; ``—`` for no value."""
    if value is None:
        return "—"
    unit = UNITS.get(metric, "ratio")
    if unit == "tokens":
        return fmt.tokens_short(round(value))
    if unit == "tokens_per_hour":
        return f"{fmt.tokens_short(round(value))}/h"
    if unit == "usd":
        return fmt.usd(Decimal(value) if not isinstance(value, Decimal) else value)
    if unit == "hours":
        return f"{float(value):.1f} h"
    return fmt.percent(float(value))


@dataclass
class PersonUsage:
    """One person's usage over a team pull's window (summed in memory, never stored)."""

    input: int = 0
    output: int = 0
    cache_write: int = 0
    cache_read: int = 0
    cost: Decimal = Decimal(0)
    cost_known: bool = True

    def values(self, days: int) -> dict[str, Decimal | None]:
        weeks = Decimal(days) / 7
        total = self.input + self.output + self.cache_write + self.cache_read
        all_in = self.input + self.cache_write + self.cache_read
        return {"tokens_per_week": total / weeks,
                "fresh_tokens_per_week": (total - self.cache_read) / weeks,
                "cost_per_week": self.cost / weeks if self.cost_known else None,
                "cache_hit_ratio": Decimal(self.cache_read) / all_in if all_in else None,
                "output_share": Decimal(self.output) / total if total else None}


@dataclass(frozen=True, slots=True)
class MetricRow:
    """One metric: the person's value, the team's distribution and the placement in it."""

    metric: str
    label: str
    value: float | Decimal | None
    team: Distribution | None = None
    placement: Placement | None = None

    @property
    def text(self) -> str:
        return format_value(self.metric, self.value)
