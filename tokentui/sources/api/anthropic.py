"""Anthropic Admin API: messages usage, cost report and Claude Code analytics.

Requests (providers.md §2.2–2.4): daily buckets, ``limit=31`` (the maximum for both
``usage_report/messages`` and ``cost_report``), arrays as ``group_by[]=…``, RFC 3339
``starting_at``/``ending_at``. Claude Code analytics only takes one day per call, so it is
one call per day (``limit=1000`` records per page, the maximum), paced, with its own
backfill progress in ``sync_state``; its failures are a note, never a failed poll.

Money: ``cost_report`` ``amount`` is **cents as a decimal string** (:func:`_usd_from_cents`
is the one conversion). Billed-cost rule as for OpenAI: zero-token ``billed`` cost records;
token buckets of a day that has cost lines carry ``cost 0, billed``; other days are
estimated (no request count exists, so the base tier, or the long-context tier when the
bucket's ``context_window`` says ``200k-1M``). Usage is grouped by ``service_tier`` too:
``cost_report`` never lists Priority Tier spend, so ``priority`` buckets are always estimated.

Claude Code records (key ``claude_code|<day>|<actor>|<terminal_type>``) keep the whole
analytics record in ``raw`` but **no tokens and no cost**: the same usage is already in
the messages buckets (API customers) or in the local claude-code logs, and the
``estimated_cost`` there is not billing data. A leverage feature reads them from ``raw``.
"""

from __future__ import annotations

import os
from datetime import date, timedelta
from decimal import Decimal

from tokentui.core.leverage import PersonUsage
from tokentui.core.records import BILLED, UNPRICED, UsageRecord
from tokentui.sources.api.base import (ApiReader, DAY_S, Fetched, Negative, PollContext, TeamPull, arr, billed_amount,
                                       count, day_ts, decimal, dims, estimate, floor_day, iso_z, obj, page_cap,
                                       parse_time, pico, raw_json, rejected, text)
from tokentui.sources.api.http import ApiClient, ApiError

NAME = "anthropic"
DEFAULT_BASE_URL = "https://api.anthropic.com"
ADMIN_KEYS_URL = "https://console.anthropic.com/settings/admin-keys"
VERSION = "2023-06-01"
MAX_LIMIT = 31  # daily buckets per page (messages and cost_report)
CLAUDE_CODE_LIMIT = 1000
CLAUDE_CODE_PACE = 0.25  # seconds between analytics calls (one per day: a backfill is a burst)
PACE_ENV = "TOKENTOP_ANALYTICS_PACE"  # overrides it (seconds; 0 for a local test server)


def analytics_pace() -> float:
    """Seconds between Claude Code analytics calls: ``TOKENTOP_ANALYTICS_PACE`` if set to a
    number of seconds (0 … 10), else :data:`CLAUDE_CODE_PACE`."""
    try:
        value = float(os.environ.get(PACE_ENV, ""))
    except ValueError:
        return CLAUDE_CODE_PACE
    return value if 0 <= value <= 10 else CLAUDE_CODE_PACE
MESSAGE_GROUPS = ("model", "workspace_id", "api_key_id", "context_window", "service_tier")
#: the natural key's dimensions before ``service_tier`` was grouped: those records are replaced
OLD_MESSAGE_GROUPS = MESSAGE_GROUPS[:4]
#: tiers whose spend ``cost_report`` never lists (providers.md §2.3): their usage is estimated
UNBILLED_TIERS = ("priority", "priority_on_demand")
COST_GROUPS = ("workspace_id", "description")
#: dimensions a description-grouped cost row carries; all of them form the natural key
COST_DIMS = ("workspace_id", "description", "model", "cost_type", "token_type", "service_tier",
             "context_window", "inference_geo")
LONG_CONTEXT_PROBE = 200_001  # an input size inside the "200k-1M" window, to pick that tier


def headers(key: str) -> dict[str, str]:
    return {"x-api-key": key, "anthropic-version": VERSION, "User-Agent": "tokentop"}


def _usd_from_cents(amount: object, where: str) -> Decimal:
    """The one unit conversion: ``"123.45"`` (cents, a decimal string) → $1.2345."""
    return decimal(amount, where) / 100


def _params(ctx: PollContext, groups: tuple[str, ...]) -> list[tuple[str, str]]:
    w = ctx.window
    return ([("starting_at", iso_z(w.start_ts)), ("ending_at", iso_z(w.end_ts)), ("bucket_width", "1d"),
             ("limit", str(min(MAX_LIMIT, w.days)))] + [("group_by[]", g) for g in groups])


async def _results(client: ApiClient, path: str, params: list[tuple[str, str]], max_pages: int):
    async for page in client.pages(path, params, max_pages=max_pages):
        for b in arr(page.get("data"), f"{path}: data"):
            b = obj(b, f"{path}: bucket")
            start = floor_day(parse_time(b.get("starting_at"), f"{path}: bucket.starting_at"))
            for r in arr(b.get("results"), f"{path}: bucket.results"):
                yield start, obj(r, f"{path}: result")


def _message_record(start: int, r: dict) -> UsageRecord:
    where = "anthropic messages"
    cc = r.get("cache_creation")
    cc = obj(cc, f"{where}.cache_creation") if cc is not None else {}
    key = f"messages|{start}|{DAY_S}|{dims([(g, text(r, g, where)) for g in MESSAGE_GROUPS])}"
    return UsageRecord(
        source=NAME, key=key, ts_ms=start * 1000, model=text(r, "model", where),
        input=count(r, "uncached_input_tokens", where), output=count(r, "output_tokens", where),
        cache_write_5m=count(cc, "ephemeral_5m_input_tokens", where),
        cache_write_1h=count(cc, "ephemeral_1h_input_tokens", where),
        cache_read=count(r, "cache_read_input_tokens", where), kind="api", width_s=DAY_S, requests=0)


def _cost_record(start: int, r: dict, notes: list[str]) -> UsageRecord:
    where = "anthropic cost_report"
    usd = billed_amount(_usd_from_cents(r.get("amount"), f"{where}.amount"), f"{where}.amount")
    currency = (text(r, "currency", where) or "USD").upper()
    cost_pico, label = pico(usd, f"{where}.amount"), BILLED
    if currency != "USD":
        cost_pico, label = None, UNPRICED
        notes.append(f"a cost line in {currency} was kept unpriced (tokentop totals are USD)")
    key = f"costs|{start}|{DAY_S}|{dims([(d, text(r, d, where)) for d in COST_DIMS])}"
    return UsageRecord(source=NAME, key=key, ts_ms=start * 1000, model=text(r, "model", where),
                       cost_pico=cost_pico, cost_label=label, kind="api", width_s=DAY_S, requests=0,
                       raw=raw_json(endpoint="cost_report", start_time=start, result=r))


def _claude_code_record(day_start: int, r: dict) -> UsageRecord:
    where = "anthropic claude_code"
    actor = obj(r.get("actor") or {}, f"{where}.actor")
    who = text(actor, "email_address", where) or text(actor, "api_key_name", where) or ""
    kind = (text(actor, "type", where) or "actor").removesuffix("_actor")
    start = floor_day(parse_time(r["date"], f"{where}.date")) if r.get("date") else day_start
    for m in arr(r.get("model_breakdown"), f"{where}.model_breakdown"):
        m = obj(m, f"{where}.model_breakdown[]")
        tokens = obj(m.get("tokens") or {}, f"{where}.tokens")
        for f in ("input", "output", "cache_read", "cache_creation"):
            count(tokens, f, f"{where}.tokens")
        est = m.get("estimated_cost")
        if est is not None:
            decimal(obj(est, f"{where}.estimated_cost").get("amount", 0), f"{where}.estimated_cost.amount")
    key = f"claude_code|{start}|{dims([(kind, who), ('terminal_type', text(r, 'terminal_type', where))])}"
    return UsageRecord(source=NAME, key=key, ts_ms=start * 1000, model=None, kind="api", width_s=DAY_S,
                       requests=0, cost_pico=None, cost_label=UNPRICED,
                       raw=raw_json(endpoint="claude_code", start_time=start, result=r))


def _state_day(ctx: PollContext, name: str) -> date | None:
    try:
        return date.fromisoformat(ctx.state[name])
    except (KeyError, ValueError):
        return None


def _claude_code_plan(ctx: PollContext) -> tuple[list[date], list[date], date | None, date | None]:
    """The analytics days to fetch: ``(up, down, from, to)``.

    Claude Code analytics keep their own progress: ``claude_code_from`` … ``claude_code_to``
    is the run of days already fetched. ``up`` (oldest first) re-fetches this poll's window
    and fills any gap after ``to`` (the first time: the whole backfill), so each success
    extends ``to``; ``down`` (newest first) reaches back to the usage backfill's start when
    that is older than ``from`` (a larger ``backfill_days``), so each success extends ``from``."""
    cc_from, cc_to = _state_day(ctx, "claude_code_from"), _state_day(ctx, "claude_code_to")
    covered = _state_day(ctx, "covered_from")
    want = min(ctx.window.start, covered) if covered else ctx.window.start
    today = ctx.window.end

    def span(a: date, b: date) -> list[date]:
        return [a + timedelta(days=i) for i in range((b - a).days + 1)]

    if cc_from is None or cc_to is None or cc_from > cc_to:
        return span(want, today), [], None, None
    up = span(min(ctx.window.start, cc_to + timedelta(days=1)), today)
    return up, span(want, cc_from - timedelta(days=1))[::-1], cc_from, cc_to


async def _claude_code_day(client: ApiClient, ctx: PollContext, day: date, records: list[UsageRecord]) -> None:
    """One day's records, page by page (each record is exact on its own: a day cut short keeps
    the pages read, and is fetched again)."""
    params = [("starting_at", day.isoformat()), ("limit", str(CLAUDE_CODE_LIMIT))]
    async for page in client.pages("v1/organizations/usage_report/claude_code", params):
        for r in arr(page.get("data"), "claude_code: data"):
            records.append(_claude_code_record(day_ts(day), obj(r, "claude_code: record")))


async def _claude_code(client: ApiClient, ctx: PollContext, out: Fetched) -> int:
    """One call (plus pages) per day, paced (:func:`analytics_pace` apart), with the
    progress of its own (:func:`_claude_code_plan`) in ``sync_state``.

    A failure is a note on the source, never a failed poll: these records carry no tokens or
    cost, so the usage and cost records stay exact without them, and their window advances;
    the analytics days not fetched are fetched by the next polls. An organization without
    Claude Code analytics is a note too."""
    up, down, cc_from, cc_to = _claude_code_plan(ctx)
    records: list[UsageRecord] = []
    calls = 0
    try:
        for direction, days in (("up", up), ("down", down)):
            for day in days:
                if calls:
                    await client.pace(analytics_pace())
                calls += 1
                await _claude_code_day(client, ctx, day, records)
                if direction == "up":
                    cc_from = cc_from or day
                    cc_to = day if cc_to is None or day > cc_to else cc_to
                else:
                    cc_from = day
    except ApiError as exc:
        if exc.kind in ("forbidden", "not_found"):
            out.notes.append(f"Claude Code analytics are not available to this key (HTTP {exc.status}); skipped")
        else:
            out.notes.append(f"Claude Code analytics stopped at {day}: {exc.message}; the next poll fetches the "
                             "days not fetched yet")
    out.records.extend(records)
    if cc_from is not None and cc_to is not None:
        out.state.update(claude_code_from=cc_from.isoformat(), claude_code_to=cc_to.isoformat())
    return len(records)


async def fetch(client: ApiClient, ctx: PollContext) -> Fetched:
    """Messages usage, cost report and Claude Code analytics of ``ctx.window``.

    Usage and costs are one unit (as for OpenAI: usage without its day's cost lines would be
    counted twice next to stored ones); Claude Code analytics come last and may be cut short
    without losing them (see :func:`_claude_code`)."""
    out = Fetched()
    usage = [(_message_record(s, r), r) async for s, r in
             _results(client, "v1/organizations/usage_report/messages", _params(ctx, MESSAGE_GROUPS),
                      page_cap(ctx.window, MAX_LIMIT))]
    costs: list[UsageRecord] = []
    negative = 0
    async for s, r in _results(client, "v1/organizations/cost_report", _params(ctx, COST_GROUPS),
                               page_cap(ctx.window, MAX_LIMIT)):
        try:
            costs.append(_cost_record(s, r, out.notes))
        except Negative:
            negative += 1
    rejected(out, negative, "cost line(s)")
    billed_days = {c.ts_ms for c in costs}
    estimated = 0
    priority = 0
    for rec, r in usage:
        # the same bucket as stored before service_tier was a dimension (never equal to rec.key)
        old_dims = dims([(g, text(r, g, "anthropic messages")) for g in OLD_MESSAGE_GROUPS])
        out.delete.append(f"messages|{rec.ts_ms // 1000}|{DAY_S}|{old_dims}")
        if r.get("service_tier") in UNBILLED_TIERS:
            # Priority Tier is billed by commitment, outside cost_report: list price is the estimate
            rec.cost_pico, rec.cost_label, basis = estimate(
                ctx.pricer, rec.model, rec.input, rec.output, rec.cache_write_5m, rec.cache_write_1h,
                rec.cache_read, tier_input=LONG_CONTEXT_PROBE if r.get("context_window") == "200k-1M" else None)
            basis = f"{r.get('service_tier')} tier (not in cost_report): {basis}"
            priority += 1
        elif rec.ts_ms in billed_days:
            rec.cost_pico, rec.cost_label, basis = 0, BILLED, "billed: in this day's cost_report records"
        else:
            long_ctx = r.get("context_window") == "200k-1M"
            rec.cost_pico, rec.cost_label, basis = estimate(
                ctx.pricer, rec.model, rec.input, rec.output, rec.cache_write_5m, rec.cache_write_1h,
                rec.cache_read, tier_input=LONG_CONTEXT_PROBE if long_ctx else None)
            estimated += rec.cost_pico is not None
        rec.raw = raw_json(endpoint="messages", start_time=rec.ts_ms // 1000, cost_basis=basis, result=r)
        out.records.append(rec)
    out.records.extend(costs)
    claude_code = await _claude_code(client, ctx, out)
    billed = sum((c.cost_pico or 0) for c in costs)
    out.summary = (f"{len(usage)} usage buckets, {len(costs)} cost lines (${Decimal(billed) / 10**12:,.2f} "
                   f"billed), {claude_code} Claude Code day records")
    if estimated:
        out.notes.append(f"{estimated} bucket(s) on days without cost lines yet are estimated")
    if priority:
        out.notes.append(f"{priority} Priority Tier bucket(s) are estimated at list prices (their spend is not in "
                         "the cost report)")
    return out


async def check(client: ApiClient, ctx: PollContext) -> str:
    """One call: today's cost report, one bucket."""
    start = ctx.window.end_ts - DAY_S
    body = obj(await client.get_json("v1/organizations/cost_report", [
        ("starting_at", iso_z(start)), ("ending_at", iso_z(start + DAY_S)), ("limit", "1")]), "cost_report")
    total = Decimal(0)
    for b in arr(body.get("data"), "cost_report: data"):
        for r in arr(obj(b, "cost_report: bucket").get("results"), "cost_report: results"):
            total += _usd_from_cents(obj(r, "cost_report").get("amount"), "cost_report.amount")
    return f"the admin key can read usage and cost reports (today so far: ${total:,.2f} billed)"


def explain(exc: ApiError, key: str) -> str:
    """Plain words for a failure, naming the fix."""
    if exc.kind in ("auth", "forbidden"):
        if not key.startswith("sk-ant-admin"):
            return ("this is not an admin key (normal sk-ant-api03-… keys cannot read usage); usage needs an "
                    f"Admin API key (sk-ant-admin…) — an organization admin creates one at {ADMIN_KEYS_URL}, "
                    "then run `tokentop keys add anthropic`")
        if exc.kind == "auth":
            return ("Anthropic rejected the admin key as invalid or revoked (HTTP 401); check ANTHROPIC_ADMIN_KEY "
                    "or run `tokentop keys add anthropic`")
        return f"the admin key is not allowed to read usage reports (HTTP 403): {exc.detail or 'permission denied'}"
    if exc.kind == "bad_request":
        return f"Anthropic refused the usage query (HTTP 400): {exc.detail or 'no reason given'}"
    return exc.message + (f" — {exc.hint}" if exc.hint else "")


# --- team pull ---------------------------------------------------------------------------

async def team_usage(client: ApiClient, window, _pricer, notes: list[str]) -> dict[str, PersonUsage]:
    """Per-person usage from Claude Code analytics (``tokentop team pull anthropic``)."""

    people: dict[str, PersonUsage] = {}
    api_actors: set[str] = set()
    where = "claude_code"
    for day in window.each_day():
        params = [("starting_at", day.isoformat()), ("limit", "1000")]
        async for page in client.pages("v1/organizations/usage_report/claude_code", params):
            for r in arr(page.get("data"), f"{where}: data"):
                r = obj(r, f"{where}: record")
                actor = obj(r.get("actor") or {}, f"{where}.actor")
                who = text(actor, "email_address", where)
                if actor.get("type") != "user_actor" or not who:
                    api_actors.add(text(actor, "api_key_name", where) or "?")
                    continue
                person = people.setdefault(who.lower(), PersonUsage())
                for m in arr(r.get("model_breakdown"), f"{where}.model_breakdown"):
                    m = obj(m, f"{where}.model_breakdown[]")
                    tok = obj(m.get("tokens") or {}, f"{where}.tokens")
                    person.input += count(tok, "input", where)
                    person.output += count(tok, "output", where)
                    person.cache_read += count(tok, "cache_read", where)
                    person.cache_write += count(tok, "cache_creation", where)
                    est = m.get("estimated_cost")
                    est = obj(est, f"{where}.estimated_cost") if est is not None else None
                    if est is None or (text(est, "currency", where) or "USD").upper() != "USD":
                        person.cost_known = False
                    else:  # cents, an estimate (not billing data)
                        person.cost += decimal(est.get("amount", 0), f"{where}.estimated_cost.amount") / 100
    if api_actors:
        notes.append(f"{len(api_actors)} API-key actor(s) left out (keys, not people)")
    notes.append("cost_per_week is Anthropic's estimated cost, not billing data; active hours are not available "
                 "from this API; people with no Claude Code use in the window are not in it")
    return people


def team_explain(exc: ApiError) -> str | None:
    if exc.kind in ("forbidden", "not_found") and "claude_code" in exc.path:
        return f"Claude Code analytics are not available to this key or organization (HTTP {exc.status})"
    return None


PROVIDER = ApiReader(DEFAULT_BASE_URL, headers, fetch, check, explain,
                     team=TeamPull(team_usage, "anthropic claude_code", team_explain))
