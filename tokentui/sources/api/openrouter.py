"""OpenRouter: spend from ``/key`` (any key), per-model history from ``/activity``
(management keys), balance from ``/credits`` (providers.md §3). All money is dollars
(:func:`_usd` is the one conversion).

``/key`` has running totals only. Each poll stores today's spend (``usage_daily``) as a
zero-token billed record keyed ``key_spend|<day start>``; ``sync_state`` remembers the
counter at the start of the day (``usage - usage_daily``), so the first poll of a later
day closes the previous record exactly from the difference of the two day-start values.
When tokentop was not running for a few days, that record spans them (``width_s`` says
how many days); the key therefore omits the width, so the same record is replaced rather
than duplicated. A changed key restarts the series (the counter is per key).

With a management key, ``/activity`` gives the last 30 completed days per model with
tokens and billed cost; any ``key_spend`` record those days cover is deleted, so the same
dollars are never counted twice. Management keys cannot make completions, so their own
``/key`` spend is not recorded; today (which ``/activity`` does not cover yet) is filled from
``/credits`` ``total_usage`` deltas between polls (``credits_spend|<day start>``, replaced by
``/activity`` once it covers the day). ``byok_usage_inference`` (inference billed by the
user's own provider keys) is shown apart in the status, never added to totals. A 403 from ``/activity`` or ``/credits`` is not an error:
the status says what a management key would add.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta
from decimal import Decimal

from tokentui.core.records import BILLED, UsageRecord
from tokentui.sources.api.base import (ApiReader, DAY_S, Fetched, Negative, PollContext, billed_amount, count,
                                       day_ts, decimal, dims, obj, parse_time, pico, raw_json, rejected, text)
from tokentui.sources.api.http import ApiClient, ApiError, Malformed

NAME = "openrouter"
DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"
MANAGEMENT_KEYS_URL = "https://openrouter.ai/settings/management-keys"
ACTIVITY_DAYS = 30


def headers(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "X-Title": "tokentop"}


def _usd(value: object, where: str) -> Decimal:
    """The one unit conversion: OpenRouter amounts are JSON numbers in dollars."""
    return decimal(value, where)


def _fingerprint(key: str) -> str:
    """Tells keys apart across polls without storing anything that could rebuild the key."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


async def _key_info(client: ApiClient) -> dict:
    try:
        body = await client.get_json("key")
    except ApiError as exc:
        if exc.kind != "not_found":
            raise
        body = await client.get_json("auth/key")  # the pre-2025 path
    return obj(obj(body, "openrouter /key").get("data"), "openrouter /key: data")


def _spend_records(ctx: PollContext, info: dict, out: Fetched) -> Decimal:
    """Today's spend record, and the previous day's closed from the day-start counters."""
    usage = _usd(info.get("usage", 0), "/key: usage")
    today = ctx.today
    fp = _fingerprint(ctx.key)
    prev = json.loads(ctx.state["day_start"]) if ctx.state.get("key_id") == fp and ctx.state.get("day_start") \
        else None
    spend_days: dict[str, int] = json.loads(ctx.state.get("spend_days") or "{}") if prev else {}
    if info.get("usage_daily") is not None:
        start_today = usage - _usd(info["usage_daily"], "/key: usage_daily")
    elif prev and prev["day"] == today.isoformat():
        start_today = Decimal(prev["usage"])
    else:  # the oldest /key shape has no usage_daily: count from the first poll seen today
        start_today = usage
    if prev and prev["day"] < today.isoformat():
        prev_day = date.fromisoformat(prev["day"])
        span = start_today - Decimal(prev["usage"])
        width = (today - prev_day).days
        if span >= 0:
            out.records.append(_spend(prev_day, width, span, usage, info))
            spend_days[str(day_ts(prev_day))] = width
        else:
            out.notes.append("the key's spend counter went down since the last poll; that span is not recorded")
    today_spend = usage - start_today
    if today_spend < 0:  # a negative usage_daily: no spend record, the day is not closed from it
        rejected(out, 1, "day spend(s)")
        return Decimal(0)
    out.records.append(_spend(today, 1, today_spend, usage, info))
    spend_days[str(day_ts(today))] = 1
    out.state.update(key_id=fp, day_start=json.dumps({"day": today.isoformat(), "usage": str(start_today)}),
                     spend_days=json.dumps(spend_days, sort_keys=True))
    return today_spend


def _spend(day: date, width_days: int, spend: Decimal, usage: Decimal, info: dict) -> UsageRecord:
    start = day_ts(day)
    return UsageRecord(source=NAME, key=f"key_spend|{start}", ts_ms=start * 1000, model=None, kind="api",
                       width_s=width_days * DAY_S, requests=0, cost_pico=pico(spend, "/key: usage"), cost_label=BILLED,
                       raw=raw_json(endpoint="key", start_time=start, days=width_days, usage_counter=str(usage),
                                    usage_daily=info.get("usage_daily"), cost_basis="difference of /key counters"))


def _activity_record(r: dict) -> UsageRecord:
    where = "openrouter /activity"
    start = parse_time(r.get("date"), f"{where}.date")
    model = text(r, "model_permaslug", where) or text(r, "model", where)
    key = "activity|{}|{}".format(start, dims([(d, text(r, d, where)) for d in (
        "model", "model_permaslug", "endpoint_id", "provider_name", "workspace_id")]))
    billed_amount(_usd(r.get("byok_usage_inference", 0), f"{where}.byok_usage_inference"),
                  f"{where}.byok_usage_inference")  # validated, kept raw
    return UsageRecord(source=NAME, key=key, ts_ms=start * 1000, model=model, kind="api", width_s=DAY_S,
                       input=count(r, "prompt_tokens", where), output=count(r, "completion_tokens", where),
                       reasoning=count(r, "reasoning_tokens", where), requests=count(r, "requests", where),
                       cost_pico=pico(billed_amount(_usd(r.get("usage", 0), f"{where}.usage"), f"{where}.usage"),
                                      where), cost_label=BILLED,
                       raw=raw_json(endpoint="activity", start_time=start, cost_basis="billed (usage)", result=r))


async def _activity(client: ApiClient, ctx: PollContext, out: Fetched) -> bool:
    try:
        body = await client.get_json("activity")
    except ApiError as exc:
        if exc.kind in ("forbidden", "auth"):
            out.notes.append("per-model daily history (/activity) needs a management key "
                             f"({MANAGEMENT_KEYS_URL}); showing spend from /key only")
            return False
        raise
    data = obj(body, "/activity").get("data")
    if not isinstance(data, list):  # missing is not "no activity": it is not the documented shape
        raise Malformed(f"/activity: expected a data list, got {type(data).__name__ if data is not None else 'none'}")
    rows, negative, byok = [], 0, Decimal(0)
    for r in data:
        try:
            rows.append(_activity_record(obj(r, "/activity row")))
        except Negative:
            negative += 1
            continue
        byok += _usd(r.get("byok_usage_inference") or 0, "/activity: byok_usage_inference")
    rejected(out, negative, "activity row(s)")
    out.records.extend(rows)
    out.detail["byok_usage_inference"] = str(byok)  # shown apart: not OpenRouter credits, not in totals
    if rows:
        last = max(r.ts_ms // 1000 for r in rows)
        out.detail["activity_to"] = last
        oldest = day_ts(ctx.today - timedelta(days=ACTIVITY_DAYS))
        spend_days = json.loads(out.state.get("spend_days") or ctx.state.get("spend_days") or "{}")
        for start, width in list(spend_days.items()):
            # drop a /key spend record only when activity covers every day it spans
            if int(start) >= oldest and int(start) + width * DAY_S <= last + DAY_S:
                out.delete.append(f"key_spend|{start}")
                del spend_days[start]
        out.state["spend_days"] = json.dumps(spend_days, sort_keys=True)
    out.summary = f"{len(rows)} activity rows"
    return True


async def _balance(client: ApiClient, out: Fetched) -> Decimal | None:
    """The balance is status detail only: when it cannot be fetched (the poll's deadline, a
    deferred rate limit, a server error …), the spend records fetched before stay exact.
    Returns the account's ``total_usage`` counter (None when not fetched)."""
    try:
        data = obj(obj(await client.get_json("credits"), "/credits").get("data"), "/credits: data")
    except ApiError as exc:
        if exc.kind in ("forbidden", "auth", "not_found"):
            out.notes.append("the account balance needs a management key")
            return None
        if exc.kind == "malformed":
            raise
        out.incomplete.append(f"the balance (/credits) was not fetched: {exc.message}")
        return None
    used = _usd(data.get("total_usage", 0), "total_usage")
    left = _usd(data.get("total_credits", 0), "total_credits") - used
    out.detail["balance"] = [{"currency": "USD", "available": str(left)}]
    return used


def _credits_spend(ctx: PollContext, used: Decimal, out: Fetched, covered_to: int | None) -> Decimal:
    """Today's account spend from ``/credits`` deltas (a management key: ``/activity`` has
    completed days only). ``sync_state`` keeps the counter at the day's first poll; each poll
    stores today's spend since then as ``credits_spend|<day start>``; the first poll of a later
    day closes the previous record at the counter then (it spans to that poll: ``width_s``).
    A record is deleted once ``/activity`` covers every day it spans (``covered_to``)."""
    today = ctx.today
    fp = _fingerprint(ctx.key)  # another key may be another account: its counter starts afresh
    prev = json.loads(ctx.state["credits_day_start"]) if ctx.state.get("credits_day_start") else None
    prev = prev if prev and prev.get("key_id") == fp else None
    days: dict[str, int] = json.loads(ctx.state.get("credits_days") or "{}")
    start_today = Decimal(prev["usage"]) if prev and prev["day"] == today.isoformat() else used
    if prev and prev["day"] < today.isoformat():
        prev_day = date.fromisoformat(prev["day"])
        span, width = used - Decimal(prev["usage"]), (today - prev_day).days
        if span >= 0:
            out.records.append(_credits_record(prev_day, width, span, used))
            days[str(day_ts(prev_day))] = width
        else:
            rejected(out, 1, "day spend(s)")
    spend = used - start_today
    if spend < 0:
        rejected(out, 1, "day spend(s)")
        spend = Decimal(0)
    else:
        out.records.append(_credits_record(today, 1, spend, used))
        days[str(day_ts(today))] = 1
    if covered_to is not None:
        for start, width in list(days.items()):
            if int(start) + width * DAY_S <= covered_to + DAY_S:
                out.delete.append(f"credits_spend|{start}")
                out.records = [r for r in out.records if r.key != f"credits_spend|{start}"]
                del days[start]
    out.state.update(credits_day_start=json.dumps({"day": today.isoformat(), "usage": str(start_today),
                                                   "key_id": fp}),
                     credits_days=json.dumps(days, sort_keys=True))
    return spend


def _credits_record(day: date, width_days: int, spend: Decimal, used: Decimal) -> UsageRecord:
    start = day_ts(day)
    return UsageRecord(source=NAME, key=f"credits_spend|{start}", ts_ms=start * 1000, model=None, kind="api",
                       width_s=width_days * DAY_S, requests=0, cost_pico=pico(spend, "/credits: total_usage"),
                       cost_label=BILLED, raw=raw_json(endpoint="credits", start_time=start, days=width_days,
                                                       total_usage=str(used),
                                                       cost_basis="difference of /credits total_usage"))


async def fetch(client: ApiClient, ctx: PollContext) -> Fetched:
    """Spend from /key, /activity for management keys, and the balance."""
    out = Fetched()
    info = await _key_info(client)
    mgmt = info.get("is_management_key", info.get("is_provisioning_key"))
    out.detail.update(management_key=bool(mgmt), spend_all_time=str(_usd(info.get("usage", 0), "/key: usage")))
    for f in ("limit", "limit_remaining"):
        if info.get(f) is not None:
            out.detail[f] = str(_usd(info[f], f"/key: {f}"))
    if info.get("limit_reset") is not None:
        out.detail["limit_reset"] = text(info, "limit_reset", "/key")
    parts = []
    if not mgmt:
        today = _spend_records(ctx, info, out)
        out.detail["spend_today"] = str(today)
        parts.append(f"spend today ${today:,.2f}")
    if mgmt or mgmt is None:  # unknown on the oldest /key shape: ask, a 403 just says no
        if await _activity(client, ctx, out):
            parts.append(out.summary)
    elif not mgmt:
        out.notes.append("per-model daily history (/activity) needs a management key; showing spend from /key")
    used = await _balance(client, out)
    if mgmt and used is not None:
        covered_to = out.detail.pop("activity_to", None)
        today = _credits_spend(ctx, used, out, covered_to)
        out.detail["spend_today"] = str(today)
        parts.insert(0, f"spend today ${today:,.2f}")
    out.detail.pop("activity_to", None)
    if Decimal(out.detail.get("byok_usage_inference") or 0):
        parts.append(f"BYOK inference ${Decimal(out.detail['byok_usage_inference']):,.3f} over 30 days (billed by "
                     "your own provider keys; not in totals)")
    if "balance" in out.detail:
        parts.append(f"balance ${Decimal(out.detail['balance'][0]['available']):,.2f}")
    out.summary = ", ".join(parts)
    return out


async def check(client: ApiClient, ctx: PollContext) -> str:
    """One call to /key."""
    info = await _key_info(client)
    mgmt = info.get("is_management_key", info.get("is_provisioning_key"))
    usage = _usd(info.get("usage", 0), "/key: usage")
    msg = f"the key works (all-time spend ${usage:,.2f}"
    if info.get("usage_daily") is not None:
        msg += f", today ${_usd(info['usage_daily'], 'usage_daily'):,.2f}"
    if info.get("limit") is not None:
        msg += f"; limit ${_usd(info['limit'], 'limit'):,.2f}"
        if info.get("limit_remaining") is not None:
            msg += f", ${_usd(info['limit_remaining'], 'limit_remaining'):,.2f} left"
    msg += ")"
    msg += ("; it is a management key, so per-model history is available" if mgmt else
            "; per-model daily history needs a management key")
    return msg


def explain(exc: ApiError, key: str) -> str:
    """Plain words for a failure, naming the fix."""
    if exc.kind == "auth":
        return (f"OpenRouter rejected the key (HTTP 401: {exc.detail or 'invalid or missing'}); check "
                "OPENROUTER_API_KEY or run `tokentop keys add openrouter`")
    if exc.kind == "billing":
        return "OpenRouter says the account is out of credits (HTTP 402)"
    return exc.message + (f" — {exc.hint}" if exc.hint else "")


PROVIDER = ApiReader(DEFAULT_BASE_URL, headers, fetch, check, explain, windowed=False)
