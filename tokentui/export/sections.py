"""Snapshot sections made from other features' results (budgets, leverage, team benchmarks).

These take the other modules' result objects duck-typed (attributes read with ``getattr``),
so a change on their side degrades a section rather than breaking every export. Nothing
here imports those modules: :mod:`tokentui.services.snapshot` does, at call time.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Iterable

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


#: left out of snapshots: with the cost beside it, it reveals the person's pay
PRIVATE_METRICS = ("spend_to_comp",)


def leverage_object(lev: Any) -> dict[str, Any]:
    """``core.leverage.Leverage`` → its JSON (``to_json``, the layout ``team build`` reads),
    without :data:`PRIVATE_METRICS`."""
    out = {k: v for k, v in lev.to_json().items() if k not in PRIVATE_METRICS}
    out.setdefault("window_days", lev.window_days)
    return out


def team_object(report: Any) -> dict[str, Any]:
    """The team comparison of a ``services.leverage.LeverageReport``: the team's name, size,
    window and, per metric, n, p10…p90 and the person's placement. Never the team file's path."""
    team = report.team
    metrics = []
    for row in report.rows:
        dist, place = row.team, row.placement
        if dist is None or row.metric in PRIVATE_METRICS:
            continue
        m: dict[str, Any] = {"metric": row.metric, "n": dist.n,
                             **{f"p{p}": number(getattr(dist, f"p{p}"), 6) for p in (10, 25, 50, 75, 90)}}
        if place is not None:
            m["position"] = place.position
            m["percentile"] = None if place.percentile is None else number(float(place.percentile), 1)
            m["multiple"] = None if place.multiple_of_median is None else number(float(place.multiple_of_median), 3)
        metrics.append(m)
    return {"name": team.name, "members": team.members, "window_days": team.window_days,
            "generated": team.generated, "source": team.source, "metrics": metrics}


def quota_rows(states: Iterable[Any], iso) -> list[dict[str, Any]]:
    """``tokentui.core.quota_state.WindowState`` s as snapshot plan-limit objects (percents as decimal
    strings, the account key left out: it is an identity, not a figure)."""
    out = []
    for s in states:
        p = s.pace
        out.append({"provider": s.provider, "limit": s.lim, "window": s.win, "state": s.state,
                    "used_percent": f"{s.used:.2f}", "resets_at": iso(s.resets_at * 1000) if s.resets_at else None,
                    "as_of": iso(s.as_of_ms), "source": s.source, "provenance": "official", "stale": bool(s.stale),
                    "stage": p.stage if p else None, "expected_percent": f"{p.expected:.2f}" if p else None,
                    "runs_out_at": iso(s.runs_out_ms), "runs_out_at_recent": iso(s.runs_out_recent_ms)})
    return out
