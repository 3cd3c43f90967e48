"""OpenAI organization usage (completions and siblings) and costs, with an admin key.

Requests (providers.md §1.3–1.7): daily buckets aligned to UTC midnight, ``limit`` at each
endpoint's maximum (31 usage buckets, 180 cost buckets per page), ``group_by`` sent as
repeated keys. A 90-day backfill is 3 pages per usage endpoint and 1 for costs.

Money: ``/costs`` ``amount.value`` is dollars (:func:`_usd` is the one conversion). Costs
become zero-token ``billed`` records keyed ``costs|<day>|86400|line_item=…|project_id=…``.
Token buckets of a day that has cost lines carry ``cost 0, billed`` (their dollars are in
those cost lines, so nothing is counted twice); a day without cost lines yet (costs lag
usage) is estimated per request from ``num_model_requests`` until a later poll finds them.
"""

from __future__ import annotations

from decimal import Decimal

from tokentui.core.leverage import PersonUsage
from tokentui.core.records import BILLED, UNPRICED, UsageRecord
from tokentui.sources.api.base import (ApiReader, DAY_S, Fetched, Negative, PollContext, TeamPull, arr, billed_amount,
                                       count, decimal, dims, epoch, estimate, floor_day, obj, page_cap, pico,
                                       raw_json, rejected, text)
from tokentui.sources.api.http import ApiClient, ApiError

NAME = "openai"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
ADMIN_KEYS_URL = "https://platform.openai.com/settings/organization/admin-keys"
USAGE_MAX_LIMIT, COSTS_MAX_LIMIT = 31, 180  # daily buckets per page

#: endpoint -> group_by dimensions requested (they form the natural key)
USAGE: dict[str, tuple[str, ...]] = {
    "completions": ("model", "project_id", "api_key_id"),
    "embeddings": ("model", "project_id"),
    "moderations": ("model", "project_id"),
    "images": ("model", "size", "source", "project_id"),
    "audio_speeches": ("model", "project_id"),
    "audio_transcriptions": ("model", "project_id"),
    "vector_stores": ("project_id",),
    "code_interpreter_sessions": ("project_id",),
    "file_search_calls": ("project_id",),
    "web_search_calls": ("model", "context_level", "project_id"),
}
#: numeric fields validated and kept raw; only token fields reach the token columns
METRICS: dict[str, tuple[str, ...]] = {
    "completions": ("input_tokens", "output_tokens", "num_model_requests"),
    "embeddings": ("input_tokens", "num_model_requests"),
    "moderations": ("input_tokens", "num_model_requests"),
    "images": ("images", "num_model_requests"),
    "audio_speeches": ("characters", "num_model_requests"),
    "audio_transcriptions": ("seconds", "num_model_requests"),
    "vector_stores": ("usage_bytes",),
    "code_interpreter_sessions": ("num_sessions",),
    "file_search_calls": ("num_requests",),
    "web_search_calls": ("num_model_requests", "num_requests"),
}
#: endpoints whose num_model_requests are model requests of their own (web_search_calls'
#: are completions requests that used the tool: counting them would count twice)
OWN_REQUESTS = frozenset({"completions", "embeddings", "moderations", "images", "audio_speeches",
                          "audio_transcriptions"})


def headers(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _usd(value: object, where: str) -> Decimal:
    """The one unit conversion: ``amount.value`` is already dollars (a number, or a string)."""
    return decimal(value, where)


def _params(ctx: PollContext, max_limit: int, groups: tuple[str, ...]) -> list[tuple[str, str]]:
    w = ctx.window
    return ([("start_time", str(w.start_ts)), ("end_time", str(w.end_ts)), ("bucket_width", "1d"),
             ("limit", str(min(max_limit, w.days)))] + [("group_by", g) for g in groups])


async def _results(client: ApiClient, path: str, params: list[tuple[str, str]], max_pages: int):
    """(day start, result) for every result of every bucket of every page."""
    async for page in client.pages(path, params, max_pages=max_pages):
        for b in arr(page.get("data"), f"{path}: data"):
            b = obj(b, f"{path}: bucket")
            start = floor_day(epoch(b.get("start_time"), f"{path}: bucket.start_time"))
            for r in arr(b.get("results"), f"{path}: bucket.results"):
                yield start, obj(r, f"{path}: result")


def _usage_record(ep: str, start: int, r: dict) -> tuple[UsageRecord, dict]:
    where = f"openai {ep}"
    for m in METRICS[ep]:
        count(r, m, where)  # validates the type; the raw result keeps the value
    groups = USAGE[ep]
    key = f"{ep}|{start}|{DAY_S}|{dims([(g, text(r, g, where)) for g in groups])}"
    rec = UsageRecord(source=NAME, key=key, ts_ms=start * 1000, model=text(r, "model", where), kind="api",
                      width_s=DAY_S, requests=count(r, "num_model_requests", where) if ep in OWN_REQUESTS else 0)
    if ep == "completions":
        total_in = count(r, "input_tokens", where)
        rec.cache_read = count(r, "input_cached_tokens", where)
        rec.cache_write_5m = count(r, "input_cache_write_tokens", where)
        # input_tokens is total input incl. cached (§6.1): never add the audio fields to it
        if r.get("input_uncached_tokens") is not None:
            rec.input = count(r, "input_uncached_tokens", where)
        else:
            rec.input = max(0, total_in - rec.cache_read - rec.cache_write_5m)
        rec.output = count(r, "output_tokens", where)
    elif ep in ("embeddings", "moderations"):
        rec.input = count(r, "input_tokens", where)
    return rec, {"endpoint": ep, "start_time": start, "result": r}


def _line_item_model(item: str | None) -> str | None:
    """``"gpt-4o-2024-08-06, input"`` → the model; ``"assistants api | file search"`` → None."""
    if not item:
        return None
    head = item.rsplit(", ", 1)[0] if ", " in item else item
    head = head.rsplit(" | ", 1)[-1].strip()
    return head if head and not any(c.isspace() for c in head) and ", " in item else None


def _cost_record(start: int, r: dict, notes: list[str]) -> UsageRecord | None:
    """A cost line's record; None for a line without an amount (the schema requires only
    ``object``): it carries no dollars, so it is counted in a note and bills no day."""
    where = "openai costs"
    if r.get("amount") is None:
        return None
    amount = obj(r.get("amount"), f"{where}.amount")
    if amount.get("value") is None:
        return None
    value = billed_amount(_usd(amount.get("value"), f"{where}.amount.value"), f"{where}.amount.value")
    currency = (text(amount, "currency", f"{where}.amount") or "usd").lower()
    line_item, project = text(r, "line_item", where), text(r, "project_id", where)
    cost_pico, label = pico(value, f"{where}.amount.value"), BILLED
    if currency != "usd":
        cost_pico, label = None, UNPRICED
        notes.append(f"a cost line in {currency.upper()} was kept unpriced (tokentop totals are USD)")
    key = f"costs|{start}|{DAY_S}|{dims([('line_item', line_item), ('project_id', project)])}"
    return UsageRecord(source=NAME, key=key, ts_ms=start * 1000, model=_line_item_model(line_item),
                       cost_pico=cost_pico, cost_label=label, kind="api", width_s=DAY_S, requests=0,
                       raw=raw_json(endpoint="costs", start_time=start, result=r))


async def fetch(client: ApiClient, ctx: PollContext) -> Fetched:
    """Poll every usage endpoint and the costs of ``ctx.window`` into records.

    Usage and costs are one unit: a failure anywhere (the poll's deadline included) keeps
    none of them, since usage buckets fetched without their day's cost lines would be
    estimated next to cost lines already stored, and so counted twice."""
    out = Fetched()
    usage: list[tuple[UsageRecord, dict]] = []
    for ep, groups in USAGE.items():
        path = f"organization/usage/{ep}"
        try:
            async for start, r in _results(client, path, _params(ctx, USAGE_MAX_LIMIT, groups),
                                           page_cap(ctx.window, USAGE_MAX_LIMIT)):
                usage.append(_usage_record(ep, start, r))
        except ApiError as exc:
            # a gateway (or an older API) may lack a sibling endpoint: that is not fatal
            if exc.kind == "not_found" and ep != "completions":
                out.notes.append(f"{ep} usage is not available at this base URL (skipped)")
                continue
            raise
    costs: list[UsageRecord] = []
    no_amount = negative = 0
    async for start, r in _results(client, "organization/costs",
                                   _params(ctx, COSTS_MAX_LIMIT, ("line_item", "project_id")),
                                   page_cap(ctx.window, COSTS_MAX_LIMIT)):
        try:
            rec = _cost_record(start, r, out.notes)
        except Negative:
            negative += 1
            continue
        if rec is None:
            no_amount += 1
        else:
            costs.append(rec)
    rejected(out, negative, "cost line(s)")
    if no_amount:
        out.notes.append(f"{no_amount} cost line(s) without an amount were skipped (no dollars to count)")
    billed_days = {c.ts_ms for c in costs}
    estimated = 0
    for rec, raw in usage:
        if rec.ts_ms in billed_days:
            rec.cost_pico, rec.cost_label, basis = 0, BILLED, "billed: in this day's costs records"
        elif rec.total:
            rec.cost_pico, rec.cost_label, basis = estimate(
                ctx.pricer, rec.model, rec.input, rec.output, rec.cache_write_5m, 0, rec.cache_read,
                requests=rec.requests)
            estimated += rec.cost_pico is not None
        else:
            rec.cost_pico, rec.cost_label, basis = None, UNPRICED, "not tokens; no billed cost yet"
        rec.raw = raw_json(cost_basis=basis, **raw)
        out.records.append(rec)
    out.records.extend(costs)
    billed = sum((c.cost_pico or 0) for c in costs)
    out.summary = (f"{len(usage)} usage buckets, {len(costs)} cost lines "
                   f"(${Decimal(billed) / 10**12:,.2f} billed)")
    if estimated:
        out.notes.append(f"{estimated} bucket(s) on days without cost lines yet are estimated")
    return out


async def check(client: ApiClient, ctx: PollContext) -> str:
    """One call that proves the usage scope: today's costs, one bucket."""
    start = ctx.window.end_ts - DAY_S
    body = obj(await client.get_json("organization/costs", [("start_time", str(start)), ("limit", "1")]),
               "openai costs")
    total = Decimal(0)
    for b in arr(body.get("data"), "openai costs: data"):
        for r in arr(obj(b, "openai costs: bucket").get("results"), "openai costs: results"):
            total += _usd(obj(obj(r, "openai costs").get("amount"), "amount").get("value"), "amount.value")
    return f"the key can read organization usage and costs (today so far: ${total:,.2f} billed)"


def explain(exc: ApiError, key: str) -> str:
    """Plain words for a failure, naming the fix."""
    detail = exc.detail.lower()
    if exc.kind in ("auth", "forbidden"):
        if exc.kind == "forbidden" or "api.usage.read" in detail or "insufficient permissions" in detail:
            what = ("this is a project key" if key.startswith("sk-proj-") else
                    "this is a service-account key" if key.startswith("sk-svcacct-") else
                    "this key is not an admin key" if not key.startswith("sk-admin-") else
                    "this admin key lacks the api.usage.read scope")
            return (f"{what}; usage needs an admin key with api.usage.read — create one at {ADMIN_KEYS_URL} "
                    "(organization owners only), then run `tokentop keys add openai`")
        return ("OpenAI rejected the key as invalid or revoked (HTTP 401); check OPENAI_ADMIN_KEY or run "
                "`tokentop keys add openai`")
    if exc.kind == "bad_request":
        return f"OpenAI refused the usage query (HTTP 400): {exc.detail or 'no reason given'}"
    return exc.message + (f" — {exc.hint}" if exc.hint else "")


# --- team pull ---------------------------------------------------------------------------

async def team_usage(client: ApiClient, window, pricer, notes: list[str]) -> dict[str, PersonUsage]:
    """Per-person usage from completions usage grouped by user_id (``tokentop team pull openai``)."""

    people: dict[str, PersonUsage] = {}
    unattributed = 0
    where = "openai completions"
    params = [("start_time", str(window.start_ts)), ("end_time", str(window.end_ts)), ("bucket_width", "1d"),
              ("limit", str(min(31, window.days))), ("group_by", "user_id"), ("group_by", "model")]
    async for page in client.pages("organization/usage/completions", params):
        for b in arr(page.get("data"), f"{where}: data"):
            for r in arr(obj(b, f"{where}: bucket").get("results"), f"{where}: results"):
                r = obj(r, f"{where}: result")
                cached, written = count(r, "input_cached_tokens", where), count(r, "input_cache_write_tokens", where)
                uncached = (count(r, "input_uncached_tokens", where) if r.get("input_uncached_tokens") is not None
                            else max(0, count(r, "input_tokens", where) - cached - written))
                out = count(r, "output_tokens", where)
                user = text(r, "user_id", where)
                if not user:
                    unattributed += uncached + cached + written + out
                    continue
                person = people.setdefault(user, PersonUsage())
                person.input += uncached
                person.output += out
                person.cache_read += cached
                person.cache_write += written
                cost, _label, _basis = estimate(pricer, text(r, "model", where), uncached, out, written, 0, cached,
                                                requests=count(r, "num_model_requests", where))
                if cost is None:
                    person.cost_known = False
                else:
                    person.cost += Decimal(cost) / 10**12
    if unattributed:
        notes.append(f"{unattributed:,} tokens had no user_id (service accounts or project keys) and are left out")
    notes.append("cost_per_week is estimated from list prices (the costs API has no per-user view); active hours "
                 "are not available from this API")
    return people


PROVIDER = ApiReader(DEFAULT_BASE_URL, headers, fetch, check, explain,
                     team=TeamPull(team_usage, "openai usage by user_id"))
