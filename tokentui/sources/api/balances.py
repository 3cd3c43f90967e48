"""DeepSeek and Moonshot: account balance only (providers.md §4).

A balance is not usage, so these sources write no ledger records: the balance goes into
the status detail and ``sync_state`` (name ``balance``, JSON). Amounts may be strings or
numbers; both parse exactly to Decimal and are stored as strings.
"""

from __future__ import annotations

import json
from decimal import Decimal
from urllib.parse import urlsplit

from tokentui.sources.api.base import ApiReader, Fetched, PollContext, arr, decimal, obj, text
from tokentui.sources.api.http import ApiClient, ApiError, Malformed

DEEPSEEK_BASE_URL = "https://api.deepseek.com"
MOONSHOT_BASE_URL = "https://api.moonshot.ai/v1"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _money(v: object, where: str) -> Decimal:
    """The one unit conversion for both: amounts are whole currency units (yuan or dollars)."""
    return decimal(v, where)


def _fmt(entries: list[dict]) -> str:
    return ", ".join(f"{e['currency']} {Decimal(e['available']):,.2f}" for e in entries) or "none reported"


# --- DeepSeek ------------------------------------------------------------------------------

async def _deepseek(client: ApiClient) -> tuple[list[dict], bool]:
    body = obj(await client.get_json("user/balance"), "deepseek balance")
    entries = []
    for b in arr(body.get("balance_infos"), "deepseek balance_infos"):
        b = obj(b, "deepseek balance_infos[]")
        entries.append({"currency": (text(b, "currency", "deepseek") or "?").upper(),
                        "available": str(_money(b.get("total_balance", 0), "deepseek total_balance")),
                        "granted": str(_money(b.get("granted_balance", 0), "deepseek granted_balance")),
                        "topped_up": str(_money(b.get("topped_up_balance", 0), "deepseek topped_up_balance"))})
    available = body.get("is_available")
    if available is not None and not isinstance(available, bool):
        raise Malformed("deepseek is_available: expected true or false")
    return entries, available is not False


async def deepseek_fetch(client: ApiClient, ctx: PollContext) -> Fetched:
    """The DeepSeek balance, as status detail."""
    entries, usable = await _deepseek(client)
    out = Fetched(detail={"balance": entries, "is_available": usable})
    out.state["balance"] = json.dumps(entries, sort_keys=True)
    out.summary = f"balance {_fmt(entries)}"
    if not usable:
        out.notes.append("DeepSeek says the balance is not enough to make API calls")
    return out


async def deepseek_check(client: ApiClient, ctx: PollContext) -> str:
    entries, usable = await _deepseek(client)
    return f"the key works (balance {_fmt(entries)}{'' if usable else '; not enough for API calls'})"


# --- Moonshot ------------------------------------------------------------------------------

async def _moonshot(client: ApiClient) -> list[dict]:
    body = obj(await client.get_json("users/me/balance"), "moonshot balance")
    if body.get("code") not in (0, None) or body.get("status") is False:
        raise ApiError(f"Moonshot reported an error (code {body.get('code')!r}, scode {body.get('scode')!r})",
                       kind="http")
    data = obj(body.get("data"), "moonshot data")
    # keys are region-bound: the .cn platform bills in yuan, the international one in dollars
    host = urlsplit(client.base_url).hostname or ""
    currency = "CNY" if host.endswith(".cn") else "USD"
    return [{"currency": currency,
             "available": str(_money(data.get("available_balance", 0), "moonshot available_balance")),
             "voucher": str(_money(data.get("voucher_balance", 0), "moonshot voucher_balance")),
             "cash": str(_money(data.get("cash_balance", 0), "moonshot cash_balance"))}]


async def moonshot_fetch(client: ApiClient, ctx: PollContext) -> Fetched:
    """The Moonshot balance, as status detail."""
    entries = await _moonshot(client)
    out = Fetched(detail={"balance": entries})
    out.state["balance"] = json.dumps(entries, sort_keys=True)
    out.summary = f"balance {_fmt(entries)}"
    if Decimal(entries[0]["cash"]) < 0:
        out.notes.append(f"cash balance is negative ({entries[0]['currency']} {entries[0]['cash']} owed)")
    return out


async def moonshot_check(client: ApiClient, ctx: PollContext) -> str:
    return f"the key works (balance {_fmt(await _moonshot(client))})"


def explain(label: str, env: str, source: str):
    """An explainer for a balance-only provider."""

    def _explain(exc: ApiError, key: str) -> str:
        if exc.kind in ("auth", "forbidden"):
            return (f"{label} rejected the key (HTTP {exc.status}: {exc.detail or 'invalid key'}); check {env} "
                    f"or run `tokentop keys add {source}`")
        return exc.message + (f" — {exc.hint}" if exc.hint else "")

    return _explain


DEEPSEEK = ApiReader(DEEPSEEK_BASE_URL, bearer, deepseek_fetch, deepseek_check,
                     explain("DeepSeek", "DEEPSEEK_API_KEY", "deepseek"), windowed=False)
MOONSHOT = ApiReader(MOONSHOT_BASE_URL, bearer, moonshot_fetch, moonshot_check,
                     explain("Moonshot", "MOONSHOT_API_KEY", "moonshot"), windowed=False)
