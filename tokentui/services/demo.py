"""Realistic generated usage history for ``tokentop --demo``, tests and benchmarks.

:func:`generate` writes ``days`` of history ending at ``now`` into a store: Claude Code and
Codex requests (sessions, projects, models, growing contexts with cache writes and reads; a
share of the Claude-model sessions run from Cline, Amp, OpenClaw, Copilot CLI and Qwen Code),
an OpenAI API series of daily buckets, a weekday/weekend rhythm, a growth trend, a couple of
spikes, and a live session covering the last hours minute by minute so the burn meter moves.
:func:`tick` extends that live session up to a later ``now`` (the demo's "new log lines").

Everything is derived from ``seed`` and ``now``: the same arguments give the same rows, so
snapshot tests can freeze both. Nothing outside the given store is read or written.
:func:`demo_settings` adds two budgets and a team benchmark for the demo, written into the
demo's own temporary directory (never the user's config).
"""

from __future__ import annotations

import math
import random
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Iterator
from zoneinfo import ZoneInfo

from tokentui.config import Settings, load_settings, save_raw
from tokentui.core.benchmarks import Distribution, TeamBenchmark
from tokentui.core.pricing import Pricer, pricing_data_version
from tokentui.core.records import BILLED, ESTIMATED, UNPRICED, UsageRecord
from tokentui.sources import registry
from tokentui.store import ledger
from tokentui.store.db import connect, set_meta, transaction

DEVICE = "demo"
#: the sources the demo makes history for (every other registered source shows "not configured")
CLAUDE = "claude-code"
CODEX = "codex"
OPENAI = "openai"
ANTHROPIC = "anthropic"  # shown with a rejected key: what an error looks like
#: more agents: a share of the Claude-model sessions is run from these instead of Claude Code
#: (same requests, so every total, budget and leverage figure is what it was with Claude Code
#: alone; no provider API in the demo reports Anthropic usage, so no overlap rule changes)
AGENTS = (("cline", 0.07), ("amp", 0.06), ("openclaw", 0.06), ("copilot", 0.06), ("qwen-code", 0.05))

CLAUDE_MODELS = (("claude-sonnet-4-5-20250929", 0.62), ("claude-opus-4-5-20251101", 0.23),
                 ("claude-haiku-4-5-20251001", 0.15))
CODEX_MODELS = (("gpt-5-codex", 0.55), ("gpt-5.1-codex", 0.45))
#: (model, tokens per weekday, requests per weekday); embeddings have no price: shows "unpriced"
OPENAI_SERIES = (("gpt-4.1-mini", 9_000_000, 4_200), ("gpt-5-mini", 4_000_000, 1_100),
                 ("text-embedding-3-small", 2_500_000, 9_000))
PROJECTS = ("api-server", "web-app", "infra", "ml-pipeline", "payments", "docs-site")
#: days before ``now`` with unusually heavy use (a big refactor, a migration)
SPIKES = {23: 2.6, 52: 2.1}
LIVE_MINUTES = 180
LIVE_SESSION = "demo-live-session"
_TICK_STATE = ("demo", "live_until_ms")


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """What :func:`generate` wrote."""

    records: int
    first_ms: int
    last_ms: int


def _ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def _pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    x = rng.random()
    for name, w in weighted:
        x -= w
        if x <= 0:
            return name
    return weighted[-1][0]


def day_intensity(rng: random.Random, day: date, days_ago: int, days: int) -> float:
    """Relative activity of one day: growth trend × weekday rhythm × noise × spikes."""
    trend = 0.55 + 0.75 * (1 - days_ago / max(days, 1))
    rhythm = (1.0, 1.05, 1.0, 0.95, 0.8, 0.18, 0.12)[day.weekday()]
    noise = math.exp(rng.gauss(0, 0.22))
    return trend * rhythm * noise * SPIKES.get(days_ago, 1.0)


class _Writer:
    """Builds priced records with deterministic keys."""

    def __init__(self, pricer: Pricer, seed: int) -> None:
        self.pricer = pricer
        self.seed = seed
        self.records: list[UsageRecord] = []

    def claude(self, ts_ms: int, model: str, inp: int, out: int, c5: int, c1: int, cr: int,
               project: str, session: str, source: str = CLAUDE) -> None:
        cost = self.pricer.cost_pico(model, inp, out, c5, c1, cr)
        n = len(self.records)
        self.records.append(UsageRecord(
            source, f"demo-{self.seed}-{ts_ms}-{n}", ts_ms, model, inp, out, c5, c1, cr, 0, project, session,
            cost, UNPRICED if cost is None else ESTIMATED,
            msg_id=f"msg_demo_{self.seed}_{ts_ms}_{n}" if source == CLAUDE else None))

    def codex(self, ts_ms: int, model: str, inp: int, out: int, cached: int, reasoning: int,
              project: str, session: str) -> None:
        cost = self.pricer.cost_pico(model, inp, out, 0, 0, cached)
        n = len(self.records)
        self.records.append(UsageRecord(
            CODEX, f"demo-{self.seed}-{ts_ms}-{n}", ts_ms, model, inp, out, 0, 0, cached, reasoning, project,
            session, cost, UNPRICED if cost is None else ESTIMATED))


def _agent_of(seed: int, start: datetime) -> str:
    """Which agent ran the session starting at ``start``: Claude Code, or one of :data:`AGENTS`
    (from a generator of its own, so the sessions' requests are the same either way)."""
    x = random.Random(f"{seed}-{_ms(start)}-agent").random()
    for source, share in AGENTS:
        x -= share
        if x < 0:
            return source
    return CLAUDE


def _claude_session(w: _Writer, rng: random.Random, start: datetime, requests: int, until_ms: int,
                    session: str | None = None, gap: tuple[int, int] = (8, 70)) -> None:
    model = _pick(rng, CLAUDE_MODELS)
    project = rng.choice(PROJECTS)
    source = CLAUDE if session else _agent_of(w.seed, start)
    session = session or f"demo-{w.seed}-{_ms(start)}"
    context = rng.randint(12_000, 25_000)
    t = _ms(start)
    for i in range(requests):
        if t > until_ms:
            return
        if rng.random() < 0.08:  # a sub-agent or a quick question on another model
            m = "claude-haiku-4-5-20251001"
        else:
            m = model
        write = rng.randint(8_000, 30_000) if i == 0 else int(rng.expovariate(1 / 2_200))
        c1 = write if m.startswith("claude-opus") and rng.random() < 0.3 else 0
        w.claude(t, m, rng.randint(3, 60), int(rng.expovariate(1 / 650)) + 20, write - c1, c1,
                 0 if i == 0 else context, project, session, source)
        context = min(context + write // 2 + rng.randint(200, 4_000), 190_000)
        if context > 160_000 and rng.random() < 0.15:  # compaction
            context = rng.randint(20_000, 40_000)
        t += rng.randint(*gap) * 1000


def _codex_session(w: _Writer, rng: random.Random, start: datetime, requests: int, until_ms: int) -> None:
    model = _pick(rng, CODEX_MODELS)
    project = rng.choice(PROJECTS)
    session = f"demo-codex-{w.seed}-{_ms(start)}"
    context = rng.randint(8_000, 16_000)
    t = _ms(start)
    for _ in range(requests):
        if t > until_ms:
            return
        fresh = rng.randint(400, 6_000)
        out = int(rng.expovariate(1 / 900)) + 30
        w.codex(t, model, fresh, out, context, int(out * rng.uniform(0.2, 0.7)), project, session)
        context = min(context + fresh + out, 250_000)
        t += rng.randint(10, 90) * 1000


def _work_start(rng: random.Random, day: date, tz: ZoneInfo) -> datetime:
    """A session start during the local working day, sometimes in the evening."""
    if rng.random() < 0.12:
        hour = rng.uniform(19.5, 23.0)
    else:
        hour = rng.choice((rng.uniform(8.5, 12.0), rng.uniform(13.0, 18.5)))
    base = datetime.combine(day, time(0), tz)
    return base + timedelta(hours=hour)


def _openai_buckets(w: _Writer, rng: random.Random, day_utc: date, factor: float) -> None:
    start = _ms(datetime.combine(day_utc, time(0), timezone.utc))
    for model, tokens, requests in OPENAI_SERIES:
        tok = int(tokens * factor * math.exp(rng.gauss(0, 0.12)))
        req = max(1, int(requests * factor))
        if model.startswith("text-embedding"):
            inp, out, cached = tok, 0, 0
        else:
            cached = int(tok * 0.35)
            out = int(tok * 0.12)
            inp = tok - cached - out
        per = w.pricer.rates(model)
        cost = None if per is None else per.cost(inp, out, 0, 0, cached)
        w.records.append(UsageRecord(
            OPENAI, f"completions|{start}|86400|{model}", start, model, inp, out, 0, 0, cached, 0,
            cost_pico=cost, cost_label=UNPRICED if cost is None else BILLED, kind="api", width_s=86400,
            requests=req))


def _live_minutes(w: _Writer, seed: int, from_ms: int, to_ms: int) -> None:
    """Requests of the live session, minute by minute in ``(from_ms, to_ms]``."""
    minute = from_ms // 60_000 + 1
    while minute * 60_000 <= to_ms:
        rng = random.Random(f"{seed}-live-{minute}")
        # bursts and lulls so the sparkline has shape; pauses last a minute or two, so the
        # 5-minute burn rate never drops to idle while the demo runs
        phase = math.sin(minute / 11.0) + 0.6 * math.sin(minute / 3.7)
        if rng.random() > 0.12:
            n = 1 + (phase > 0) + (phase > 1.0) + (rng.random() < 0.3)
            for _ in range(n):
                t = minute * 60_000 - rng.randint(0, 59_000)
                if t > to_ms:
                    continue
                context = rng.randint(30_000, 120_000)
                w.claude(t, "claude-sonnet-4-5-20250929" if rng.random() < 0.8 else "claude-opus-4-5-20251101",
                         rng.randint(3, 40), int(rng.expovariate(1 / 700)) + 20, int(rng.expovariate(1 / 2500)),
                         0, context, "web-app", LIVE_SESSION)
            if rng.random() < 0.2:
                t = minute * 60_000 - rng.randint(0, 59_000)
                if t <= to_ms:
                    w.codex(t, "gpt-5-codex", rng.randint(500, 4_000), rng.randint(100, 1_500),
                            rng.randint(20_000, 90_000), rng.randint(50, 400), "api-server", "demo-codex-live")
        minute += 1


def _records(now: datetime, tz: ZoneInfo, seed: int, days: int, pricer: Pricer) -> Iterator[list[UsageRecord]]:
    """Batches of records, one per day, oldest first."""
    now_ms = _ms(now)
    today = now.astimezone(tz).date()
    live_from = now_ms - LIVE_MINUTES * 60_000
    for days_ago in range(days - 1, -1, -1):
        day = today - timedelta(days=days_ago)
        rng = random.Random(f"{seed}-{day.isoformat()}")
        w = _Writer(pricer, seed)
        factor = day_intensity(rng, day, days_ago, days)
        for _ in range(max(0, round(rng.gauss(6.0, 1.2) * factor))):
            _claude_session(w, rng, _work_start(rng, day, tz), rng.randint(15, 110), min(now_ms, live_from))
        for _ in range(max(0, round(rng.gauss(2.2, 0.8) * factor))):
            _codex_session(w, rng, _work_start(rng, day, tz), rng.randint(8, 60), min(now_ms, live_from))
        day_utc = day  # API buckets are UTC days; one per local day keeps the series aligned
        api_factor = (0.6 + 0.4 * (1 - days_ago / days)) * (0.7 if day.weekday() >= 5 else 1.0)
        if datetime.combine(day_utc, time(0), timezone.utc) <= now:
            _openai_buckets(w, rng, day_utc, api_factor * (0.5 if days_ago == 0 else 1.0))
        yield w.records
    w = _Writer(pricer, seed)
    _live_minutes(w, seed, live_from, now_ms)
    yield w.records


def generate(conn: sqlite3.Connection, *, now: datetime, tz: ZoneInfo | None = None, seed: int = 7,
             days: int = 90, pricer: Pricer | None = None, pricing_mode: str = "auto") -> DemoSummary:
    """Write ``days`` of demo history ending at ``now`` (aware datetime) into ``conn``.

    Local activity follows working hours in ``tz`` (default UTC). Also records the demo
    sources' status (synced at ``now``), where the live session stops (for :func:`tick`) and
    the fingerprint of the prices used, so a later sync does not re-price every record.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    tz = tz or ZoneInfo("UTC")
    pricer = pricer or Pricer()
    count, first, last = 0, None, None
    with transaction(conn):
        for batch in _records(now, tz, seed, days, pricer):
            if not batch:
                continue
            ledger.upsert(conn, batch, DEVICE)
            count += len(batch)
            lo, hi = min(r.ts_ms for r in batch), max(r.ts_ms for r in batch)
            first = lo if first is None else min(first, lo)
            last = hi if last is None else max(last, hi)
        ledger.set_sync_state(conn, *_TICK_STATE, str(_ms(now)))
        _set_demo_status(conn, _ms(now))
        # the records were priced with ``pricer``: say so in the format Ingestor.reprice_if_needed
        # compares, or the first sync would re-price all of them
        set_meta(conn, "pricing_fingerprint", f"{pricer.fingerprint()}:{pricing_mode}")
        set_meta(conn, "pricing_version", pricing_data_version())
    return DemoSummary(count, first or 0, last or 0)


def tick(conn: sqlite3.Connection, *, now: datetime, seed: int = 7, pricer: Pricer | None = None) -> int:
    """Extend the live session up to ``now``; returns the number of new records."""
    until = ledger.get_sync_state(conn, *_TICK_STATE)
    now_ms = _ms(now)
    if until is None or int(until) >= now_ms:
        return 0
    w = _Writer(pricer or Pricer(), seed)
    _live_minutes(w, seed, max(int(until), now_ms - LIVE_MINUTES * 60_000), now_ms)
    with transaction(conn):
        ledger.upsert(conn, w.records, DEVICE)
        ledger.set_sync_state(conn, *_TICK_STATE, str(now_ms))
        _set_demo_status(conn, now_ms)
    return len(w.records)


def _set_demo_status(conn: sqlite3.Connection, stamp_ms: int) -> None:
    # written with the demo's clock (not the wall clock) so frozen-time snapshots are stable
    rows = ((CLAUDE, "ok", None, stamp_ms - 2_000), (CODEX, "ok", None, stamp_ms - 2_000),
            *((a, "ok", None, stamp_ms - 2_000) for a, _share in AGENTS),
            (OPENAI, "ok", "demo: daily usage buckets and billed costs", stamp_ms - 95_000),
            (ANTHROPIC, "error", f"the admin key was rejected (401): check it with `tokentop keys test "
             f"{ANTHROPIC}`", stamp_ms - 300_000))
    featured = {r[0] for r in rows}
    rows += tuple((s.name, "not configured", f"demo: no {s.label} data", None)
                  for s in registry.all_sources(registry.LOCAL) if s.name not in featured)
    ledger.put_statuses(conn, [(s, st, msg, ms, ms if st == "ok" else None) for s, st, msg, ms in rows])


def write_demo_store(db: Path, *, now: datetime, tz: ZoneInfo | None = None, seed: int = 7,
                     days: int = 90) -> DemoSummary:
    """Create (or extend) a store file at ``db`` holding demo history."""
    conn = connect(db)
    try:
        return generate(conn, now=now, tz=tz, seed=seed, days=days)
    finally:
        conn.close()


# --- budgets and a team benchmark for the demo ------------------------------------------------

#: a monthly dollar budget the demo's pace crosses before the month ends, and a fiscal-year
#: token budget; both in the demo's own config file
DEMO_BUDGETS: dict = {
    "api-monthly": {"usd": 560, "period": "month"},
    "tokens-fy": {"tokens": 12_000_000_000, "period": "year", "start": "2026-04-01",
                  "alerts": [0.5, 0.75, 0.9, 1.0]},
}
#: the demo person's pay, so spend / compensation and its reference point show
DEMO_COMP_USD = 180_000
#: (metric, p10, p25, p50, p75, p90): a plausible 9-person team around the demo's figures
DEMO_TEAM = (
    ("tokens_per_week", "40000000", "110000000", "240000000", "520000000", "1100000000"),
    ("fresh_tokens_per_week", "8000000", "20000000", "42000000", "90000000", "180000000"),
    ("cost_per_week", "15", "45", "95", "190", "380"),
    ("active_hours_per_week", "6", "11", "17", "24", "31"),
    ("tokens_per_active_hour", "3000000", "7000000", "13000000", "24000000", "40000000"),
    ("cache_hit_ratio", "0.55", "0.68", "0.77", "0.84", "0.9"),
    ("output_share", "0.01", "0.018", "0.026", "0.035", "0.05"),
)
DEMO_TEAM_MEMBERS = 9


def demo_team(now: datetime) -> TeamBenchmark:
    """The demo's team benchmark (aggregates only, as a real team.toml)."""
    from decimal import Decimal

    metrics = {m: Distribution(DEMO_TEAM_MEMBERS, *(Decimal(v) for v in ps)) for m, *ps in DEMO_TEAM}
    stamp = now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return TeamBenchmark("Platform team (demo)", 28, stamp, "demo", DEMO_TEAM_MEMBERS, metrics)


def demo_settings(base: Settings, folder: Path, *, now: datetime) -> Settings:
    """``base`` with the demo's budgets, pay and team file: ``config.toml`` and ``team.toml``
    are written into ``folder`` (the demo's temporary directory), so editing a budget in the
    demo changes that file and never the user's config."""
    from tokentui import paths

    folder.mkdir(parents=True, exist_ok=True)
    team = folder / "team.toml"
    paths.write_private_text(team, demo_team(now).to_toml())
    config = folder / "config.toml"
    save_raw(config, {"comp_usd": DEMO_COMP_USD, "budgets": DEMO_BUDGETS, "team": {"file": str(team)}})
    return base.replace(path=config, raw=load_settings(config).raw)
