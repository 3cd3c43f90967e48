"""Snapshot sections made from other features' results (budgets, leverage, team benchmarks).

These take the other modules' result objects duck-typed (attributes read with ``getattr``),
so a change on their side degrades a section rather than breaking every export. Nothing
here imports those modules: :mod:`tokentui.services.snapshot` does, at call time.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Iterable, Mapping

from tokentui.export.model import money_of, number, ratio

CENT = Decimal("0.01")


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def _amount(unit: str, value: Any) -> str | int | None:
    """A budget amount: USD → decimal string to the cent; tokens → int."""
    if value is None:
        return None
    if unit == "usd":
        return money_of(value, CENT)
    return int(round(float(value)))


def budget_row(r: Any) -> dict[str, Any]:
    """One ``tokentui.services.budgets.BudgetResult`` as a snapshot budget object."""
    b, p = r.budget, r.projection
    unit = b.unit
    burnup = [{"date": pt.day.isoformat(), "actual": _amount(unit, pt.actual), "expected": _amount(unit, pt.expected),
               "low": _amount(unit, pt.low), "high": _amount(unit, pt.high)} for pt in p.burnup]
    return {
        "name": b.name, "unit": unit, "amount": _amount(unit, b.amount), "period": b.period,
        "period_start": r.period_start.isoformat(), "period_end": r.period_end.isoformat(),
        "scope": b.scope_text(), "spent": _amount(unit, r.spent), "remaining": _amount(unit, r.remaining),
        "used_share": ratio(float(r.spent), float(b.amount)), "elapsed_share": number(float(p.elapsed_fraction)),
        "pace": number(p.pace, 3) if p.pace is not None else None,
        "daily_rate": _amount(unit, r.daily_rate), "projected": _amount(unit, r.projected),
        "projected_p10": _amount(unit, r.projected_low), "projected_p90": _amount(unit, r.projected_high),
        "exhaustion": _iso(p.exhaustion), "exhaustion_p10": _iso(p.exhaustion_early),
        "exhaustion_p90": _iso(p.exhaustion_late), "runs_out": _iso(p.runs_out),
        "runway_quarters": number(p.runway_quarters, 2) if p.runway_quarters is not None else None,
        "unpriced_tokens": int(getattr(r, "unpriced_tokens", 0) or 0),
        "status": r.status, "headline": r.headline, "method": p.method, "burnup": burnup,
    }


def budget_rows(results: Iterable[Any]) -> list[dict[str, Any]]:
    return [budget_row(r) for r in results]


def leverage_object(lev: Any) -> dict[str, Any]:
    """``core.leverage.Leverage`` → its JSON (``to_json``), as the leverage module defines it."""
    out = dict(lev.to_json())
    out.setdefault("window_days", lev.window_days)
    return out


def team_object(comparison: Any) -> dict[str, Any] | None:
    """A team comparison as ``{name?, window_days?, generated_at?, metrics: [...]}``.

    Accepts a mapping (already JSON-ready) or an object with ``to_json()``."""
    if comparison is None:
        return None
    if hasattr(comparison, "to_json"):
        comparison = comparison.to_json()
    if not isinstance(comparison, Mapping):
        return None
    return dict(comparison)
