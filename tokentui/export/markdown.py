"""The Markdown snapshot: short lines and small tables that read well in a chat or an issue.

It opens with a summary a manager reads in a minute (:data:`SUMMARY`), then the details
(:data:`DETAILS`: one function per section, each returning its lines, so a feature adds a
section by adding a function), then how the numbers are made. The data is embedded at the
end in a fenced block (info string ``json tokentop-snapshot``) inside a collapsed
``<details>`` block, next to its sha256 digest, so ``tokentop verify`` can check both the
data and, by rendering it again, the readable part above it.

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
    return ["## Summary", ""] + [f"- {item(p)}" for p in tx.summary_points(d)] + [""]


def _totals(d: Mapping[str, Any]) -> list[str]:
    t = d["totals"]
    return [
        "## Totals", "",
        f"- **Tokens:** {tx.tokens(t['total_tokens'])}: "
        f"input {tx.tokens(t['input_tokens'])}, output {tx.tokens(t['output_tokens'])}, "
        f"cache write {tx.tokens(t['cache_write_tokens'])}, cache read {tx.tokens(t['cache_read_tokens'])}",
        f"- **Cost:** {tx.usd2(t['cost_usd'])} ({tx.cost_basis(d)})",
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
                   f"elapsed ({tx.budget_period(b)}); expected at the end "
                   f"{tx.budget_amount(b, 'projected')} (likely between {tx.budget_amount(b, 'projected_p10')} and "
                   f"{tx.budget_amount(b, 'projected_p90')}); counts {text(b['scope'])}")
    return out + [""]


def _quotas(d: Mapping[str, Any]) -> list[str]:
    rows = tx.quota_rows(d)
    if not rows:
        return []
    out = ["## Plan limits", "", "Official: the vendors' own percentages, as of the snapshot's generation.", ""]
    out += table(tx.QUOTA_HEADS, rows, right=(2, 4))
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
                 tx.columns([[s["source"], s["kind"], s["total_tokens"], tx.cost(s["cost_usd"], s.get("unpriced_tokens", 0)),
                              tx.usd2(s["billed_usd"]), s["records"]] for s in d["by_source"]], (2, 5)),
                 right=(2, 3, 4, 5))
    out += ["", "## By model", ""]
    out += table(["Model", "Input", "Output", "Cache W", "Cache R", "Total", "Cost"],
                 tx.columns([[m["model"], m["input_tokens"], m["output_tokens"], m["cache_write_tokens"],
                              m["cache_read_tokens"], m["total_tokens"], tx.cost(m["cost_usd"], m.get("unpriced_tokens", 0))]
                             for m in d["by_model"]], (1, 2, 3, 4, 5)),
                 right=(1, 2, 3, 4, 5, 6))
    if any(m.get("unpriced_tokens") and m["cost_usd"] and Decimal(m["cost_usd"]) for m in d["by_model"]):
        out += ["", "\\* part of its tokens have no known price (not in the cost)."]
    projects = d.get("projects")
    if projects is not None:
        out += ["", "## By project", ""]
        out += table(["Project", "Tokens", "Cost"],
                     tx.columns([[p["project"], p["total_tokens"], tx.usd2(p["cost_usd"])] for p in projects], (1,)),
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
                     tx.columns([[w, tok, tx.usd2(str(cost)), bar(tok, top)] for w, tok, cost in weeks], (1,)),
                     right=(1, 2))
        return out + [""]
    top = max((r["total_tokens"] for r in daily), default=0)
    active = [r for r in daily if r["total_tokens"]]
    out = ["## Daily", ""]
    if not active:
        return out + [f"No usage on any of the {len(daily)} days.", ""]
    out += table(["Date", "Tokens", "Cost", ""],
                 tx.columns([[r["date"], r["total_tokens"], tx.cost(r["cost_usd"], r.get("unpriced_tokens", 0)),
                              bar(r["total_tokens"], top)] for r in active], (1,)), right=(1, 2))
    idle = len(daily) - len(active)
    if idle:
        out += ["", f"The {idle} day{'s' if idle != 1 else ''} without usage {'are' if idle != 1 else 'is'} "
                "not listed (the data block keeps every day)."]
    return out + [""]


def _provenance(d: Mapping[str, Any]) -> list[str]:
    pv = d["provenance"]
    rows, idle = tx.shown_sources(d)
    out = ["## Sources", ""]
    out += table(["Source", "Kind", "Status", "Last sync (UTC)", "Records in period", "Records stored",
                  "Duplicates dropped", "Skipped lines"],
                 tx.columns([[s["source"], s["kind"], s["status"], tx.sync_time(s.get("last_sync")),
                              s["records_in_period"], s["records"], s["duplicates_dropped"], s["skipped_lines"]]
                             for s in rows], (4, 5, 6, 7)), right=(4, 5, 6, 7))
    if idle:
        out += ["", f"Not set up (no records): {text(', '.join(idle))}."]
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


def _notes(d: Mapping[str, Any]) -> list[str]:
    return ["## Method notes", ""] + [f"- {item(n)}" for n in d["notes"]] + [""]


#: the first screen: what a manager reads in a minute
SUMMARY = (_summary,)
#: the details after the summary, in this order (a new section is a function added here)
DETAILS = (_totals, _budgets, _quotas, _leverage, _breakdowns, _daily, _provenance)


#: tokentop's own collapsed block around the data (the only HTML in the document: nothing from
#: the data ever becomes HTML, see :func:`text`)
DATA_OPEN = "<details><summary>Data for tokentop verify</summary>"
DATA_CLOSE = "</details>"


def _verification(snap: Snapshot) -> list[str]:
    return ["## Verification", "",
            f"Generated {text(tx.generated_line(snap.data))}; sha256 `{snap.digest}`. "
            "`tokentop verify FILE` recomputes the digest of the data below and checks that the text above "
            "still matches it.", "",
            DATA_OPEN, "",
            f"```json {tx.EMBED_TAG} sha256={snap.digest}", tx.embed_json(snap.data), "```", "", DATA_CLOSE, ""]


def render_md(snap: Snapshot) -> str:
    """The Markdown document of ``snap``: summary, details, method, then the data (collapsed)."""
    d = snap.data
    lines = [f"# {text(tx.title(d))}", "", f"{text(tx.period_line(d))}", ""]
    for part in SUMMARY:
        lines += part(d)
    for part in DETAILS:
        lines += part(d)
    lines += _notes(d) + _verification(snap)
    return "\n".join(lines)
