"""Build the manager snapshot from the history store, and write it in any format (UI-free).

:func:`build` reads the store (and, through optional hooks, budgets and leverage) into one
:class:`tokentui.export.model.Snapshot`; :func:`write_snapshot` renders and writes it. The
CLI (``tokentop export``) and the TUI's export modal both call :func:`write_snapshot`.

What never enters a snapshot: keys, prompts or any text from the logs, file paths, session
ids, device names (unless ``include_devices``), source status messages (they can quote paths).
Project *names* (never their paths) enter only with ``include_projects``. Every string is redacted of configured
keys and anything shaped like a key before the digest is made (a store written before
polling redacted keys may still quote one in a model name).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo

from tokentui import __version__, paths
from tokentui.config import Settings, resolve_timezone
from tokentui.core.overlap import person_totals
from tokentui.sources import registry
from tokentui.core.pricing import pricing_data_version
from tokentui.core.projects import fold_projects
from tokentui.core.secrets import redact_tree
from tokentui.core.totals import Totals
from tokentui.export import EXTENSIONS, render
from tokentui.export.model import (KIND, LAYOUT_VERSION, SCHEMA_VERSION, Snapshot, SnapshotError, make, money, parse_period,
                                   project_name, ratio)
from tokentui.errors import TokentopError, UsageError
from tokentui.export import sections
from tokentui.store import figures, ledger, queries
from tokentui.store.db import get_meta
from tokentui.store.sessions import project_folders


@dataclass(frozen=True, slots=True)
class ExportOptions:
    """What to export. ``output`` None: a default file name in the current directory."""

    period: str = "28d"
    format: str = "md"
    output: Path | None = None
    label: str | None = None
    include_projects: bool = False
    include_devices: bool = False  # by_device: each device name's usage (a merged history)
    timezone: str | None = None
    now: datetime | None = None  # tests freeze the clock here


def _iso_utc(ms_or_dt: int | datetime) -> str:
    dt = ms_or_dt if isinstance(ms_or_dt, datetime) else datetime.fromtimestamp(ms_or_dt / 1000, timezone.utc)
    return dt.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _tokens(t: Totals) -> dict[str, int]:
    return {"input_tokens": t.input, "output_tokens": t.output, "cache_write_tokens": t.cache_write,
            "cache_read_tokens": t.cache_read}


def _kind(source: str) -> str:
    """A source's kind; one no longer registered (history from an older version) counts as an
    API source, as it did before the registry."""
    return registry.kind_of(source) if registry.known(source) else registry.API


def _dropped(choices) -> dict[str, set[str]]:
    """Per day, the sources the overlap rule left out of the person's total."""
    out: dict[str, set[str]] = {}
    for c in choices:
        if c.counted == "local":
            out.setdefault(c.period, set()).add(c.provider)
        else:
            out.setdefault(c.period, set()).update(s for s, p in registry.local_provider().items() if p == c.provider)
    return out


@dataclass(slots=True)
class _Usage:
    total: Totals
    by_source: dict[str, Totals]
    by_model: dict[str | None, Totals]
    by_day: dict[str, Totals]
    choices: list


def _usage(conn: sqlite3.Connection, f: queries.Filter, tz: ZoneInfo) -> _Usage:
    groups = queries.grouped(conn, f, tz, "day")
    per_source: dict[tuple[str, str], Totals] = {}
    for day, cells in groups.items():
        for (source, _model), t in cells.items():
            per_source.setdefault((day, source), Totals()).add(t)
    person = person_totals(per_source, registry.local_provider())
    dropped = _dropped(person.choices)
    u = _Usage(Totals(), {}, {}, {}, person.choices)
    for day, cells in groups.items():
        skip = dropped.get(day, set())
        for (source, model), t in cells.items():
            u.by_source.setdefault(source, Totals()).add(t)
            if source in skip:
                continue
            u.total.add(t)
            u.by_model.setdefault(model, Totals()).add(t)
            u.by_day.setdefault(day, Totals()).add(t)
    return u


def _totals_section(u: _Usage) -> dict[str, Any]:
    t = u.total
    return {**_tokens(t), "reasoning_tokens": t.reasoning, "total_tokens": t.total,
            "cost_usd": money(t.cost_pico), "billed_usd": money(t.billed_pico),
            "estimated_usd": money(t.cost_pico - t.billed_pico), "unpriced_tokens": t.unpriced_tokens,
            "unpriced_share": ratio(t.unpriced_tokens, t.total), "requests": t.requests, "records": t.records,
            "estimated_tokens": t.estimated_tokens,
            "active_days": sum(1 for d in u.by_day.values() if d.total or d.cost_pico)}


def _by_source(u: _Usage) -> list[dict[str, Any]]:
    rows = [{"source": s, "kind": _kind(s), **_tokens(t), "total_tokens": t.total,
             "cost_usd": money(t.cost_pico), "billed_usd": money(t.billed_pico),
             "unpriced_tokens": t.unpriced_tokens, "records": t.records, "estimated_tokens": t.estimated_tokens}
            for s, t in u.by_source.items()]
    return sorted(rows, key=lambda r: (-r["total_tokens"], r["source"]))


def _by_model(u: _Usage) -> list[dict[str, Any]]:
    rows = [{"model": m or "(unknown)", **_tokens(t), "total_tokens": t.total, "cost_usd": money(t.cost_pico),
             "unpriced_tokens": t.unpriced_tokens, "_pico": t.cost_pico}
            for m, t in u.by_model.items() if (t.total or t.cost_pico) and m != "<synthetic>"]
    rows.sort(key=lambda r: (-r["_pico"], -r["total_tokens"], r["model"]))
    for r in rows:
        del r["_pico"]
    return rows


def _by_device(conn: sqlite3.Connection, f: queries.Filter) -> list[dict[str, Any]]:
    """Each device's usage as recorded (like by_source: before the local/API overlap rule)."""
    rows = [{"device": d, **_tokens(t), "total_tokens": t.total, "cost_usd": money(t.cost_pico),
             "unpriced_tokens": t.unpriced_tokens, "records": t.records}
            for d, t in queries.by_device(conn, f).items()]
    return sorted(rows, key=lambda r: (-r["total_tokens"], r["device"]))


def _daily(u: _Usage, first: date, last: date) -> list[dict[str, Any]]:
    out, d = [], first
    while d <= last:
        t = u.by_day.get(d.isoformat(), Totals())
        out.append({"date": d.isoformat(), **_tokens(t), "total_tokens": t.total, "cost_usd": money(t.cost_pico),
                    "unpriced_tokens": t.unpriced_tokens})
        d += timedelta(days=1)
    return out


def _projects(conn: sqlite3.Connection, f: queries.Filter) -> list[dict[str, Any]]:
    merged: dict[str, list[int]] = {}
    sums = list(figures.project_sums(conn, f.since_ms, f.until_ms))
    # folded as the Projects screen folds them (worktrees, subfolders, one repository across
    # agents), named without the path
    folded = fold_projects((p for p, _, _ in sums), project_folders(conn))
    for project, tokens, pico in sums:
        acc = merged.setdefault(project_name(folded.get(project) or project), [0, 0])
        acc[0] += tokens
        acc[1] += pico
    rows = [{"project": name, "total_tokens": tok, "cost_usd": money(pico)} for name, (tok, pico) in merged.items()]
    return sorted(rows, key=lambda r: (-r["total_tokens"], r["project"]))


def _provenance(conn: sqlite3.Connection, u: _Usage) -> dict[str, Any]:
    status = {s: (row[0], row[1], row[3], row[4]) for s, row in ledger.statuses(conn).items()}
    counts = ledger.record_counts(conn)
    names = [s for s in registry.names() if s in status or s in counts]
    names += sorted(s for s in set(counts) - set(registry.names()))
    sources = []
    for name in names:
        row = status.get(name)
        try:
            detail = json.loads(row[3]) if row and row[3] else {}
        except ValueError:
            detail = {}
        in_period = u.by_source.get(name)
        sources.append({"source": name, "kind": _kind(name),
                        "status": row[1] if row else "not synced", "last_sync": _iso_utc(row[2]) if row and row[2]
                        else None, "records": counts.get(name, 0),
                        "records_in_period": in_period.records if in_period else 0,
                        "duplicates_dropped": int(detail.get("duplicates", 0) or 0),
                        "skipped_lines": int(detail.get("skipped_lines", 0) or 0)})
    t = u.total
    return {"sources": sources, "pricing_data_version": pricing_data_version(),
            "store_pricing_version": get_meta(conn, "pricing_version"), "tokentop_version": __version__,
            "billed_usd": money(t.billed_pico), "estimated_usd": money(t.cost_pico - t.billed_pico),
            "unpriced_tokens": t.unpriced_tokens, "unpriced_share": ratio(t.unpriced_tokens, t.total),
            "overlap": [{"date": c.period, "provider": c.provider, "counted": c.counted,
                         "local_tokens": c.local_tokens, "api_tokens": c.api_tokens} for c in u.choices]}


def _notes(data: dict[str, Any], tz: ZoneInfo, include_projects: bool, missing: list[str]) -> list[str]:
    p, t = data["period"], data["totals"]
    notes = [
        f"Days are calendar days in {tz.key}; the period is {p['start']} to {p['end']} inclusive"
        + (" (to date: today is still running)." if p.get("to_date") else "."),
        "Tokens are uncached input + output + cache writes + cache reads; reasoning tokens are part of output.",
        "Costs are USD. Billed: reported by a provider's cost API. Estimated: priced locally per request with "
        f"{data['provenance']['pricing_data_version']} (plus any price overrides in config). Models without a "
        f"known price are unpriced and not in any cost ({t['unpriced_tokens']:,} tokens here).",
        "Usage seen both in agent logs and in a provider's usage API is counted once per day: the view with more "
        "tokens counts (listed under provenance); the per-source table shows each source as recorded.",
    ]
    if t.get("estimated_tokens"):
        notes.append(f"{t['estimated_tokens']:,} of the tokens are estimates, not exact counts: agents that log "
                     "only session totals (dated at the session's start) or character counts.")
    if not include_projects:
        notes.append("Project names are left out (export with --include-projects to list them).")
    notes.extend(missing)
    notes.append("The sha256 digest covers this data and detects changes (`tokentop verify FILE`); it is not a "
                 "signature: whoever edits the data can recompute it.")
    return notes


def build(conn: sqlite3.Connection, settings: Settings, options: ExportOptions = ExportOptions()) -> Snapshot:
    """The snapshot of ``options.period`` from the store at ``conn``."""
    tz = resolve_timezone(options.timezone or settings.timezone)
    now = (options.now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    today = now.astimezone(tz).date()
    bounds: Callable[[str], date] = lambda p: queries.period_bounds(p, now, tz)[0].date()  # noqa: E731
    try:
        first, last, to_date = parse_period(options.period, today, bounds)
    except SnapshotError as exc:
        raise UsageError(str(exc)) from None
    since_ms, until_ms = queries.local_day_range(first, last, tz)
    f = queries.Filter(since_ms, until_ms)
    u = _usage(conn, f, tz)
    days = (last - first).days + 1
    data: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION, "kind": KIND, "layout_version": LAYOUT_VERSION, "generated_at": _iso_utc(now),
        "tokentop_version": __version__, "label": (options.label or "").strip() or None,
        "period": {"spec": options.period.strip(), "start": first.isoformat(), "end": last.isoformat(),
                   "days": days, "timezone": tz.key, "to_date": to_date},
        "window_days": days, "totals": _totals_section(u), "by_source": _by_source(u), "by_model": _by_model(u),
        "daily": _daily(u, first, last), "provenance": _provenance(conn, u),
    }
    if options.include_projects:
        data["projects"] = _projects(conn, f)
    if options.include_devices:
        data["by_device"] = _by_device(conn, f)
    missing: list[str] = []
    data["budgets"] = _budgets(conn, settings, tz, now, missing)
    data.update(_leverage(conn, settings, tz, now, first, last, to_date, missing))
    data.update(_quotas(conn, now, missing))
    data["notes"] = _notes(data, tz, options.include_projects, missing)
    from tokentui.credentials import configured_keys

    return make(redact_tree(data, configured_keys(keyring=False)))


# --- optional sections: other features, imported when called -------------------------------

def _budgets(conn: sqlite3.Connection, settings: Settings, tz: ZoneInfo, now: datetime,
             missing: list[str]) -> list[dict[str, Any]] | None:
    try:
        from tokentui.services.budgets import evaluate_all
    except ImportError:
        missing.append("Budgets are not available in this tokentop build: section left out.")
        return None
    try:
        results = evaluate_all(conn, settings, now=now, tz=tz)
    except TokentopError:
        missing.append("Budgets left out: the [budgets] part of the config is invalid (see `tokentop budget list`).")
        return None
    if not results:
        missing.append("No budgets are configured (`tokentop budget set`).")
        return []
    missing.append(f"Budgets are evaluated for the budget period containing {now.astimezone(tz).date()} "
                   "(generation time), whatever the snapshot period; each says its projection method.")
    return sections.budget_rows(results)


def _leverage(conn: sqlite3.Connection, settings: Settings, tz: ZoneInfo, now: datetime, first: date, last: date,
              to_date: bool, missing: list[str]) -> dict[str, Any]:
    try:
        from tokentui.services.leverage import build_report
    except ImportError:
        missing.append("Leverage metrics are not available in this tokentop build: section left out.")
        return {}
    days = (last - first).days + 1
    # to date: the rolling window ending now; a past range: the window ending at its last midnight
    end = now if to_date else datetime.combine(last + timedelta(days=1), datetime.min.time(), tz)
    try:
        report = build_report(conn, settings, now=end, window_days=days)
    except (TokentopError, ValueError) as exc:
        missing.append(f"Leverage left out: {exc}.")
        return {}
    out: dict[str, Any] = {"leverage": sections.leverage_object(report.leverage)}
    stamp = _iso_utc(end).replace("T", " ").replace("Z", " UTC")
    missing.append(f"Leverage figures are weekly averages over the {days} days up to {stamp}; spend "
                   "against pay is never in a snapshot (with the cost beside it, it would reveal pay).")
    missing.extend(f"Leverage: {n}" for n in report.notes)
    if report.team is not None:
        out["team"] = sections.team_object(report)
    elif report.team_problem:
        missing.append("A team benchmark file is configured but could not be read: team percentiles left out.")
    else:
        missing.append("No team benchmark configured (`tokentop team use team.toml`): no team percentiles.")
    return out


def _quotas(conn: sqlite3.Connection, now: datetime, missing: list[str]) -> dict[str, Any]:
    """Plan limits (official 5-hour / weekly windows) as of the generation time; no section
    when none was ever recorded."""
    from tokentui.services.quota import current, iso

    try:
        states = current(conn, int(now.timestamp() * 1000))
    except sqlite3.Error:
        return {}
    if not states:
        return {}
    missing.append(f"Plan limits are the vendors' own percentages (official, from Codex logs or Claude Code's "
                   f"status line) as of {_iso_utc(now)}, whatever the snapshot period; pace compares the used "
                   "share with the elapsed share of each window, run-outs are linear at the window average.")
    return {"quotas": sections.quota_rows(states, iso)}


def default_name(snap: Snapshot, fmt: str) -> str:
    """``tokentop-snapshot-2026-10-26_2026-11-22.md`` (label first when there is one)."""
    p = snap.data["period"]
    label = "".join(c if c.isalnum() or c in "-_" else "-" for c in snap.data.get("label", "")).strip("-")
    stem = f"tokentop-{label + '-' if label else ''}snapshot-{p['start']}_{p['end']}"
    return f"{stem}.{EXTENSIONS[fmt]}"


def render_snapshot(conn: sqlite3.Connection, settings: Settings, options: ExportOptions) -> tuple[Snapshot, str]:
    """Build and render; returns the snapshot and the document text."""
    if options.format not in EXTENSIONS:
        raise UsageError(f"unknown format {options.format!r}", f"use one of {', '.join(EXTENSIONS)}")
    snap = build(conn, settings, options)
    return snap, render(snap, options.format)


def write_snapshot(conn: sqlite3.Connection, settings: Settings, options: ExportOptions) -> Path:
    """Build, render and write the snapshot (mode 0600); returns the file written. A CSV
    gets its data (the JSON snapshot, which ``tokentop verify`` needs) beside it, written
    first, so a CSV on disk always has the data it is checked against."""
    snap, text = render_snapshot(conn, settings, options)
    out = options.output or Path.cwd() / default_name(snap, options.format)
    if options.format == "csv":
        from tokentui.export.machine import sidecar_path

        paths.write_private_text(sidecar_path(out), render(snap, "json"), make_folder=False)
    paths.write_private_text(out, text, make_folder=False)
    return out
