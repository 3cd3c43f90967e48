"""Provider usage/cost API clients (httpx, async). No UI, no store: each ``fetch`` returns
records and state; :mod:`tokentui.services.poll` writes them.

Billed vs estimated (so a report's total never counts the same dollars twice):

* Money from a provider's cost endpoint (OpenAI ``/costs``, Anthropic ``cost_report``) is
  stored as zero-token ``billed`` records, one per cost line and day (``costs|<day>|…``).
* A token bucket whose UTC day has such cost lines carries ``cost 0, billed``: its dollars
  are those lines'. A day without cost lines yet (costs lag usage) is ``estimated`` — per
  request when the bucket has a request count (OpenAI), else at the base tier (or the tier
  the bucket's context window names; Anthropic) — and the next poll, which re-fetches the
  recent days, replaces the estimate by ``cost 0, billed`` once the cost lines exist. A
  model with no known price is ``unpriced``. Each record's ``raw`` says which basis it used.
* OpenRouter ``/activity`` rows carry tokens and their billed cost on one record; its
  ``/key`` spend records are deleted for days ``/activity`` covers.
* Claude Code analytics records carry neither tokens nor cost (the same usage is counted
  elsewhere); balances (DeepSeek, Moonshot, OpenRouter credits) are not usage at all and
  live in the status detail and ``sync_state``.

Base URL precedence: ``TOKENTOP_<NAME>_BASE_URL`` > ``[sources.NAME] base_url`` > the
provider's default. Any of them must pass :func:`tokentui.credentials.check_base_url`
(https, or http on loopback only), so a key is never sent in clear over a network.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Awaitable, Callable, Iterator, Mapping

from tokentui.config import Settings
from tokentui.credentials import check_base_url
from tokentui.errors import ConfigError
from tokentui.sources import registry
from tokentui.sources.api.base import Fetched, PollContext, TeamPull
from tokentui.sources.api.http import ApiClient, ApiError


@dataclass(frozen=True)
class Provider:
    """One API source: its registry entry's name and label with its module's
    :class:`~tokentui.sources.api.base.ApiReader` (where it lives, how it authenticates, what
    it fetches)."""

    name: str
    label: str
    default_base_url: str
    headers: Callable[[str], dict[str, str]]
    fetch: Callable[[ApiClient, PollContext], Awaitable[Fetched]]
    check: Callable[[ApiClient, PollContext], Awaitable[str]]  # exactly one call, for `keys test`
    explain: Callable[[ApiError, str], str]
    windowed: bool = True  # fetches a day window (False: balance/running totals only)
    team: TeamPull | None = None  # `tokentop team pull` support


class _Providers(Mapping[str, Provider]):
    """Every registered API source's :class:`Provider`, by name (read from the registry on
    each use, so a source registered later is here too)."""

    def __getitem__(self, name: str) -> Provider:
        if not registry.known(name) or registry.kind_of(name) != registry.API:
            raise KeyError(name)
        spec, r = registry.get(name), registry.reader(name)
        return Provider(name, spec.label, r.default_base_url, r.headers, r.fetch, r.check, r.explain, r.windowed, r.team)

    def __iter__(self) -> Iterator[str]:
        return iter(registry.names(registry.API))

    def __len__(self) -> int:
        return len(registry.names(registry.API))


PROVIDERS: Mapping[str, Provider] = _Providers()


def base_url_env(name: str) -> str:
    """``TOKENTOP_OPENAI_BASE_URL`` for ``openai``."""
    return f"TOKENTOP_{name.upper().replace('-', '_')}_BASE_URL"


def resolve_base_url(name: str, settings: Settings) -> str:
    """The base URL to use for ``name``; :class:`ConfigError` if it is not allowed."""
    env = base_url_env(name)
    url, origin = os.environ.get(env, "").strip(), env
    if not url:
        url, origin = settings.source(name).base_url or "", f"[sources.{name}] base_url"
    if not url:
        return PROVIDERS[name].default_base_url
    problem = check_base_url(url)
    if problem:
        raise ConfigError(f"{origin}: {problem}", "keys are only sent over https (or http to this machine)")
    return url.rstrip("/")


__all__ = ["PROVIDERS", "Provider", "ApiClient", "ApiError", "Fetched", "PollContext", "resolve_base_url",
           "base_url_env"]
