"""The Markdown snapshot: short lines and small tables that read well in a chat or an issue.

The data is embedded at the end in a fenced block (info string ``json tokentop-snapshot``)
next to its sha256 digest, so ``tokentop verify`` can check both the data and, by rendering
it again, the readable part above it.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Iterable, Mapping, Sequence

from tokentui.export import text as tx
from tokentui.export.model import Snapshot

BAR_WIDTH = 20


def cell(value: Any) -> str:
    """Table cell text: one line, pipes escaped."""
    return " ".join(str(value).split()).replace("|", "\\|")


def table(heads: Sequence[str], rows: Iterable[Sequence[Any]], right: Sequence[int] = ()) -> list[str]:
    """A GitHub-flavoured table; columns in ``right`` are right-aligned."""
    lines = ["| " + " | ".join(heads) + " |",
             "|" + "|".join("---:" if i in right else "---" for i in range(len(heads))) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return lines


def bar(value: int, top: int, width: int = BAR_WIDTH) -> str:
    if top <= 0 or value <= 0:
        return ""
    n = max(1, round(value * width / top))
    return "█" * n


def _summary(d: Mapping[str, Any]) -> list[str]:
    t = d["totals"]
    tpw, cpw = tx.per_week(d)
    return [
        "## Summary", "",
        f"- **Tokens:** {tx.tokens(t['total_tokens'])} ({tx.short(t['total_tokens'])}) — "
        f"input {tx.short(t['input_tokens'])}, output {tx.short(t['output_tokens'])}, "
        f"cache write {tx.short(t['cache_write_tokens'])}, cache read {tx.short(t['cache_read_tokens'])}",
        f"- **Cost:** {tx.usd2(t['cost_usd'])} — {tx.cost_basis(d)}",
        f"- **Per week:** {tpw} tokens, {cpw}",
        f"- **Active days:** {t['active_days']} of {d['period']['days']} · requests {tx.tokens(t['requests'])}",
        "",
    ]


def _budgets(d: Mapping[str, Any]) -> list[str]:
    budgets = d.get("budgets")
    if budgets is None:
        return []
    out = ["## Budgets", ""]
    if not budgets:
        return out + ["No budgets configured.", ""]
    for b in budgets:
        out.append(f"- **{cell(b['headline'])}**")
        out.append(f"  spent {tx.budget_amount(b, 'spent')} of {tx.budget_amount(b, 'amount')} "
                   f"({tx.pct(b['used_share'])}) with {tx.pct(b['elapsed_share'])} of the {b['period']} elapsed "
                   f"({tx.budget_period(b)}); projected "
                   f"{tx.budget_amount(b, 'projected')} (P10–P90 {tx.budget_amount(b, 'projected_p10')} – "
                   f"{tx.budget_amount(b, 'projected_p90')}); scope: {b['scope']}")
    return out + [""]


def _leverage(d: Mapping[str, Any]) -> list[str]:
    rows = tx.leverage_rows(d)
    if not rows:
        return []
    lev = d.get("leverage") or {}
    intro = (f"Per week over the {lev.get('window_days', d['window_days'])}-day window (fresh: without cache "
             f"reads). {tx.team_line(d)}").strip()
    out = ["## Leverage", "", intro, ""]
    out += table(tx.leverage_heads(d), rows, right=(1, 2, 3, 4))
    mix = tx.model_mix(d)
    if mix:
        out += ["", f"Model mix: {cell(mix)}"]
    return out + [""]


def _breakdowns(d: Mapping[str, Any]) -> list[str]:
    out = ["## By source", ""]
    out += table(["Source", "Kind", "Tokens", "Cost", "Billed", "Records"],
                 ([s["source"], s["kind"], tx.tokens(s["total_tokens"]), tx.usd2(s["cost_usd"]),
                   tx.usd2(s["billed_usd"]), tx.tokens(s["records"])] for s in d["by_source"]), right=(2, 3, 4, 5))
    out += ["", "## By model", ""]
    out += table(["Model", "Input", "Output", "Cache W", "Cache R", "Total", "Cost"],
                 ([m["model"], tx.short(m["input_tokens"]), tx.short(m["output_tokens"]),
                   tx.short(m["cache_write_tokens"]), tx.short(m["cache_read_tokens"]), tx.short(m["total_tokens"]),
                   tx.usd2(m["cost_usd"]) + ("*" if m.get("unpriced_tokens") else "")] for m in d["by_model"]),
                 right=(1, 2, 3, 4, 5, 6))
    if any(m.get("unpriced_tokens") for m in d["by_model"]):
        out += ["", "\\* has tokens without a known price (not in the cost)."]
    projects = d.get("projects")
    if projects is not None:
        out += ["", "## By project", ""]
        out += table(["Project", "Tokens", "Cost"],
                     ([p["project"], tx.tokens(p["total_tokens"]), tx.usd2(p["cost_usd"])] for p in projects),
                     right=(1, 2))
    return out + [""]


#: longer periods are listed by week in Markdown (a chat message stays short); the data keeps days
WEEKLY_AFTER_DAYS = 62


def _weeks(daily: Sequence[Mapping[str, Any]]) -> list[tuple[str, int, Decimal]]:
    """(week label, tokens, cost) per Monday-based week, partial weeks included."""
    out: dict[str, list] = {}
    for r in daily:
        d = date.fromisoformat(r["date"])
        key = (d - timedelta(days=d.weekday())).isoformat()
        acc = out.setdefault(key, [r["date"], r["date"], 0, Decimal(0)])
        acc[1] = r["date"]
        acc[2] += r["total_tokens"]
        acc[3] += Decimal(r["cost_usd"])
    return [(f"{a} to {b}", tok, cost) for a, b, tok, cost in out.values()]


def _daily(d: Mapping[str, Any]) -> list[str]:
    daily = d["daily"]
    if len(daily) > WEEKLY_AFTER_DAYS:
        weeks = _weeks(daily)
        top = max((w[1] for w in weeks), default=0)
        out = ["## Weekly", "", "Sums of the daily rows by week (Monday to Sunday); the data block keeps every day.",
               ""]
        out += table(["Week", "Tokens", "Cost", ""],
                     ([w, tx.tokens(tok), tx.usd2(str(cost)), bar(tok, top)] for w, tok, cost in weeks), right=(1, 2))
        return out + [""]
    top = max((r["total_tokens"] for r in daily), default=0)
    out = ["## Daily", ""]
    out += table(["Date", "Tokens", "Cost", ""],
                 ([r["date"], tx.tokens(r["total_tokens"]), tx.usd2(r["cost_usd"]), bar(r["total_tokens"], top)]
                  for r in daily), right=(1, 2))
    return out + [""]


def _provenance(d: Mapping[str, Any]) -> list[str]:
    pv = d["provenance"]
    out = ["## Provenance", ""]
    out += table(["Source", "Kind", "Status", "Last sync (UTC)", "Records in period", "Records stored",
                  "Duplicates dropped", "Skipped lines"],
                 ([s["source"], s["kind"], s["status"], tx.sync_time(s.get("last_sync")),
                   tx.tokens(s["records_in_period"]), tx.tokens(s["records"]), tx.tokens(s["duplicates_dropped"]),
                   tx.tokens(s["skipped_lines"])] for s in pv["sources"]), right=(4, 5, 6, 7))
    out += ["", f"- **Cost basis:** {tx.cost_basis(d)}",
            f"- **Pricing data:** {pv['pricing_data_version']}"
            + (f" (stored records priced with {pv['store_pricing_version']})"
               if pv.get("store_pricing_version") and pv["store_pricing_version"] != pv["pricing_data_version"]
               else ""),
            f"- **tokentop:** {pv['tokentop_version']}"]
    if pv.get("overlap"):
        counted = {"local": 0, "api": 0}
        for o in pv["overlap"]:
            counted[o["counted"]] = counted.get(o["counted"], 0) + 1
        out.append(f"- **Overlap:** {len(pv['overlap'])} day-provider pair(s) seen in both logs and a usage API; "
                   f"counted the logs {counted['local']}×, the API {counted['api']}×")
    return out + [""]


def render_md(snap: Snapshot) -> str:
    """The Markdown document of ``snap``."""
    d = snap.data
    lines = [f"# {cell(tx.title(d))}", "",
             f"**Period:** {tx.period_line(d)}  ",
             f"**Generated:** {tx.generated_line(d)}  ",
             f"**sha256:** `{snap.digest}`", ""]
    for part in (_summary, _budgets, _leverage, _breakdowns, _daily, _provenance):
        lines += part(d)
    lines += ["## Method notes", ""] + [f"- {cell(n)}" for n in d["notes"]] + [""]
    lines += ["## Verification", "",
              "The block below is this snapshot's data. `tokentop verify FILE` recomputes its sha256 digest "
              "and checks that the text above still matches it.", "",
              f"```json {tx.EMBED_TAG} sha256={snap.digest}", tx.embed_json(d), "```", ""]
    return "\n".join(lines)
