"""The Markdown snapshot: short lines and small tables that read well in a chat or an issue.

The data is embedded at the end in a fenced block (info string ``json tokentop-snapshot``)
next to its sha256 digest, so ``tokentop verify`` can check both the data and, by rendering
it again, the readable part above it.

Every string that comes from the data (model, project, source and team names, the label,
budget scopes, notes, versions) goes through :func:`text`: one line, with each character
that could start Markdown or HTML backslash-escaped, so a model named
``![x](https://host/beacon)`` or ``<img src=x onerror=…>`` is shown as those characters and
never becomes an image, a link, raw HTML, emphasis or a broken table.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Iterable, Mapping, Sequence

from tokentui.core.text import printable
from tokentui.export import text as tx
from tokentui.export.model import Snapshot

BAR_WIDTH = 20


#: characters that can start markup anywhere in a line: backslash, code, emphasis, links and
#: images, raw HTML and autolinks, table pipes, headings, entities, strikethrough, and ``$``
#: (math) unless it is an amount such as ``$1.50``. CommonMark lets any ASCII punctuation be
#: backslash-escaped and then shows it as itself.
_SPECIAL = re.compile(r"[\\`*_\[\]<>|#&~]|\$(?!\d)")
#: bare URLs that GFM and chat apps turn into links and previews (``http://…``, ``//host``,
#: ``www.…``): a backslash before the ``:``, between the slashes and after ``www``
_BARE_LINK = re.compile(r"(?i)(?<=[a-z0-9])(?=://)|(?<=/)(?=/)|(?<=\bwww)(?=\.)")
#: what makes the start of a list item a nested list or a heading underline
_BLOCK_START = re.compile(r"^(?:(\d{1,9})(?=[.)])|(?=[-+=]))")


def _escape(s: str) -> str:
    return _BARE_LINK.sub("\\\\", _SPECIAL.sub(lambda m: "\\" + m.group(0), s))


def text(value: Any) -> str:
    """A data string as Markdown that shows exactly its characters: on one line (any
    whitespace run, newlines included, becomes one space), markup characters escaped and
    control characters written as their ``\\uXXXX`` escapes (:func:`core.text.printable`)."""
    return _escape(printable(" ".join(str(value).split())))


def item(value: Any) -> str:
    """A list item's text (the notes): :func:`text`, plus a start that cannot open a nested
    list or block; `code spans` in it stay code spans (their content is never markup)."""
    s = printable(" ".join(str(value).split()))
    parts = s.split("`")
    if len(parts) > 1 and len(parts) % 2 and all(p.strip() for p in parts[1::2]):
        out = "".join(_escape(p) if i % 2 == 0 else f"`{p}`" for i, p in enumerate(parts))
    else:
        out = _escape(s)
    return _BLOCK_START.sub(lambda m: (m.group(1) or "") + "\\", out, count=1)


def cell(value: Any) -> str:
    """Table cell text: :func:`text` (pipes are escaped with the rest)."""
    return text(value)


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
        out.append(f"- **{text(b['headline'])}**")
        out.append(f"  spent {tx.budget_amount(b, 'spent')} of {tx.budget_amount(b, 'amount')} "
                   f"({tx.pct(b['used_share'])}) with {tx.pct(b['elapsed_share'])} of the {text(b['period'])} "
                   f"elapsed ({tx.budget_period(b)}); projected "
                   f"{tx.budget_amount(b, 'projected')} (P10–P90 {tx.budget_amount(b, 'projected_p10')} – "
                   f"{tx.budget_amount(b, 'projected_p90')}); scope: {text(b['scope'])}")
    return out + [""]


def _leverage(d: Mapping[str, Any]) -> list[str]:
    rows = tx.leverage_rows(d)
    if not rows:
        return []
    lev = d.get("leverage") or {}
    intro = (f"Per week over the {lev.get('window_days', d['window_days'])}-day window (fresh: without cache "
             f"reads). {tx.team_line(d)}").strip()
    out = ["## Leverage", "", text(intro), ""]
    out += table(tx.leverage_heads(d), rows, right=(1, 2, 3, 4))
    mix = tx.model_mix(d)
    if mix:
        out += ["", f"Model mix: {text(mix)}"]
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
    by_device = d.get("by_device")
    if by_device is not None:  # only with --include-devices (a history merged from several machines)
        out += ["", "## By device", ""]
        out += table(["Device", "Tokens", "Cost"],
                     ([x["device"], tx.tokens(x["total_tokens"]), tx.usd2(x["cost_usd"])] for x in by_device),
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
            f"- **Pricing data:** {text(pv['pricing_data_version'])}"
            + (f" (stored records priced with {text(pv['store_pricing_version'])})"
               if pv.get("store_pricing_version") and pv["store_pricing_version"] != pv["pricing_data_version"]
               else ""),
            f"- **tokentop:** {text(pv['tokentop_version'])}"]
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
    lines = [f"# {text(tx.title(d))}", "",
             f"**Period:** {text(tx.period_line(d))}  ",
             f"**Generated:** {text(tx.generated_line(d))}  ",
             f"**sha256:** `{snap.digest}`", ""]
    for part in (_summary, _budgets, _leverage, _breakdowns, _daily, _provenance):
        lines += part(d)
    lines += ["## Method notes", ""] + [f"- {item(n)}" for n in d["notes"]] + [""]
    lines += ["## Verification", "",
              "The block below is this snapshot's data. `tokentop verify FILE` recomputes its sha256 digest "
              "and checks that the text above still matches it.", "",
              f"```json {tx.EMBED_TAG} sha256={snap.digest}", tx.embed_json(d), "```", ""]
    return "\n".join(lines)
