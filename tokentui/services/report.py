"""Reports over the history store: ccusage-compatible JSON and tables that read at 80 columns."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from tokentui.core import fmt
from tokentui.core.overlap import left_out
from tokentui.core.projects import display_name, fold_projects
from tokentui.sources import registry
from tokentui.core.records import usd
from tokentui.core.text import printable
from tokentui.store import queries
from tokentui.store.queries import Filter, Totals
from tokentui.store.sessions import project_folders

KINDS = {"daily": "day", "weekly": "week", "monthly": "month", "session": "session", "project": "project"}
ROW_KEY = {"daily": "date", "weekly": "week", "monthly": "month"}


@dataclass(frozen=True)
class ReportRequest:
    kind: str = "daily"
    since: date | None = None
    until: date | None = None
    tz: ZoneInfo = ZoneInfo("UTC")
    sources: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    breakdown: bool = False
    week_start: int = 0  # Monday
    order: str = "asc"
    devices: tuple[str, ...] = ()  # only records of these device names
    window: str | None = None  # session/project: only records of the last 5m … 30d (core.windows)
    now_ms: int | None = None  # what "now" is for ``window`` (None: the clock)


def _num(pico: int) -> float:
    return float(usd(pico))


def _fields(t: Totals) -> dict:
    return {"inputTokens": t.input, "outputTokens": t.output, "cacheCreationTokens": t.cache_write,
            "cacheReadTokens": t.cache_read, "totalTokens": t.total, "totalCost": _num(t.cost_pico),
            "estimatedTokens": t.estimated_tokens}


def _model_breakdowns(by_model: dict[str | None, Totals]) -> list[dict]:
    rows = [{"modelName": m, "inputTokens": t.input, "outputTokens": t.output, "cacheCreationTokens": t.cache_write,
             "cacheReadTokens": t.cache_read, "cost": _num(t.cost_pico),
             **({"unpricedTokens": t.unpriced_tokens} if t.unpriced_tokens else {})}
            for m, t in by_model.items() if m and m != "<synthetic>"]
    rows.sort(key=lambda r: -r["cost"])
    return rows


Cells = dict[tuple[str, str | None], Totals]


def _counted_days(days: dict[str, Cells]) -> dict[str, tuple[Cells, Cells]]:
    """Split each day's cells into (counted, excluded) by the overlap rule of core.overlap:
    where a local agent log and its provider's API both saw usage that day, only the larger
    view counts toward totals; the other is reported under ``sources`` but not added."""
    out = {}
    local_provider = registry.local_provider()
    for day, cells in days.items():
        per_source: dict[tuple[str, str], Totals] = {}
        for (source, _m), t in cells.items():
            per_source.setdefault((day, source), Totals()).add(t)
        dropped = {source for _day, source in left_out(per_source, local_provider)}
        counted = {k: t for k, t in cells.items() if k[0] not in dropped}
        out[day] = (counted, {k: t for k, t in cells.items() if k[0] in dropped})
    return out


def _row(label_key: str, label: str, cells: Cells, excluded: Cells | None = None) -> tuple[dict, Totals]:
    total, by_model, by_source = Totals(), {}, {}
    for (source, model), t in cells.items():
        total.add(t)
        by_model.setdefault(model, Totals()).add(t)
        by_source.setdefault(source, Totals()).add(t)
    overlap = 0
    for (source, _model), t in (excluded or {}).items():
        by_source.setdefault(source, Totals()).add(t)
        overlap += t.total
    row = {label_key: label, "period": label, **_fields(total), "modelsUsed": list(total.models),
           "modelBreakdowns": _model_breakdowns(by_model),
           "sources": {s: {**_fields(t), "unpricedTokens": t.unpriced_tokens} for s, t in by_source.items()},
           "unpricedTokens": total.unpriced_tokens, "overlapExcludedTokens": overlap}
    fallback = [m for m, fb in total.models.items() if fb]
    if fallback:
        row["fallbackModels"] = fallback
    return row, total


def build(conn: sqlite3.Connection, req: ReportRequest) -> dict:
    """The report as a ccusage-compatible dict (plus ``sources`` and ``unpricedTokens``)."""
    since_ms, until_ms = queries.local_day_range(req.since, req.until, req.tz)
    if req.kind == "project":
        return _projects(conn, since_ms, until_ms, req)
    if req.kind == "session":
        return _sessions(conn, Filter(_window_since(req), None, req.sources, req.models, devices=req.devices), req)
    f = Filter(since_ms, until_ms, req.sources, req.models, devices=req.devices)
    periods: dict[str, tuple[Cells, Cells]] = {}
    for day, (counted, excluded) in _counted_days(queries.grouped(conn, f, req.tz, "day")).items():
        label = queries.period_key(date.fromisoformat(day), KINDS[req.kind], req.week_start)
        acc = periods.setdefault(label, ({}, {}))
        for target, cells in zip(acc, (counted, excluded)):
            for k, t in cells.items():
                target.setdefault(k, Totals()).add(t)
    rows, grand, overlap = [], Totals(), 0
    for label in sorted(periods, reverse=req.order == "desc"):
        row, t = _row(ROW_KEY[req.kind], label, *periods[label])
        rows.append(row)
        grand.add(t)
        overlap += row["overlapExcludedTokens"]
    out = {req.kind: rows, "totals": {**_fields(grand), "unpricedTokens": grand.unpriced_tokens,
                                      "overlapExcludedTokens": overlap}}
    per_device = queries.by_device(conn, f) if queries.several_devices(conn) else {}
    if len(per_device) > 1:  # a history merged from several machines: each one's share
        # as stored, like ``sources`` (before the local/API overlap rule)
        out["devices"] = {d: {**_fields(t), "unpricedTokens": t.unpriced_tokens} for d, t in per_device.items()}
    return out


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _now_ms(req: ReportRequest) -> int:
    return req.now_ms if req.now_ms is not None else int(datetime.now(timezone.utc).timestamp() * 1000)


def _window_since(req: ReportRequest) -> int | None:
    from tokentui.core.windows import window

    return window(req.window).since_ms(_now_ms(req)) if req.window else None


def _hints(t: Totals, by_model: dict[str | None, Totals]) -> dict:
    """The efficiency facts of a session or project (core.windows.efficiency), as JSON."""
    from tokentui.core.windows import efficiency

    e = efficiency(t, by_model)
    return {"requests": t.requests, "cacheHitRatio": e.cache_hit, "outputShare": e.output_share,
            "costPerRequest": None if e.cost_per_request_pico is None else _num(e.cost_per_request_pico),
            "mostExpensiveModel": e.top_model}


def _projects(conn: sqlite3.Connection, since_ms: int | None, until_ms: int | None, req: ReportRequest) -> dict:
    """``report project``: one entry per folded project (core.projects), keyed by its path as
    ccusage's ``--instances`` keys by project, most expensive first."""
    from tokentui.core.windows import DEFAULT_WINDOW
    from tokentui.services.sessions import build_projects

    now = _now_ms(req)
    if req.window:
        since_ms = max(since_ms or 0, _window_since(req) or 0) or None
    view = build_projects(conn, DEFAULT_WINDOW, now, req.sources, span=(since_ms, until_ms))
    projects, grand = {}, Totals()
    for p in view.rows:
        grand.add(p.totals)
        projects[p.project or "(no project)"] = {
            "project": p.name, "projectPath": p.project, "recordedAs": list(p.recorded), "sessions": p.sessions,
            "sources": list(p.sources), **_fields(p.totals), "lastActivity": _iso(p.last_ms),
            "modelsUsed": list(p.models), "modelBreakdowns": _model_breakdowns(dict(p.by_model)),
            "trend": list(p.trend), **_hints(p.totals, dict(p.by_model)),
            "unpricedTokens": p.totals.unpriced_tokens}
    return {"projects": projects, "totals": {**_fields(grand), "unpricedTokens": grand.unpriced_tokens}}


def _sessions(conn: sqlite3.Connection, f: Filter, req: ReportRequest) -> dict:
    rows, grand = [], Totals()
    for s in queries.sessions(conn, f):
        last_local = datetime.fromtimestamp(s.last_ms / 1000, req.tz).date()
        if (req.since and last_local < req.since) or (req.until and last_local > req.until):
            continue
        total = Totals()
        for t in s.by_model.values():
            total.add(t)
        if total.total == 0 and not total.cost_pico:  # a cost-only session (Crush) is still a session
            continue
        grand.add(total)
        rows.append({"sessionId": s.session, "projectPath": s.project, "source": s.source, **_fields(total),
                     "firstActivity": _iso(s.first_ms), "lastActivity": _iso(s.last_ms),
                     "modelsUsed": list(total.models), "modelBreakdowns": _model_breakdowns(s.by_model),
                     "unpricedTokens": total.unpriced_tokens, **_hints(total, s.by_model)})
    rows.sort(key=lambda r: -r["totalCost"])
    folded = fold_projects((r["projectPath"] for r in rows), project_folders(conn))
    for r in rows:  # the name the tables show: the folded project's (see core.projects)
        r["projectName"] = display_name(folded.get(r["projectPath"]))
    return {"session": rows, "totals": {**_fields(grand), "unpricedTokens": grand.unpriced_tokens}}


# --- tables -----------------------------------------------------------------------------

def _cost_cell(cost: float, unpriced: int) -> str:
    return fmt.cost_cell(Decimal(str(cost)), unpriced)


def render_table(report: dict, kind: str, width: int = 80, breakdown: bool = False,
                 tz: ZoneInfo | None = None) -> str:
    """A plain-text table (no colour codes) that fits ``width`` columns (minimum 80)."""
    if kind == "session":
        return _session_table(report, width, tz or ZoneInfo("UTC"), breakdown)
    if kind == "project":
        return _project_table(report, width, tz or ZoneInfo("UTC"))
    rows = report[kind]
    label_key = "sessionId" if kind == "session" else ROW_KEY[kind]
    label_title = {"daily": "Date", "weekly": "Week of", "monthly": "Month", "session": "Session"}[kind]
    num_w = 9 if width < 100 else 14
    label_w = max(13, width - 5 * (num_w + 2) - 12)
    heads = ["Input", "Output", "Cache W", "Cache R", "Total"]
    lines = [f"{label_title:<{label_w}}  " + "  ".join(f"{h:>{num_w}}" for h in heads) + f"  {'Cost':>10}"]
    rule = "─" * len(lines[0])
    lines.append(rule)

    def nums(r: dict) -> list[int]:
        return [r["inputTokens"], r["outputTokens"], r["cacheCreationTokens"], r["cacheReadTokens"],
                r.get("totalTokens", r["inputTokens"] + r["outputTokens"] + r["cacheCreationTokens"]
                      + r["cacheReadTokens"])]

    # one format per column: exact in every row when every figure of the column fits, else compact
    shown = [report["totals"], *rows, *(m for r in rows for m in (r["modelBreakdowns"] if breakdown else ()))]
    compact = [any(len(fmt.tokens_exact(n)) > num_w for n in col) for col in zip(*(nums(r) for r in shown))]

    def cells(r: dict) -> str:
        cost = r.get("totalCost", r.get("cost", 0.0))
        return "  ".join(f"{fmt.tokens_compact(n) if c else fmt.tokens_exact(n):>{num_w}}"
                         for n, c in zip(nums(r), compact)) + f"  {_cost_cell(cost, r.get('unpricedTokens', 0)):>10}"

    any_unpriced = False
    for r in rows:
        label = printable(r[label_key])  # measured as printed: escapes take their room
        if len(label) > label_w:
            label = "…" + label[-(label_w - 1):]
        lines.append(f"{label:<{label_w}}  {cells(r)}")
        any_unpriced |= bool(r.get("unpricedTokens"))
        if breakdown:
            for m in r["modelBreakdowns"]:
                name = "  " + printable(short_model(m["modelName"]))
                if len(name) > label_w:
                    name = name[:label_w - 1] + "…"
                lines.append(f"{name:<{label_w}}  {cells(m)}")
    lines.append(rule)
    lines.append(f"{'Total':<{label_w}}  {cells(report['totals'])}")
    if report["totals"].get("overlapExcludedTokens"):
        lines.append(f"† {fmt.tokens_exact(report['totals']['overlapExcludedTokens'])} tokens seen both in agent "
                     "logs and a provider API were counted once (the larger view each day)")
    if any_unpriced or report["totals"].get("unpricedTokens"):
        lines.append(f"* cost excludes {fmt.tokens_exact(report['totals']['unpricedTokens'])} tokens of models "
                     "with no known price (add [pricing.overrides] in config)")
    lines.extend(_estimated_note(report["totals"]))
    if report.get("devices"):  # a history merged from several machines (`tokentop devices`)
        parts = [f"{printable(d)} {fmt.tokens_compact(t['totalTokens'])}"
                 for d, t in sorted(report["devices"].items(), key=lambda kv: -kv[1]["totalTokens"])]
        import textwrap

        lines.extend(textwrap.wrap("by device (as recorded): " + " · ".join(parts), max(40, width),
                                   subsequent_indent="  ", break_on_hyphens=False))
    return "\n".join(lines)


def _estimated_note(totals: dict) -> list[str]:
    """The footnote for tokens that are estimates (session-level totals, character counts)."""
    n = totals.get("estimatedTokens") or 0
    return [f"~ {fmt.tokens_exact(n)} tokens are estimates, not exact counts (session totals or "
            "characters)"] if n else []


def _end(lines: list[str], width: int, total_line: str, totals: dict, any_unpriced: bool) -> None:
    """The end of a session or project table: a rule, the Total line, and the footnotes for
    tokens with no known price and for tokens that are estimates."""
    lines.append("─" * width)
    lines.append(total_line)
    if any_unpriced or totals.get("unpricedTokens"):
        lines.append(f"* cost excludes {fmt.tokens_exact(totals['unpricedTokens'])} tokens with no known price "
                     "(see [pricing.overrides])")
    lines.extend(_estimated_note(totals))


def _clip(text: str, w: int) -> str:
    text = printable(text)
    return text if len(text) <= w else text[:w - 1] + "…"


def _clip_left(text: str, w: int) -> str:
    """Keep the end (a project's own folder name is at the end of an encoded or long name)."""
    text = printable(text)
    return text if len(text) <= w else "…" + text[-(w - 1):]


def _ratio(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:.0f}%"


def _session_table(report: dict, width: int, tz: ZoneInfo, breakdown: bool = False) -> str:
    """One session a line: project (its folded folder name, never the path), source, last
    activity in ``tz``, requests, tokens and cost; from 120 columns also the duration, the
    cache hit ratio and the models (most expensive first); ``breakdown``: a line per model."""
    rows = report["session"]
    wide = width >= 120
    start = width >= 150
    fixed = 2 + 11 + 2 + 16 + 2 + 5 + 2 + 8 + 2 + 10 + ((2 + 7 + 2 + 5) if wide else 0) + (2 + 11 if start else 0)
    models_w = min(40, width - fixed - 2 - 20) if wide else 0
    label_w = max(13, width - fixed - (models_w + 2 if models_w else 0))
    head = (f"{'Project':<{label_w}}  {'Source':<11}  {'Last activity':<16}  {'Reqs':>5}  {'Tokens':>8}  {'Cost':>10}"
            + (f"  {'Start':<11}" if start else "") + (f"  {'Length':>7}  {'Cache':>5}" if wide else "")
            + (f"  {'Models':<{models_w}}" if models_w else ""))
    lines = [head.rstrip(), "─" * len(head)]
    any_unpriced = False
    for r in rows:
        project = r.get("projectName") or display_name(r.get("projectPath"))  # a row made without it
        last = datetime.fromisoformat(r["lastActivity"].replace("Z", "+00:00")).astimezone(tz)
        reqs = r.get("requests")
        line = (f"{_clip_left(project, label_w):<{label_w}}  {_clip(r['source'], 11):<11}  "
                f"{last.strftime('%Y-%m-%d %H:%M'):<16}  {fmt.tokens_compact(reqs) if reqs is not None else '':>5}  "
                f"{fmt.tokens_compact(r['totalTokens']):>8}  {_cost_cell(r['totalCost'], r.get('unpricedTokens', 0)):>10}")
        first = datetime.fromisoformat(r["firstActivity"].replace("Z", "+00:00")).astimezone(tz)
        if start:
            line += f"  {first.strftime('%m-%d %H:%M'):<11}"
        if wide:
            line += f"  {fmt.duration(int((last - first).total_seconds() * 1000)):>7}  {_ratio(r.get('cacheHitRatio')):>5}"
        if models_w:
            line += "  " + _clip(", ".join(short_model(m) for m in r["modelsUsed"]), models_w)
        lines.append(line.rstrip())
        any_unpriced |= bool(r.get("unpricedTokens"))
        for m in r["modelBreakdowns"] if breakdown else ():
            tokens = m["inputTokens"] + m["outputTokens"] + m["cacheCreationTokens"] + m["cacheReadTokens"]
            lines.append(f"{'  ' + _clip(short_model(m['modelName']), label_w - 2):<{label_w}}  {'':<11}  {'':<16}  "
                         f"{'':>5}  {fmt.tokens_compact(tokens):>8}  {_cost_cell(m['cost'], 0):>10}".rstrip())
    t = report["totals"]
    _end(lines, len(head), f"{'Total':<{label_w}}  {'':<11}  {'':<16}  {'':>5}  "
                           f"{fmt.tokens_compact(t['totalTokens']):>8}  {_cost_cell(t['totalCost'], t.get('unpricedTokens', 0)):>10}",
         t, any_unpriced)
    return "\n".join(lines)


SPARK = "▁▂▃▄▅▆▇█"


def spark(values) -> str:
    """A sparkline of ``values`` (a blank for zero), scaled to the largest."""
    top = max(values, default=0)
    return "".join(" " if not v else SPARK[min(len(SPARK) - 1, v * len(SPARK) // (top + 1))] for v in values)


def _project_table(report: dict, width: int, tz: ZoneInfo) -> str:
    """One folded project a line: sessions, tokens, cost, last activity; from 100 columns its
    trend over the range; from 130 the cache hit ratio and its most expensive models."""
    rows = list(report["projects"].values())
    trend = width >= 100
    wide = width >= 130
    fixed = 2 + 8 + 2 + 8 + 2 + 10 + 2 + 16 + ((2 + 12) if trend else 0) + ((2 + 5) if wide else 0)
    models_w = min(40, width - fixed - 2 - 20) if wide else 0
    label_w = max(13, width - fixed - (models_w + 2 if models_w else 0))
    head = (f"{'Project':<{label_w}}  {'Sessions':>8}  {'Tokens':>8}  {'Cost':>10}  {'Last activity':<16}"
            + (f"  {'Trend':<12}" if trend else "") + (f"  {'Cache':>5}" if wide else "")
            + (f"  {'Top models':<{models_w}}" if models_w else ""))
    lines = [head.rstrip(), "─" * len(head)]
    any_unpriced = False
    for r in rows:
        last = datetime.fromisoformat(r["lastActivity"].replace("Z", "+00:00")).astimezone(tz)
        line = (f"{_clip_left(r['project'], label_w):<{label_w}}  {r['sessions']:>8,}  "
                f"{fmt.tokens_compact(r['totalTokens']):>8}  {_cost_cell(r['totalCost'], r.get('unpricedTokens', 0)):>10}  "
                f"{last.strftime('%Y-%m-%d %H:%M'):<16}")
        if trend:
            line += f"  {spark(r['trend']):<12}"
        if wide:
            line += f"  {_ratio(r.get('cacheHitRatio')):>5}"
        if models_w:
            line += "  " + _clip(", ".join(short_model(m) for m in r["modelsUsed"][:3]), models_w)
        lines.append(line.rstrip())
        any_unpriced |= bool(r.get("unpricedTokens"))
    t = report["totals"]
    _end(lines, len(head), f"{'Total':<{label_w}}  {'':>8}  {fmt.tokens_compact(t['totalTokens']):>8}  "
                           f"{_cost_cell(t['totalCost'], t.get('unpricedTokens', 0)):>10}", t, any_unpriced)
    return "\n".join(lines)


def short_model(name: str) -> str:
    """``claude-sonnet-4-5-20250929`` → ``sonnet-4-5`` for narrow tables (JSON keeps the full name)."""
    import re

    name = re.sub(r"-\d{8}$", "", name)
    return name[7:] if name.startswith("claude-") else name


def parse_date(text: str, what: str = "date") -> date:
    """``YYYY-MM-DD`` or ``YYYYMMDD``, in the range tokentop stores (see :mod:`tokentui.core.dates`:
    ``ValueError`` when malformed, its ``DateRangeError`` naming ``what`` when outside)."""
    from tokentui.core.dates import parse_day

    return parse_day(text, what)
