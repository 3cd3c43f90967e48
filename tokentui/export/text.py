"""Words and numbers shared by the human-readable formats (md, html), and the embedded data.

Everything here reads the snapshot's ``data`` (decimal strings, ints) and returns text;
nothing depends on the clock, the locale or the environment, so a document renders the same
twice.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Mapping

from tokentui.core import fmt
from tokentui.core.source_status import IDLE_STATUSES  # a status with nothing to show: one line, not a row

#: marker of the embedded data, in md (fence info string) and html (comment start)
EMBED_TAG = "tokentop-snapshot"

METRIC_LABELS = {
    "tokens_per_week": "Tokens / week", "fresh_tokens_per_week": "Fresh tokens / week",
    "cost_per_week": "Cost / week", "active_hours_per_week": "Active hours / week",
    "tokens_per_active_hour": "Tokens / active hour", "cache_hit_ratio": "Cache hit ratio",
    "output_share": "Output share", "spend_to_comp": "Annualised spend / compensation",
}
METRIC_UNITS = {"tokens_per_week": "tokens", "fresh_tokens_per_week": "tokens", "cost_per_week": "usd",
                "active_hours_per_week": "hours", "tokens_per_active_hour": "tokens_per_hour", "cache_hit_ratio": "ratio",
                "output_share": "ratio", "spend_to_comp": "ratio"}


def embed_json(data: Any) -> str:
    """``data`` as one line of JSON that is safe inside an HTML comment and a Markdown fence.

    ASCII only, and ``< > & ` --`` escaped inside strings (they can appear nowhere else in
    JSON), so the text can neither close the comment nor the fence. ``json.loads`` gives
    back exactly ``data``; the digest is computed over the canonical form, not this text."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("`", "\\u0060")):
        text = text.replace(ch, esc)
    while "--" in text:
        text = text.replace("--", "-\\u002d")
    return text


def usd(value: str | None, places: int | None = None) -> str:
    """A decimal-string amount as '$1,234.56' ('—' when absent)."""
    if value is None:
        return "—"
    return fmt.usd(Decimal(value), places=places)


def usd2(value: str | None) -> str:
    """Money with two decimals ('<$0.01' for a sliver, never '$0.00'); '—' when absent."""
    return "—" if value is None else fmt.money(Decimal(value))


def cost(value: str | None, unpriced_tokens: int = 0) -> str:
    """A cost cell: 'unpriced' when nothing of it has a price, '$1.23*' when part has none."""
    return "—" if value is None else fmt.cost_cell(Decimal(value), unpriced_tokens)


#: the widest exact token figure a document's table shows ('9,999,999,999'); beyond it the
#: whole column is compact
TOKEN_WIDTH = 13


def columns(rows: list[list[Any]], token_cols: tuple[int, ...]) -> list[list[Any]]:
    """``rows`` with the token counts at ``token_cols`` formatted one format per column."""
    rows = [list(r) for r in rows]
    for i in token_cols:
        for r, text in zip(rows, fmt.token_column([r[i] for r in rows], TOKEN_WIDTH)):
            r[i] = text
    return rows


def tokens(n: int | None) -> str:
    """'1,234,567' up to 10 digits, else '12.3B'."""
    if n is None:
        return "—"
    return fmt.fit(int(n), 13)


def short(n: int | float | None) -> str:
    return "—" if n is None else fmt.tokens_short(int(round(float(n))))


def pct(share: str | float | None) -> str:
    """A share ('0.1234' or 0.1234) as '12%' / '1.2%'."""
    if share is None:
        return "—"
    return fmt.percent(float(share))


def budget_amount(b: Mapping[str, Any], key: str) -> str:
    v = b.get(key)
    if v is None:
        return "—"
    return usd2(v) if b["unit"] == "usd" else f"{short(v)} tokens"


def budget_period(b: Mapping[str, Any]) -> str:
    """'2026-10-01 to 2026-12-31' (the stored end is exclusive)."""
    end = date.fromisoformat(b["period_end"]) - timedelta(days=1)
    return f"{b['period_start']} to {end.isoformat()}"


def sync_time(stamp: str | None) -> str:
    """'2026-11-20T14:59:58Z' → '2026-11-20 14:59' (UTC); 'never' when absent."""
    return stamp[:16].replace("T", " ") if stamp else "never"


def metric_value(name: str, value: Any) -> str:
    """A leverage metric in its unit."""
    if value is None:
        return "—"
    unit = METRIC_UNITS.get(name, "")
    if unit == "usd":
        return usd2(str(value))
    if unit == "tokens":
        return short(value)
    if unit == "tokens_per_hour":
        return f"{short(value)}/h"
    if unit == "hours":
        return f"{float(value):.1f} h"
    if unit == "ratio":
        return pct(value)
    return str(value)


def period_line(data: Mapping[str, Any]) -> str:
    p = data["period"]
    days = f"{p['days']} day{'s' if p['days'] != 1 else ''}"
    return f"{p['start']} to {p['end']} ({days}{', to date' if p.get('to_date') else ''}, {p['timezone']})"


def generated_line(data: Mapping[str, Any]) -> str:
    stamp = data["generated_at"].replace("T", " ").replace("Z", " UTC")
    return f"{stamp} by tokentop {data['tokentop_version']}"


def title(data: Mapping[str, Any]) -> str:
    label = " ".join(str(data.get("label", "")).split())
    return f"Token usage: {label}" if label else "Token usage snapshot"


def cost_basis(data: Mapping[str, Any]) -> str:
    t = data["totals"]
    return (f"billed {usd2(t['billed_usd'])} · estimated {usd2(t['estimated_usd'])} · "
            f"unpriced {tokens(t['unpriced_tokens'])} tokens ({pct(t['unpriced_share'])} of tokens)")


def per_week(data: Mapping[str, Any]) -> tuple[str, str]:
    """(tokens per week, cost per week) over the period."""
    weeks = Decimal(data["window_days"]) / 7
    t = data["totals"]
    return short(int(Decimal(t["total_tokens"]) / weeks)), usd2(str(Decimal(t["cost_usd"]) / weeks))


def team_metrics(data: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The team comparison per metric name (empty without a team section)."""
    team = data.get("team") or {}
    rows = team.get("metrics", [])
    if isinstance(rows, Mapping):
        return {k: v for k, v in rows.items() if isinstance(v, Mapping)}
    return {r["metric"]: r for r in rows if isinstance(r, Mapping) and "metric" in r}


def placement(t: Mapping[str, Any]) -> str:
    """'p63', 'below p10', 'above p90' or '—'."""
    pos = t.get("position")
    if pos == "below":
        return "below p10"
    if pos == "above":
        return "above p90"
    return "—" if t.get("percentile") is None else f"p{float(t['percentile']):.0f}"


def leverage_heads(data: Mapping[str, Any]) -> list[str]:
    return ["Metric", "You"] + (["Team median", "Place", "× median"] if data.get("team") else [])


def leverage_rows(data: Mapping[str, Any]) -> list[tuple[str, ...]]:
    """(label, value[, team median, place, × median]) for each leverage metric present."""
    lev = data.get("leverage") or {}
    team = team_metrics(data)
    out: list[tuple[str, ...]] = []
    for name, label in METRIC_LABELS.items():
        if name not in lev and name not in team:
            continue
        row: tuple[str, ...] = (label, metric_value(name, lev.get(name)))
        if data.get("team"):
            t = team.get(name, {})
            mult = t.get("multiple")
            row += (metric_value(name, t.get("p50")), placement(t),
                    "—" if mult is None else f"{float(mult):.2f}×")
        out.append(row)
    return out


def team_line(data: Mapping[str, Any]) -> str:
    """'Team benchmark: Platform (7 members, 28-day window, generated 2026-11-20).' or ''."""
    team = data.get("team")
    if not team:
        return ""
    bits = [f"{team['members']} members" if "members" in team else "",
            f"{team['window_days']}-day window" if "window_days" in team else "",
            f"generated {str(team['generated'])[:10]}" if team.get("generated") else ""]
    inner = ", ".join(b for b in bits if b)
    return f"Team benchmark: {team.get('name', 'team')}" + (f" ({inner})." if inner else ".")


def model_mix(data: Mapping[str, Any], limit: int = 5) -> str:
    mix = (data.get("leverage") or {}).get("model_mix") or []
    return ", ".join(f"{m['model']} {pct(m['share'])}" for m in mix[:limit])


QUOTA_HEADS = ("Limit", "Window", "Used", "Resets (UTC)", "Expected", "Pace", "Runs out (UTC)", "Source")


def _when(iso: str | None) -> str:
    return iso[:16].replace("T", " ") if iso else "—"


def quota_rows(d: Mapping[str, Any]) -> list[list[str]]:
    """The snapshot's plan-limit windows as table rows (official numbers, with their source)."""
    rows = []
    for w in d.get("quotas") or ():
        name = {"anthropic": "Claude", "openai": "Codex"}.get(w["provider"], w["provider"])
        lim = "plan" if w["limit"] in ("account", "codex") else w["limit"]
        used = f"{Decimal(w['used_percent']):.0f}%" if w["state"] == "active" else w["state"]
        out = w.get("runs_out_at") or w.get("runs_out_at_recent")
        rows.append([f"{name} {lim}", {"five_hour": "5h", "seven_day": "7d"}.get(w["window"], w["window"]), used,
                     _when(w.get("resets_at")),
                     f"{Decimal(w['expected_percent']):.0f}%" if w.get("expected_percent") else "—",
                     w.get("stage") or "—", _when(out),
                     f"{w['source']} ({w['provenance']}{', stale' if w.get('stale') else ''})"])
    return rows




def shown_sources(data: Mapping[str, Any]) -> tuple[list[Mapping[str, Any]], list[str]]:
    """(the provenance rows worth a row: records stored or a status that is news; the names
    of the sources that are not set up and hold nothing)."""
    rows, idle = [], []
    for s in data["provenance"]["sources"]:
        if not s.get("records") and not s.get("records_in_period") and s.get("status") in IDLE_STATUSES:
            idle.append(str(s["source"]))
        else:
            rows.append(s)
    return rows, idle


def _share(part: int | Decimal, whole: int | Decimal) -> str:
    return pct(float(part) / float(whole)) if whole else "—"


def summary_points(data: Mapping[str, Any]) -> list[str]:
    """The snapshot in plain sentences a manager reads in a minute (no markup: each format
    escapes them): spend and tokens, activity, where it went, budgets, team, how sure."""
    t, p = data["totals"], data["period"]
    days = f"{p['days']} day{'s' if p['days'] != 1 else ''}"
    tpw, cpw = per_week(data)
    cost, total = Decimal(t["cost_usd"]), int(t["total_tokens"])
    out = [f"{usd2(t['cost_usd'])} spent on {tokens(total)} tokens in {days} (about {cpw} and {tpw} tokens a week)."]
    active = [r for r in data["daily"] if r.get("total_tokens")]
    if active:
        top = max(active, key=lambda r: (r["total_tokens"], r["date"]))
        out.append(f"Active on {t['active_days']} of {days}; the busiest day was {top['date']} "
                   f"({tokens(top['total_tokens'])} tokens, {usd2(top['cost_usd'])}).")
    else:
        out.append("No usage in this period.")
    models = [m for m in data["by_model"] if m.get("total_tokens")]
    if models:
        by_tokens = max(models, key=lambda m: m["total_tokens"])
        bits = [f"most tokens: {by_tokens['model']} ({_share(by_tokens['total_tokens'], total)})"]
        by_cost = max(models, key=lambda m: Decimal(m["cost_usd"]))
        if cost > 0:
            bits.append(f"most cost: {by_cost['model']} ({usd2(by_cost['cost_usd'])}, "
                        f"{_share(Decimal(by_cost['cost_usd']), cost)} of the cost)")
        out.append(f"{len(models)} model{'s' if len(models) != 1 else ''}; " + "; ".join(bits) + ".")
    budgets = data.get("budgets")
    if budgets:
        out += [f"Budget: {b['headline']}" for b in budgets[:3]]
        if len(budgets) > 3:
            out.append(f"{len(budgets) - 3} more budget{'s' if len(budgets) > 4 else ''} below.")
    elif budgets is not None:
        out.append("No budget is set.")
    team = data.get("team")
    tpw_row = team_metrics(data).get("tokens_per_week") if team else None
    if tpw_row and (tpw_row.get("percentile") is not None or tpw_row.get("position")):
        mult = tpw_row.get("multiple")
        out.append(f"Tokens per week against team {team.get('name', 'team')} ({team.get('members', '?')} members): "
                   f"{placement(tpw_row)}" + (f", {float(mult):.2f}× the median" if mult is not None else "")
                   + " (a benchmark, not a ranking).")
    basis = (f"Of the cost, {usd2(t['billed_usd'])} is billed by providers and {usd2(t['estimated_usd'])} "
             "estimated from list prices")
    if t.get("unpriced_tokens"):
        basis += (f"; {tokens(t['unpriced_tokens'])} tokens ({pct(t['unpriced_share'])}) are of models without "
                  "a known price and not in it")
    out.append(basis + ".")
    rows, _idle = shown_sources(data)
    failing = [str(s["source"]) for s in rows if s.get("status") == "error"]
    names = ", ".join(str(s["source"]) for s in rows) or "no source"
    out.append(f"Read from {names}" + (f"; {', '.join(failing)} reported an error at its last sync (see Sources)"
                                       if failing else "") + ".")
    return out
