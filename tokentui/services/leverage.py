"""Leverage over the history store, placed against a team file; team files from admin APIs.

UI-free. The TUI and ``tokentop leverage`` call :func:`build_report` (one immutable
:class:`LeverageReport`: metrics, team placements, reference points, a one-line headline);
``tokentop team pull`` calls :func:`pull_team`.

How the store is read (two indexed range queries over the window, no row-by-row Python):

* usage: sums per (UTC day, source, model) via :func:`tokentui.store.queries.grouped`; the
  overlap rule of :mod:`tokentui.core.overlap` is applied per UTC day, so Claude Code usage in
  both the local logs and the Anthropic API (or Codex and OpenAI) is counted once;
* activity: the distinct epoch minutes of records that carry their own time
  (``width_s = 0``: per-request log entries; provider day buckets carry none).

The window is rolling: ``[now − window_days, now)``. Day buckets count by their start.
"""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tokentui.config import Settings, line_of
from tokentui.core import benchmarks as bm
from tokentui.core import leverage as lv
from tokentui.core.leverage import MetricRow
from tokentui.core.overlap import person_totals
from tokentui.core.totals import Totals
from tokentui.errors import ConfigError, CredentialError, SourceError, TokentopError
from tokentui.sources import registry
from tokentui.store import figures, queries

TEAM_KEYS = ("file",)


def measure(conn: sqlite3.Connection, *, now: datetime | None = None, window_days: int = lv.DEFAULT_WINDOW_DAYS,
            comp_usd: Decimal | None = None) -> lv.Leverage:
    """The person's :class:`~tokentui.core.leverage.Leverage` over the window ending at ``now``."""
    if not 1 <= window_days <= 3660:
        raise ValueError("window_days must be between 1 and 3660")
    end = queries.utc_ms(now or datetime.now(timezone.utc))
    start = end - window_days * lv.DAY_MS
    groups = queries.grouped(conn, queries.Filter(start, end), ZoneInfo("UTC"), "day")
    cells: dict[tuple[str, str], Totals] = {}
    for day, by in groups.items():
        for (source, _model), t in by.items():
            cells.setdefault((day, source), Totals()).add(t)
    dropped: set[tuple[str, str]] = set()
    local_provider = registry.local_provider()
    for c in person_totals(cells, local_provider).choices:
        if c.counted == "local":
            dropped.add((c.period, c.provider))
        else:
            dropped.update((c.period, s) for s, p in local_provider.items() if p == c.provider)
    total, by_model = Totals(), {}
    for day, by in groups.items():
        for (source, model), t in by.items():
            if (day, source) in dropped:
                continue
            total.add(t)
            by_model[model] = by_model.get(model, 0) + t.total
    usage = lv.Usage(total.input, total.output, total.cache_write, total.cache_read, total.cost_pico,
                     total.unpriced_tokens)
    minutes = figures.active_minute_numbers(conn, start, end)
    timed = figures.timed_tokens(conn, start, end)
    first = figures.time_range(conn)[0]
    return lv.compute(usage, window_days=window_days, start_ms=start, end_ms=end,
                      active=lv.active_minutes(minutes), timed_tokens=timed, tokens_by_model=by_model,
                      comp_usd=comp_usd, history_start_ms=first)


# --- settings: comp_usd and [team] ---------------------------------------------------------

def comp_usd(settings: Settings) -> Decimal | None:
    """``comp_usd`` from config (already validated as a non-negative number), or None."""
    v = settings.raw.get("comp_usd")
    return Decimal(str(v)) if v is not None and Decimal(str(v)) > 0 else None


def team_file(settings: Settings) -> Path | None:
    """``[team] file`` from config, validated (errors name the file, line and key)."""
    team = settings.raw.get("team")
    if not team:
        return None

    def fail(key: list[str], problem: str) -> ConfigError:
        line = line_of(settings.path.read_text(encoding="utf-8"), key) if settings.path.exists() else None
        return ConfigError(f"{settings.path}{f':{line}' if line else ''}: {'.'.join(key)}: {problem}",
                           "set it with `tokentop team use FILE`")

    for k in team:
        if k not in TEAM_KEYS:
            raise fail(["team", k], f"unknown setting (known: {', '.join(TEAM_KEYS)})")
    f = team.get("file")
    if f is None:
        return None
    if not isinstance(f, str) or not f.strip():
        raise fail(["team", "file"], "expected the path of a team.toml")
    return Path(f).expanduser()


def load_team(path: Path) -> bm.TeamBenchmark:
    """Read and validate a team file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise bm.BenchmarkError(f"team file {path} does not exist",
                                "give the path of a team file (`tokentop team build` or `tokentop team pull` "
                                "writes one)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise bm.BenchmarkError(f"cannot read team file {path}: {exc}") from None
    return bm.parse_team(text, str(path))


# --- the report ----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class LeverageReport:
    """Everything the Leverage screen, the dashboard headline and the CLI show."""

    leverage: lv.Leverage
    rows: tuple[MetricRow, ...]
    team: bm.TeamBenchmark | None
    team_file: str | None
    team_problem: str | None  # a set team file that could not be used, in plain words
    references: tuple[bm.ReferencePoint, ...] = bm.REFERENCE_POINTS
    notes: tuple[str, ...] = field(default=())
    headline: str = ""
    disclaimer: str = bm.NOT_A_RANKING

    def row(self, metric: str) -> MetricRow:
        return next(r for r in self.rows if r.metric == metric)

    def to_json(self) -> dict[str, Any]:
        lev = self.leverage
        figures = lev.to_json(include_comp=True)  # the person's own screen/terminal: comp stays local
        metrics = {}
        for r in self.rows:
            d: dict[str, Any] = {"value": figures[r.metric], "label": r.label}
            if r.placement is not None:
                p = r.placement
                d["team"] = {"percentile": None if p.percentile is None else round(p.percentile, 1),
                             "position": p.position, "multiple_of_median": None if p.multiple_of_median is None
                             else round(p.multiple_of_median, 3), "n": p.n}
            metrics[r.metric] = d
        return {"window_days": lev.window_days,
                "since": _iso(lev.start_ms), "until": _iso(lev.end_ms), "metrics": metrics,
                "model_mix": figures["model_mix"], "active_minutes": lev.active_minutes,
                "tokens": figures["tokens"],
                "team": None if self.team is None else {
                    "name": self.team.name, "file": self.team_file, "window_days": self.team.window_days,
                    "members": self.team.members, "source": self.team.source, "generated": self.team.generated},
                "team_problem": self.team_problem,
                "references": [{"label": r.label, "metric": r.metric, "low": r.low, "high": r.high,
                                "source": r.source} for r in self.references],
                "notes": list(self.notes), "headline": self.headline, "not_a_ranking": self.disclaimer}


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_report(conn: sqlite3.Connection, settings: Settings, *, now: datetime | None = None,
                 window_days: int = lv.DEFAULT_WINDOW_DAYS) -> LeverageReport:
    """Measure, then place against the configured team file. A team file that cannot be used
    is reported in ``team_problem``, never raised (the person's own figures still show)."""
    lev = measure(conn, now=now, window_days=window_days, comp_usd=comp_usd(settings))
    team, problem, path = None, None, None
    try:
        p = team_file(settings)
        if p is not None:
            path = str(p)
            team = load_team(p)
    except TokentopError as exc:
        problem = str(exc)
    notes = list(lev.notes)
    if team is not None and team.window_days != lev.window_days:
        notes.append(f"your window is {lev.window_days} days, the team's {team.window_days}: per-week figures "
                     "are compared across windows")
    rows = []
    for metric, label, _unit in lv.METRICS:
        value = lev.value(metric)
        if metric == "spend_to_comp" and value is None:
            continue
        dist = team.metrics.get(metric) if team else None
        placement = bm.place(value, dist) if dist is not None and value is not None else None
        rows.append(MetricRow(metric, label, value, dist, placement))
    report = LeverageReport(lev, tuple(rows), team, path, problem, bm.REFERENCE_POINTS, tuple(notes))
    return replace(report, headline=headline(report))


def headline(r: LeverageReport) -> str:
    """One line for the dashboard, e.g. ``1.2B tokens/week · p63 of Platform (1.3× median) · $312/week``."""
    tpw = r.row("tokens_per_week")
    parts = [f"{tpw.text} tokens/week"]
    if tpw.placement is not None and r.team is not None:
        parts.append(f"{tpw.placement.text} of {r.team.name} ({tpw.placement.median_text})")
    parts.append(f"{r.row('cost_per_week').text}/week")
    hit = r.row("cache_hit_ratio")
    if hit.value is not None:
        parts.append(f"cache hits {hit.text}")
    return " · ".join(parts)


# --- team pull from admin APIs ---------------------------------------------------------------

def pull_team(provider: str, settings: Settings, *, days: int = lv.DEFAULT_WINDOW_DAYS, name: str | None = None,
              min_members: int = bm.DEFAULT_MIN_MEMBERS, now: datetime | None = None, transport: Any = None,
              retry: Any = None) -> tuple[bm.TeamBenchmark, list[str]]:
    """A team file from an admin API: per-person figures over the last ``days`` whole UTC days
    (today is left out: it is partial), aggregated in memory; nothing per person is kept."""
    from tokentui.core.pricing import Pricer
    from tokentui.credentials import get_key, key_env, key_problem
    from tokentui.sources.api import PROVIDERS, resolve_base_url
    from tokentui.sources.api.base import Window
    from tokentui.sources.api.http import ApiClient, ApiError

    able = [s.name for s in registry.all_sources(registry.API) if s.team_pull]
    if provider not in able:
        raise ConfigError(f"team pull reads {' or '.join(able)}, not {provider!r}")
    if not 1 <= days <= 366:
        raise ConfigError("--days must be between 1 and 366")
    key, _origin = get_key(provider)
    if not key:
        raise CredentialError(f"no {provider} admin key", f"set {key_env(provider)} or run "
                              f"`tokentop keys add {provider}`")
    if key_problem(key):  # it could not even be sent in a header: say so, never a generic failure
        raise CredentialError(f"the {provider} key (from {_origin}) {key_problem(key)}",
                              f"set it again with only the key ({key_env(provider)} or `tokentop keys add "
                              f"{provider}`)")
    p = PROVIDERS[provider]
    today: date = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).date()
    window = Window(today - timedelta(days=days), today - timedelta(days=1))
    notes: list[str] = []

    team = p.team
    assert team is not None  # the registry's team_pull says the reader has one

    async def run() -> dict:
        async with ApiClient(p.label, resolve_base_url(provider, settings), p.headers(key), secret=key,
                             retry=retry, transport=transport) as client:
            return await team.pull(client, window, Pricer.from_settings(settings), notes)

    try:
        people = asyncio.run(run())
    except ApiError as exc:
        raise SourceError((team.explain and team.explain(exc)) or p.explain(exc, key)) from None
    rows = [person.values(days) for person in people.values()]
    label = name or f"{p.label} organization"
    team, more = bm.team_from_values(rows, name=label, window_days=days, source=team.describes,
                                     min_members=min_members, now=now)
    return team, [f"{len(rows)} people with usage from {window.start} to {window.end}"] + notes + more
