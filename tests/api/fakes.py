"""Provider fakes on :class:`tests.api.server.ProviderServer`: the documented paths, auth and
paging, serving the fixture bodies. One server hosts every provider under its own prefix."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from tests.api.server import ProviderServer, Reply, Request, file_reply, fixture, fixture_json, paged

NOW = datetime(2025, 9, 8, 12, 0, tzinfo=timezone.utc)

OPENAI_KEY = "sk-admin-TESTopenaiADMIN0123456789abcdefghijklmnopQRSTuvw"
OPENAI_PROJECT_KEY = "sk-proj-TESTopenaiPROJECT0123456789abcdefghijklmnoPQR"
ANTHROPIC_KEY = "sk-ant-admin01-TESTanthropicADMIN0123456789abcdefghijklmnopqrstuvwxyzAA"
ANTHROPIC_API_KEY = "sk-ant-api03-TESTanthropicNORMAL0123456789abcdefghijklmnopqrstu"
OPENROUTER_KEY = "sk-or-v1-TESTopenrouterNORMAL0123456789abcdefghijklmnop"
OPENROUTER_MGMT_KEY = "sk-or-v1-TESTopenrouterMANAGEMENT0123456789abcdefghijkl"
DEEPSEEK_KEY = "sk-TESTdeepseek0123456789abcdefghijklmnop"
MOONSHOT_KEY = "sk-TESTmoonshot0123456789abcdefghijklmnop"
ALL_KEYS = (OPENAI_KEY, OPENAI_PROJECT_KEY, ANTHROPIC_KEY, ANTHROPIC_API_KEY, OPENROUTER_KEY, OPENROUTER_MGMT_KEY,
            DEEPSEEK_KEY, MOONSHOT_KEY)

OPENAI_SIBLINGS = ("embeddings", "moderations", "images", "audio_speeches", "audio_transcriptions", "vector_stores",
                   "code_interpreter_sessions", "file_search_calls", "web_search_calls")
LAST_PAGE = {"object": "page", "data": [], "has_more": False, "next_page": None}
EMPTY_ANTHROPIC = {"data": [], "has_more": False, "next_page": None}


def _bearer(req: Request) -> str:
    return req.headers.get("authorization", "").removeprefix("Bearer ")


def auth(req: Request) -> Reply | None:
    """What each provider answers for each kind of key (None: let the route answer)."""
    p = req.path
    if p.startswith("/v1/organization/"):
        key = _bearer(req)
        if key == OPENAI_KEY:
            return None
        if key == OPENAI_PROJECT_KEY:
            return file_reply("openai_error_missing_scope_403_bare_string.json", 403)
        return file_reply("openai_error_invalid_api_key_401.json", 401)
    if p.startswith("/v1/organizations/"):
        key = req.headers.get("x-api-key")
        if req.headers.get("anthropic-version") != "2023-06-01":
            return file_reply("anthropic_error_400_invalid_request.json", 400)
        if key == ANTHROPIC_KEY:
            return None
        return file_reply("anthropic_error_401_authentication.json", 401)
    if p.startswith("/api/v1/"):
        key = _bearer(req)
        if key == OPENROUTER_MGMT_KEY or (key == OPENROUTER_KEY and p in ("/api/v1/key", "/api/v1/auth/key")):
            return None
        if key == OPENROUTER_KEY:
            return file_reply("openrouter_error_403_management_key_required.json", 403)
        return file_reply("openrouter_error_401.json", 401)
    if p == "/user/balance" and _bearer(req) != DEEPSEEK_KEY:
        return Reply(401, {"error": {"message": "Authentication Fails (no such user)", "type": "authentication_error"}})
    if p == "/v1/users/me/balance" and _bearer(req) != MOONSHOT_KEY:
        return Reply(401, {"error": {"message": "Invalid Authentication", "type": "invalid_authentication_error"}})
    return None


def _openrouter_key(req: Request) -> Reply:
    body = fixture_json("openrouter_key.json")
    if _bearer(req) == OPENROUTER_MGMT_KEY:
        body["data"].update(is_management_key=True, is_provisioning_key=True, usage=0, usage_daily=0)
    return Reply(200, body)


def _claude_code(req: Request) -> Reply:
    if req.q("starting_at") == "2025-09-08":
        return file_reply("anthropic_claude_code.json")
    return Reply(200, EMPTY_ANTHROPIC)


def install(server: ProviderServer) -> ProviderServer:
    """Serve every provider's documented endpoints from the fixtures."""
    server.auth = auth
    p1 = fixture_json("openai_usage_completions_page1.json")
    server.route("/v1/organization/usage/completions",
                 paged("openai_usage_completions_page1.json", {p1["next_page"]: "openai_usage_completions_page2.json"}))
    for name in OPENAI_SIBLINGS:
        server.route(f"/v1/organization/usage/{name}", file_reply(f"openai_usage_{name}.json"))
    c1 = fixture_json("openai_costs.json")
    server.route("/v1/organization/costs", paged("openai_costs.json", {c1["next_page"]: LAST_PAGE}))
    m1 = fixture_json("anthropic_usage_messages.json")
    server.route("/v1/organizations/usage_report/messages",
                 paged("anthropic_usage_messages.json", {m1["next_page"]: "anthropic_usage_messages_page2.json"}))
    server.route("/v1/organizations/cost_report", file_reply("anthropic_cost_report.json"))
    server.route("/v1/organizations/usage_report/claude_code", _claude_code)
    server.route("/api/v1/key", _openrouter_key)
    server.route("/api/v1/activity", file_reply("openrouter_activity.json"))
    server.route("/api/v1/credits", file_reply("openrouter_credits.json"))
    server.route("/user/balance", file_reply("deepseek_user_balance.json"))
    server.route("/v1/users/me/balance", file_reply("moonshot_users_me_balance.json"))
    return server


def base_urls(server: ProviderServer) -> dict[str, str]:
    return {"openai": f"{server.url}/v1", "anthropic": server.url, "openrouter": f"{server.url}/api/v1",
            "deepseek": server.url, "moonshot": f"{server.url}/v1"}


def truncated(name: str) -> bytes:
    data = fixture(name)
    return data[: len(data) // 2]


def dumps(obj) -> bytes:
    return json.dumps(obj).encode()
