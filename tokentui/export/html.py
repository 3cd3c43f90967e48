"""The HTML snapshot: one self-contained file with inline CSS and inline SVG charts.

No scripts, no external assets (fonts, images, styles): it opens offline in any browser,
reads on a phone (fluid layout, tables scroll sideways) and prints (print rules below).
The data and its digest are embedded at the end in an HTML comment that ``tokentop verify``
reads; the digest is also printed in the footer.
"""

from __future__ import annotations

from decimal import Decimal
from html import escape
from typing import Any, Iterable, Mapping, Sequence

from tokentui.core.text import printable
from tokentui.export import charts
from tokentui.export import text as tx
from tokentui.export.model import Snapshot

CSS = """
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:#f3f4f6;color:#111827;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,
"Helvetica Neue",Arial,sans-serif}
main{max-width:980px;margin:0 auto;padding:20px 16px 32px}
h1{font-size:1.6rem;line-height:1.25;margin:0 0 4px}
h2{font-size:1.15rem;margin:0 0 10px}
h3{font-size:1rem;margin:14px 0 4px}
.meta{color:#4b5563;margin:0;font-size:.92rem}
section{background:#fff;border:1px solid #e5e7eb;border-radius:10px;padding:16px;margin:16px 0}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:12px;
background:none;border:0;padding:0}
.card{background:#fff;border:1px solid #e5e7eb;border-radius:10px;padding:12px 14px}
.card .k{color:#4b5563;font-size:.8rem;text-transform:uppercase;letter-spacing:.04em}
.card .v{font-size:1.45rem;font-weight:650;font-variant-numeric:tabular-nums;line-height:1.3}
.card .s{color:#4b5563;font-size:.85rem}
figure{margin:0}
svg{display:block;width:100%;height:auto}
.legend{display:flex;flex-wrap:wrap;gap:4px 16px;font-size:.85rem;color:#374151;margin-top:6px}
.sw{display:inline-block;width:.9em;height:.9em;border-radius:2px;vertical-align:-.1em;margin-right:5px}
.line{height:3px;vertical-align:.25em}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;width:100%;font-size:.9rem;font-variant-numeric:tabular-nums}
th,td{padding:6px 8px;border-bottom:1px solid #e5e7eb;text-align:left;white-space:nowrap}
th{color:#374151;font-weight:600;background:#f9fafb;white-space:normal;vertical-align:bottom}
td.n,th.n{text-align:right}
svg.narrow{display:none}
.budget{border-top:1px solid #e5e7eb;padding-top:12px;margin-top:12px}
.budget:first-of-type{border-top:0;padding-top:0;margin-top:0}
.headline{font-weight:600;margin:0 0 4px}
.status{display:inline-block;font-size:.75rem;font-weight:600;padding:1px 8px;border-radius:99px;
background:#e5e7eb;color:#111827;margin-right:4px;vertical-align:.1em}
.st-ok{background:#dcfce7;color:#14532d}.st-warning{background:#fef3c7;color:#78350f}
.st-projected_over{background:#ffedd5;color:#7c2d12}.st-over{background:#fee2e2;color:#7f1d1d}
.small{font-size:.85rem;color:#4b5563}
.nw{white-space:nowrap}
ul{margin:0;padding-left:1.2em}
li{margin:3px 0}
footer{font-size:.8rem;color:#4b5563;margin-top:16px;overflow-wrap:anywhere}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85em}
details summary{cursor:pointer;color:#1d4ed8}
@media (max-width:560px){body{font-size:14px}main{padding:12px 10px 24px}section{padding:12px}
h1{font-size:1.3rem}.card .v{font-size:1.2rem}.cards{grid-template-columns:1fr 1fr}
.cards .card:first-child{grid-column:1/-1}th,td{padding:5px 6px}
.opt{display:none}svg.wide{display:none}svg.narrow{display:block}td{white-space:normal}td.n{white-space:nowrap}}
@media print{svg.wide{display:block}svg.narrow{display:none}.opt{display:table-cell}body{background:#fff;font-size:10.5pt}main{max-width:none;padding:0}
section,.card{border-color:#d1d5db}figure,.card,.cards,.budget>p,tr,li{break-inside:avoid}
h2,h3,.headline{break-after:avoid}.scroll{overflow:visible}
details>summary{display:none}*{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"""


class Raw(str):
    """Markup built here from escaped parts: :func:`e` passes it through unchanged."""


def e(value: Any) -> str:
    return value if isinstance(value, Raw) else escape(printable(value, newlines=True), quote=True)


def _stamp(text: str) -> Raw:
    """'2026-11-20 14:59' that wraps between date and time, never inside the date."""
    return Raw(" ".join(f'<span class="nw">{escape(part)}</span>' for part in text.split(" ")))


def table(heads: Sequence[str], rows: Iterable[Sequence[Any]], numeric: Sequence[int] = (),
          optional: Sequence[int] = ()) -> str:
    """A table in a sideways-scrolling wrapper; ``numeric`` columns align right, ``optional``
    ones are hidden on narrow screens (never in print)."""
    def cls(i: int) -> str:
        c = " ".join(n for n, on in (("n", i in numeric), ("opt", i in optional)) if on)
        return f' class="{c}"' if c else ""
    head = "".join(f"<th{cls(i)}>{e(h)}</th>" for i, h in enumerate(heads))
    body = "".join("<tr>" + "".join(f"<td{cls(i)}>{e(v)}</td>" for i, v in enumerate(r)) + "</tr>" for r in rows)
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _card(key: str, value: str, sub: str = "") -> str:
    s = f'<div class="s">{e(sub)}</div>' if sub else ""
    return f'<div class="card"><div class="k">{e(key)}</div><div class="v">{e(value)}</div>{s}</div>'


def _cards(d: Mapping[str, Any]) -> str:
    t = d["totals"]
    tpw, cpw = tx.per_week(d)
    return ('<section class="cards">'
            + _card("Tokens", tx.short(t["total_tokens"]), f"{tx.tokens(t['total_tokens'])} in the period")
            + _card("Cost", tx.usd2(t["cost_usd"]), f"billed {tx.usd2(t['billed_usd'])}, "
                    f"estimated {tx.usd2(t['estimated_usd'])}")
            + _card("Per week", tpw, f"tokens per week · {cpw} per week")
            + _card("Active days", f"{t['active_days']} / {d['period']['days']}",
                    f"{tx.tokens(t['requests'])} requests")
            + _card("Unpriced", tx.pct(t["unpriced_share"]), f"{tx.tokens(t['unpriced_tokens'])} tokens, no cost")
            + "</section>")


def _summary(d: Mapping[str, Any]) -> str:
    return ("<section><h2>Summary</h2><ul>" + "".join(f"<li>{e(p)}</li>" for p in tx.summary_points(d))
            + "</ul></section>")


def _legend(items: Sequence[tuple[str, str, bool]]) -> str:
    spans = "".join(f'<span><span class="sw{" line" if line else ""}" style="background:{c}"></span>{e(label)}</span>'
                    for label, c, line in items)
    return f'<figcaption class="legend">{spans}</figcaption>'


def _chart(draw, arg) -> str:
    """Both drawing sizes; CSS shows the narrow one on phones."""
    return draw(arg, "wide") + draw(arg, "narrow")


def _daily_chart(d: Mapping[str, Any]) -> str:
    return ("<section><h2>Daily usage</h2><figure>" + _chart(charts.daily_bars, d["daily"])
            + _legend([("fresh tokens (input, output, cache write)", charts.FRESH, False),
                       ("cache reads", charts.CACHED, False)]) + "</figure></section>")


def _budgets(d: Mapping[str, Any]) -> str:
    budgets = d.get("budgets")
    if budgets is None:
        return ""
    if not budgets:
        return '<section><h2>Budgets</h2><p class="small">No budgets configured.</p></section>'
    parts = ["<section><h2>Budgets</h2>"]
    for b in budgets:
        status = b["status"]
        parts.append(f'<div class="budget"><p class="headline"><span class="status st-{e(status)}">'
                     f'{e(status.replace("_", " "))}</span> {e(b["headline"])}</p>')
        parts.append(f'<p class="small">Spent {e(tx.budget_amount(b, "spent"))} of {e(tx.budget_amount(b, "amount"))} '
                     f'({e(tx.pct(b["used_share"]))}) with {e(tx.pct(b["elapsed_share"]))} of the {e(b["period"])} '
                     f'elapsed · expected at the end {e(tx.budget_amount(b, "projected"))} (likely between '
                     f'{e(tx.budget_amount(b, "projected_p10"))} and {e(tx.budget_amount(b, "projected_p90"))}) · '
                     f'{e(tx.budget_period(b))} · counts {e(b["scope"])}</p>')
        parts.append("<figure>" + _chart(charts.burnup, b) + _legend([
            ("spent so far", charts.ACTUAL, True), ("projected", charts.EXPECTED, True),
            ("likely range (P10–P90)", charts.BAND, False), ("budget", charts.LIMIT, True)]) + "</figure>")
        parts.append(f'<details><summary>How this is computed</summary><p class="small">{e(b["method"])}</p>'
                     '</details></div>')
    return "".join(parts) + "</section>"


def _quotas(d: Mapping[str, Any]) -> str:
    rows = tx.quota_rows(d)
    if not rows:
        return ""
    return ('<section><h2>Plan limits</h2><p class="small">Official: the vendors\' own percentages, as of the '
            "snapshot's generation.</p>" + table(tx.QUOTA_HEADS, rows, numeric=(2, 4)) + "</section>")


def _leverage(d: Mapping[str, Any]) -> str:
    rows = tx.leverage_rows(d)
    if not rows:
        return ""
    lev = d.get("leverage") or {}
    intro = (f"Per week over the {lev.get('window_days', d['window_days'])}-day window (fresh: without cache "
             f"reads). {tx.team_line(d)}").strip()
    mix = tx.model_mix(d)
    return (f'<section><h2>Leverage</h2><p class="small">{e(intro)}</p>'
            + table(tx.leverage_heads(d), rows, numeric=(1, 2, 3, 4), optional=(4,))
            + (f'<p class="small">Model mix: {e(mix)}</p>' if mix else "") + "</section>")


def _breakdowns(d: Mapping[str, Any]) -> str:
    out = ["<section><h2>By source</h2>", table(
        ["Source", "Kind", "Tokens", "Cost", "Billed", "Records"],
        tx.columns([[s["source"], s["kind"], s["total_tokens"], tx.cost(s["cost_usd"], s.get("unpriced_tokens", 0)),
                    tx.usd2(s["billed_usd"]), s["records"]] for s in d["by_source"]], (2, 5)),
        numeric=(2, 3, 4, 5), optional=(1, 4, 5)), "</section>"]
    out += ["<section><h2>By model</h2>", table(
        ["Model", "Input", "Output", "Cache write", "Cache read", "Total", "Cost"],
        tx.columns([[m["model"], m["input_tokens"], m["output_tokens"], m["cache_write_tokens"], m["cache_read_tokens"],
                    m["total_tokens"], tx.cost(m["cost_usd"], m.get("unpriced_tokens", 0))] for m in d["by_model"]],
                   (1, 2, 3, 4, 5)),
        numeric=(1, 2, 3, 4, 5, 6), optional=(1, 2, 3, 4))]
    if any(m.get("unpriced_tokens") and Decimal(m["cost_usd"]) for m in d["by_model"]):
        out.append('<p class="small">* part of its tokens have no known price (not in the cost).</p>')
    out.append("</section>")
    if d.get("projects") is not None:
        out += ["<section><h2>By project</h2>", table(
            ["Project", "Tokens", "Cost"],
            tx.columns([[p["project"], p["total_tokens"], tx.usd2(p["cost_usd"])] for p in d["projects"]], (1,)),
            numeric=(1, 2)), "</section>"]
    if d.get("by_device") is not None:  # only with --include-devices
        out += ["<section><h2>By device</h2>", table(
            ["Device", "Tokens", "Cost"],
            ([x["device"], tx.tokens(x["total_tokens"]), tx.usd2(x["cost_usd"])] for x in d["by_device"]),
            numeric=(1, 2)), "</section>"]
    return "".join(out)


def _daily_table(d: Mapping[str, Any]) -> str:
    rows = tx.columns([[r["date"], r["input_tokens"], r["output_tokens"], r["cache_write_tokens"],
                        r["cache_read_tokens"], r["total_tokens"], tx.cost(r["cost_usd"], r.get("unpriced_tokens", 0))]
                       for r in d["daily"]], (1, 2, 3, 4, 5))
    return ('<section><h2>Daily figures</h2><details' + (" open" if len(d["daily"]) <= 31 else "")
            + f'><summary>{len(d["daily"])} days</summary>'
            + table(["Date", "Input", "Output", "Cache write", "Cache read", "Total", "Cost"], rows,
                    numeric=(1, 2, 3, 4, 5, 6), optional=(1, 2, 3, 4)) + "</details></section>")


def _provenance(d: Mapping[str, Any]) -> str:
    pv = d["provenance"]
    shown, idle = tx.shown_sources(d)
    rows = tx.columns([[s["source"], s["kind"], s["status"], _stamp(tx.sync_time(s.get("last_sync"))),
                        s["records_in_period"], s["records"], s["duplicates_dropped"], s["skipped_lines"]]
                       for s in shown], (4, 5, 6, 7))
    items = ([f"Not set up (no records): {', '.join(idle)}"] if idle else []) + [f"Cost basis: {tx.cost_basis(d)}", f"Pricing data: {pv['pricing_data_version']}"
             + (f" (stored records priced with {pv['store_pricing_version']})"
                if pv.get("store_pricing_version") and pv["store_pricing_version"] != pv["pricing_data_version"]
                else ""), f"tokentop {pv['tokentop_version']}"]
    if pv.get("overlap"):
        api = sum(1 for o in pv["overlap"] if o["counted"] == "api")
        items.append(f"Overlap: {len(pv['overlap'])} day-provider pair(s) seen in both logs and a usage API; "
                     f"counted the logs {len(pv['overlap']) - api}×, the API {api}×")
    return ("<section><h2>Provenance</h2>"
            + table(["Source", "Kind", "Status", "Last sync (UTC)", "Records in period", "Records stored",
                     "Duplicates dropped", "Skipped lines"], rows, numeric=(4, 5, 6, 7), optional=(1, 5, 6, 7))
            + '<ul class="small" style="margin-top:10px">' + "".join(f"<li>{e(i)}</li>" for i in items)
            + "</ul></section>")


def render_html(snap: Snapshot) -> str:
    """The HTML document of ``snap``."""
    d = snap.data
    title = tx.title(d)
    body = [f'<header><h1>{e(title)}</h1><p class="meta">{e(tx.period_line(d))}</p>'
            f'<p class="meta">Generated {e(tx.generated_line(d))}</p></header>',
            _cards(d), _summary(d), _daily_chart(d), _budgets(d), _quotas(d), _leverage(d), _breakdowns(d), _daily_table(d), _provenance(d),
            "<section><h2>Method notes</h2><ul>" + "".join(f"<li>{e(n)}</li>" for n in d["notes"]) + "</ul></section>",
            f"<footer>sha256 <code>{e(snap.digest)}</code> of this snapshot's data (embedded in this file). "
            "Check it with <code>tokentop verify FILE</code>.</footer>"]
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<meta name=\"generator\" content=\"tokentop {e(d['tokentop_version'])}\">\n"
            f"<title>{e(title)} ({e(d['period']['start'])} to {e(d['period']['end'])})</title>\n"
            f"<style>{CSS}</style>\n</head>\n<body>\n<main>\n" + "\n".join(p for p in body if p)
            + f"\n</main>\n<!-- {tx.EMBED_TAG} sha256={snap.digest}\n{tx.embed_json(d)}\n-->\n</body>\n</html>\n")
