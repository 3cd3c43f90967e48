"""Sessions and Projects, UI-free: what the Sessions and Projects screens and
``report session|project`` show, over one time window (:mod:`tokentui.core.windows`).

A session's figures count its requests inside the window (``all``: the whole session), so
the rows of a window add up to the window's total. Projects are folded by
:func:`tokentui.core.projects.fold_projects`. A session is *live* when its last request is
less than :data:`LIVE_SECONDS` old.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

from tokentui.core.projects import display_name, fold_projects
from tokentui.core.totals import Totals
from tokentui.core.windows import Efficiency, Window, efficiency
from tokentui.store import sessions as store

LIVE_SECONDS = 300
TREND_POINTS = 12
SORTS = ("cost", "tokens", "recent")


def _cost_label(t: Totals) -> str:
    """``billed``, ``estimated``, ``unpriced`` (nothing priced) or ``partial`` (some unpriced)."""
    if t.unpriced_tokens and t.unpriced_tokens >= t.total:
        return "unpriced"
    if t.unpriced_tokens:
        return "partial"
    return "billed" if t.billed_pico and t.billed_pico == t.cost_pico else "estimated"


def _models_by_cost(by_model: dict[str | None, Totals]) -> tuple[str, ...]:
    ranked = sorted(((m, t) for m, t in by_model.items() if m and m != "<synthetic>"),
                    key=lambda x: (-x[1].cost_pico, -x[1].total))
    return tuple(m for m, _ in ranked)


@dataclass(frozen=True, slots=True)
class SessionRow:
    source: str
    project: str | None  # as the agent recorded it
    project_name: str  # the folded project's display name
    session: str
    first_ms: int
    last_ms: int
    totals: Totals
    models: tuple[str, ...]  # most expensive first
    live: bool
    efficiency: Efficiency

    @property
    def cost_label(self) -> str:
        return _cost_label(self.totals)

    @property
    def duration_ms(self) -> int:
        return self.last_ms - self.first_ms

    def matches(self, text: str) -> bool:
        """The ``/`` filter: every word appears in the source, project, session or a model."""
        hay = " ".join((self.source, self.project or "", self.project_name, self.session, *self.models)).lower()
        return all(w in hay for w in text.lower().split())


@dataclass(frozen=True, slots=True)
class SessionsView:
    window: Window
    now_ms: int
    rows: tuple[SessionRow, ...]  # by cost, most first
    total: Totals
    build_ms: float = 0.0


def build_sessions(conn: sqlite3.Connection, window: Window, now_ms: int,
                   sources: tuple[str, ...] = (), folders: Sequence[str] | None = None) -> SessionsView:
    """``folders``: :func:`store.project_folders`, when the caller has read them already."""
    started = time.perf_counter()
    gs = store.groups(conn, window.since_ms(now_ms), sources=sources)
    folded = fold_projects((g.project for g in gs), store.project_folders(conn) if folders is None else folders)
    rows, total = [], Totals()
    for g in gs:
        t = g.total()
        if not t.total and not t.cost_pico:
            continue
        total.add(t)
        rows.append(SessionRow(g.source, g.project, display_name(folded[g.project]), g.session or "", g.first_ms,
                               g.last_ms, t, _models_by_cost(g.by_model), now_ms - g.last_ms < LIVE_SECONDS * 1000,
                               efficiency(t, g.by_model)))
    return SessionsView(window, now_ms, tuple(sort_rows(rows, "cost")), total,
                        (time.perf_counter() - started) * 1000)


def sort_rows(rows: Iterable, key: str) -> list:
    """``cost`` (unpriced rows after priced ones, then by tokens), ``tokens`` or ``recent``."""
    if key == "tokens":
        return sorted(rows, key=lambda r: (-r.totals.total, -r.last_ms))
    if key == "recent":
        return sorted(rows, key=lambda r: -r.last_ms)
    return sorted(rows, key=lambda r: (-r.totals.cost_pico, -r.totals.total, -r.last_ms))


def filter_rows(rows: Sequence, text: str) -> list:
    return [r for r in rows if r.matches(text)] if text.strip() else list(rows)


# --- one session --------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class SessionDetail:
    row: SessionRow
    bucket_ms: int
    timeline: tuple[tuple[int, int, int], ...]  # (bucket start ms, requests, tokens)
    by_model: tuple[tuple[str, Totals], ...]  # most expensive first
    #: token kind → picodollars: each model's stored cost split by its list prices' weights
    #: (None: the model has no price)
    cost_by_kind: dict[str, int | None]
    subagent_tokens: int
    subagent_requests: int
    devices: tuple[str, ...]


KINDS = ("input", "output", "cache write", "cache read")


def _bucket(span_ms: int) -> int:
    for b in (60_000, 300_000, 900_000, 3_600_000, 21_600_000):
        if span_ms <= b * 60:
            return b
    return 86_400_000


def session_detail(conn: sqlite3.Connection, row: SessionRow, window: Window, now_ms: int,
                   rates: Callable[[str], tuple[int, int, int, int] | None] | None = None) -> SessionDetail:
    """``rates(model)``: (input, output, cache write, cache read) picodollars per token, to
    split each model's cost by token kind (None: split nothing, every kind unpriced)."""
    bucket = _bucket(row.duration_ms)
    rec = store.session_records(conn, row.source, row.session, window.since_ms(now_ms), None, bucket)
    split: dict[str, int | None] = {k: 0 for k in KINDS}
    for model, t in rec.by_model.items():
        r = rates(model) if rates and model else None
        if r is None or not t.cost_pico:
            if t.total and t.unpriced_tokens:
                for k, n in zip(KINDS, (t.input, t.output, t.cache_write, t.cache_read)):
                    if n:
                        split[k] = split[k] if split[k] else None
            continue
        parts = [n * p for n, p in zip((t.input, t.output, t.cache_write, t.cache_read), r)]
        whole = sum(parts)
        done = 0
        for i, (k, part) in enumerate(zip(KINDS, parts)):
            share = t.cost_pico - done if i == len(KINDS) - 1 else (t.cost_pico * part // whole if whole else 0)
            done += share
            split[k] = (split[k] or 0) + share
    models = tuple((m, t) for m, t in sorted(rec.by_model.items(), key=lambda x: -x[1].cost_pico) if m)
    return SessionDetail(row, bucket, rec.timeline, models, split, rec.subagent_tokens, rec.subagent_requests,
                         rec.devices)


# --- projects ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ProjectRow:
    project: str | None  # the folded project
    name: str
    recorded: tuple[str, ...]  # the names the agents recorded that fold into it
    sessions: int
    sources: tuple[str, ...]
    totals: Totals
    models: tuple[str, ...]  # most expensive first
    last_ms: int
    trend: tuple[int, ...]  # tokens per equal slice of the window, oldest first
    efficiency: Efficiency
    by_model: tuple[tuple[str | None, Totals], ...] = ()

    @property
    def cost_label(self) -> str:
        return _cost_label(self.totals)

    def matches(self, text: str) -> bool:
        hay = " ".join((self.name, self.project or "", *self.recorded, *self.sources, *self.models)).lower()
        return all(w in hay for w in text.lower().split())


@dataclass(frozen=True, slots=True)
class ProjectsView:
    window: Window
    now_ms: int
    rows: tuple[ProjectRow, ...]
    total: Totals
    build_ms: float = 0.0


@dataclass(slots=True)
class _Acc:
    recorded: set = field(default_factory=set)
    sessions: set = field(default_factory=set)
    sources: dict = field(default_factory=dict)
    by_model: dict = field(default_factory=dict)
    total: Totals = field(default_factory=Totals)
    last_ms: int = 0
    trend: list = field(default_factory=lambda: [0] * TREND_POINTS)


def build_projects(conn: sqlite3.Connection, window: Window, now_ms: int, sources: tuple[str, ...] = (),
                   span: tuple[int | None, int | None] | None = None,
                   folders: Sequence[str] | None = None) -> ProjectsView:
    """Every project of the agent logs with usage in the window (records without a project
    are one row, "(no project)"). Provider API usage has no project and is left out: it is
    the same usage seen from the other side, never added to the logs'. ``span``: (since,
    until) ms instead of the window (``report project --since/--until``)."""
    started = time.perf_counter()
    since, until = span if span is not None else (window.since_ms(now_ms), None)
    gs = store.groups(conn, since, until, sessions_only=False, sources=sources, local_only=True)
    folded = fold_projects((g.project for g in gs), store.project_folders(conn) if folders is None else folders)
    accs: dict[str | None, _Acc] = {}
    for g in gs:
        a = accs.setdefault(folded[g.project], _Acc())
        if g.project:
            a.recorded.add(g.project)
        if g.session:
            a.sessions.add((g.source, g.session))
        a.sources[g.source] = None
        for m, t in g.by_model.items():
            a.by_model.setdefault(m, Totals()).add(t)
            a.total.add(t)
        a.last_ms = max(a.last_ms, g.last_ms)
    if since is None:
        since = store.first_ms(conn) or now_ms
    end = until if until is not None else now_ms
    step = max(1, -(-(end - since) // TREND_POINTS))
    for recorded, buckets in store.project_timeline(conn, since, until, step).items():
        a = accs.get(folded.get(recorded, recorded))
        if a is not None:
            for b, tokens in buckets.items():
                a.trend[min(max(b, 0), TREND_POINTS - 1)] += tokens
    rows, total = [], Totals()
    for project, a in accs.items():
        if not a.total.total and not a.total.cost_pico:
            continue
        total.add(a.total)
        rows.append(ProjectRow(project, display_name(project), tuple(sorted(a.recorded)), len(a.sessions),
                               tuple(a.sources), a.total, _models_by_cost(a.by_model), a.last_ms, tuple(a.trend),
                               efficiency(a.total, a.by_model), tuple(a.by_model.items())))
    return ProjectsView(window, now_ms, tuple(sort_rows(rows, "cost")), total, (time.perf_counter() - started) * 1000)


# --- breakdown -------------------------------------------------------------------------------

BREAKDOWNS = ("project", "model", "agent", "source")


@dataclass(frozen=True, slots=True)
class BreakdownRow:
    key: str
    totals: Totals
    api: bool = False  # a provider API's view: listed, never added to the agent logs' total


def build_breakdown(conn: sqlite3.Connection, by: str, window: Window, now_ms: int) -> tuple[BreakdownRow, ...]:
    """The window's usage of the agent logs by ``by`` (project: folded), most expensive
    first; ``source`` lists the provider APIs too, as rows of their own (``api``)."""
    got = store.breakdown(conn, by, window.since_ms(now_ms))
    merged: dict[tuple[str, bool], Totals] = {}
    folded = fold_projects((k for k, _, _ in got), store.project_folders(conn)) if by == "project" else {}
    for key, kind, t in got:
        name = display_name(folded.get(key, key)) if by == "project" else (key or "(none)")
        merged.setdefault((name, kind == "api"), Totals()).add(t)
    ranked = sorted(merged.items(), key=lambda x: (x[0][1], -x[1].cost_pico, -x[1].total))
    return tuple(BreakdownRow(k, t, api) for (k, api), t in ranked)


# --- what the screens ask for, built in one read ------------------------------------------------

VIEWS = ("sessions", "projects")


@dataclass(frozen=True, slots=True)
class Views:
    """The Sessions and Projects screens' data at one instant (None: not asked for)."""

    window: Window
    breakdown_by: str
    sessions: SessionsView | None = None
    projects: ProjectsView | None = None
    breakdown: tuple[BreakdownRow, ...] | None = None  # when ``breakdown_by`` is not "project"
    build_ms: float = 0.0


def build_views(conn: sqlite3.Connection, window: Window, now_ms: int, wanted: Iterable[str],
                breakdown_by: str = "project") -> Views:
    started = time.perf_counter()
    wanted = set(wanted)
    projects = "projects" in wanted and breakdown_by == "project"
    folders = store.project_folders(conn) if "sessions" in wanted or projects else ()  # read once for both
    s = build_sessions(conn, window, now_ms, folders=folders) if "sessions" in wanted else None
    p = build_projects(conn, window, now_ms, folders=folders) if projects else None
    b = build_breakdown(conn, breakdown_by, window, now_ms) \
        if "projects" in wanted and breakdown_by != "project" else None
    return Views(window, breakdown_by, s, p, b, (time.perf_counter() - started) * 1000)
