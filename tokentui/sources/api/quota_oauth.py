"""Opt-in plan-limit readers behind the vendors' private OAuth usage endpoints
(spec/quotas.md §1.3): Anthropic ``GET /api/oauth/usage`` with Claude Code's login token,
ChatGPT ``GET /backend-api/wham/usage`` with Codex's.

These tokens belong to another program. Off unless ``[quota.oauth] anthropic = true`` /
``openai = true`` is set. The credential file is only ever read (never refreshed, rewritten or
created); the token is held in memory for one request and never logged, stored or shown.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from tokentui import __version__
from tokentui.sources.api.http import ApiClient, ApiError, RetryPolicy

ANTHROPIC_BASE = "https://api.anthropic.com"
CHATGPT_BASE = "https://chatgpt.com"
#: test servers: TOKENTOP_CLAUDE_OAUTH_BASE_URL, TOKENTOP_CHATGPT_BASE_URL
ENV_BASE = {"claude-oauth": "TOKENTOP_CLAUDE_OAUTH_BASE_URL", "codex-oauth": "TOKENTOP_CHATGPT_BASE_URL"}
MAX_CREDENTIAL = 1 << 20
#: one call, no retries: these endpoints rate-limit hard (a 429 waits for the next poll)
POLICY = RetryPolicy(attempts=1, timeout=15.0, deadline=20.0, max_retry_after=0.0)


class CredentialProblem(Exception):
    """No usable token: the message says what to do (never contains the token)."""


@dataclass(frozen=True)
class Token:
    source: str  # claude-oauth | codex-oauth
    path: str  # where it was read (named in messages)
    plan: str | None = None
    account_id: str | None = None  # codex: tokens.account_id
    expires_ms: int | None = None
    _value: str = field(default="", repr=False)  # the bearer: memory only, one request

    def __repr__(self) -> str:  # never the token
        return f"Token({self.source}, {self.path})"


def _read_json(path: str) -> dict:
    """Read-only: open, read, close; the file is never written, created or re-serialised."""
    try:
        with open(path, "rb") as fh:
            data = json.loads(fh.read(MAX_CREDENTIAL))
    except FileNotFoundError:
        raise CredentialProblem(f"no credential file at {path}") from None
    except (OSError, ValueError) as exc:
        raise CredentialProblem(f"cannot read {path} ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise CredentialProblem(f"{path} is not a JSON object")
    return data


def claude_credentials_path() -> str:
    cfg = os.environ.get("CLAUDE_CONFIG_DIR")
    base = os.path.expanduser(cfg) if cfg else os.path.join(os.path.expanduser("~"), ".claude")
    return os.path.join(base, ".credentials.json")


def claude_plan(oauth: dict) -> str | None:
    """"Max 20x" from ``subscriptionType`` max + tier ``default_claude_max_20x``."""
    sub = oauth.get("subscriptionType")
    if not isinstance(sub, str) or not sub:
        return None
    label = sub.capitalize()
    tier = oauth.get("rateLimitTier")
    if isinstance(tier, str):
        for mult in ("20x", "5x"):
            if tier.endswith("_" + mult):
                label += " " + mult
    return label


def claude_token(now_ms: int) -> Token:
    """Claude Code's login token from ``.credentials.json`` (the ``claudeAiOauth`` entry only;
    ``mcpOAuth`` is ignored). An expired token is Claude Code's to refresh: never ours."""
    path = claude_credentials_path()
    data = _read_json(path)
    oauth = data.get("claudeAiOauth")
    if not isinstance(oauth, dict) or not isinstance(oauth.get("accessToken"), str) or not oauth["accessToken"]:
        raise CredentialProblem(f"{path} holds no Claude login: run `claude` and log in")
    scopes = oauth.get("scopes")
    if isinstance(scopes, list) and "user:profile" not in scopes:
        raise CredentialProblem("the Claude token lacks the user:profile scope (a `claude setup-token` token?): "
                                "log in with `claude`")
    expires = oauth.get("expiresAt")
    expires = int(expires) if isinstance(expires, (int, float)) and not isinstance(expires, bool) else None
    if expires is not None and expires <= now_ms:
        raise CredentialProblem("login expired: run `claude` once (tokentop never refreshes its token)")
    return Token("claude-oauth", path, claude_plan(oauth), None, expires, oauth["accessToken"])


def codex_home() -> str:
    return os.path.expanduser(os.environ.get("CODEX_HOME") or os.path.join("~", ".codex"))


def codex_token() -> Token:
    """Codex's ChatGPT login from ``$CODEX_HOME/auth.json`` (tokens are under ``tokens``)."""
    path = os.path.join(codex_home(), "auth.json")
    data = _read_json(path)
    tokens = data.get("tokens")
    if not isinstance(tokens, dict) or not isinstance(tokens.get("access_token"), str) or not tokens["access_token"]:
        raise CredentialProblem(f"{path} holds no ChatGPT login (an API key, or the keyring): run `codex login`")
    acct = tokens.get("account_id") if isinstance(tokens.get("account_id"), str) else None
    return Token("codex-oauth", path, None, acct, None, tokens["access_token"])


def base_url(source: str) -> str:
    env = os.environ.get(ENV_BASE[source], "").strip()
    return env.rstrip("/") if env else (ANTHROPIC_BASE if source == "claude-oauth" else CHATGPT_BASE)


async def fetch(token: Token, *, transport=None, policy: RetryPolicy = POLICY) -> dict:
    """One GET of the usage endpoint with ``token``; the body (a dict) or an :class:`ApiError`
    (401/403 explained; a 429 carries ``retry_after``)."""
    headers = {"Authorization": f"Bearer {token._value}", "Accept": "application/json",
               "User-Agent": f"tokentop/{__version__}"}
    if token.source == "claude-oauth":
        label, path = "Anthropic usage endpoint", "/api/oauth/usage"
        headers["anthropic-beta"] = "oauth-2025-04-20"
    else:
        label, path = "ChatGPT usage endpoint", "/backend-api/wham/usage"
        if token.account_id:
            headers["ChatGPT-Account-Id"] = token.account_id
    async with ApiClient(label, base_url(token.source), headers, secret=token._value, retry=policy,
                         transport=transport) as client:
        try:
            data = await client.get_json(path)
        except ApiError as exc:
            who = "claude" if token.source == "claude-oauth" else "codex"
            if exc.status == 401 or (exc.status == 403 and token.source == "codex-oauth"):
                exc.message, exc.hint = f"login expired: run `{who}` once", None
            elif exc.status == 403 and "user:profile" in (exc.detail or ""):
                exc.message = "the Claude token lacks the user:profile scope: log in with `claude`"
                exc.hint = None
            raise
    if not isinstance(data, dict):
        raise ApiError(f"{label}: the answer is not a JSON object", kind="malformed", path=path)
    return data
