"""Opt-in OAuth usage endpoints (spec/quotas.md §1.3) against a real HTTP server on
127.0.0.1: off by default, the fixtures' windows, read-only credentials, no token anywhere,
a 429's Retry-After honoured, expired logins never called."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.api.server import ProviderServer, Reply
from tests.unit.test_quotas_core import FIX, s
from tokentui import paths
from tokentui.config import load_settings
from tokentui.services import quota as svc
from tokentui.store import quotas as store
from tokentui.store.db import connect

T_1425 = 1795443900000  # 2026-11-23T14:25:00Z
T_0900 = 1795424400000
SECRETS = ("FIXTURE-not-a-real-token", "FIXTURE-access", "rt_FIXTURE")


@pytest.fixture
def srv():
    server = ProviderServer().start()
    yield server
    server.stop()


@pytest.fixture
def creds(tmp_path, monkeypatch, srv) -> dict[str, Path]:
    claude = tmp_path / "claude"
    shutil.copytree(FIX / "credentials/claude-config-dir", claude)
    shutil.copy(FIX / "claude-config/.claude.json", claude / ".claude.json")
    codex = tmp_path / "codex"
    shutil.copytree(FIX / "credentials/codex-home", codex)
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(claude))
    monkeypatch.setenv("CODEX_HOME", str(codex))
    monkeypatch.setenv("TOKENTOP_CLAUDE_OAUTH_BASE_URL", srv.url)
    monkeypatch.setenv("TOKENTOP_CHATGPT_BASE_URL", srv.url)
    return {"claude": claude / ".credentials.json", "codex": codex / "auth.json"}


def _opt_in(**flags) -> None:
    cfg = paths.config_file()
    cfg.parent.mkdir(parents=True, exist_ok=True)
    body = "".join(f"{k} = {str(v).lower()}\n" for k, v in flags.items())
    cfg.write_text(f"[quota.oauth]\n{body}", encoding="utf-8")


def _stamp(p: Path) -> tuple:
    return p.read_bytes(), p.stat().st_mtime_ns, sorted(x.name for x in p.parent.iterdir())


def _body(name: str) -> dict:
    return json.loads((FIX / "oauth" / name).read_text())


def _no_secret(*texts) -> None:
    for t in texts:
        for secret in SECRETS:
            assert secret not in str(t)


def test_off_unless_opted_in(creds, srv):
    conn = connect(paths.history_db())
    assert svc.poll_oauth(conn, load_settings(), now=T_1425) == []
    assert srv.requests == []


def test_anthropic_usage_gives_the_fixture_windows_and_leaves_the_credentials_alone(creds, srv):
    _opt_in(anthropic=True)
    srv.route("/api/oauth/usage", Reply(200, _body("anthropic-oauth-usage-current.json")))
    before = _stamp(creds["claude"])
    conn = connect(paths.history_db())
    got = svc.poll_oauth(conn, load_settings(), now=T_1425)
    assert got == [("claude-oauth", "ok", "4 window(s)")]
    rows = store.rows(conn)
    assert sorted((r.lim, r.win, r.used_bp, r.resets_at, r.plan) for r in rows) == [
        ("account", "five_hour", 6400, 1795453200, "Max 20x"),
        ("account", "seven_day", 3800, s("2026-11-27T20:00:00Z"), "Max 20x"),
        ("model:fable", "seven_day", 2100, s("2026-11-27T20:00:00Z"), "Max 20x"),
        ("sonnet", "seven_day", 1200, s("2026-11-27T20:00:00Z"), "Max 20x")]
    assert {r.account for r in rows} == {"anthropic:4f0c2a9e-7b1d-4c3e-8a5f-6d2b9e1c0a77"}
    assert {r.source for r in rows} == {"claude-oauth"}
    hit = srv.hits("/api/oauth/usage")[0]
    assert hit.headers["authorization"] == "Bearer sk-ant-oat01-FIXTURE-not-a-real-token"
    assert hit.headers["anthropic-beta"] == "oauth-2025-04-20" and hit.headers["user-agent"].startswith("tokentop/")
    assert _stamp(creds["claude"]) == before  # bytes, mtime, and no new file next to it
    st = {x.win: x for x in svc.current(conn, T_1425 + 300_000) if x.lim == "account"}
    assert st["five_hour"].used == 64.0 and st["five_hour"].pace.stage == "far ahead"
    # within 5 minutes: not polled again
    assert svc.poll_oauth(conn, load_settings(), now=T_1425 + 60_000) == [("claude-oauth", "skipped", "not due yet")]
    assert len(srv.hits("/api/oauth/usage")) == 1


def test_an_expired_login_is_never_called_nor_refreshed(creds, srv):
    _opt_in(anthropic=True)
    before = _stamp(creds["claude"])
    conn = connect(paths.history_db())
    got = svc.poll_oauth(conn, load_settings(), now=1795460400000)  # 19:00: expiresAt
    assert got == [("claude-oauth", "error", "login expired: run `claude` once (tokentop never refreshes its token)")]
    assert srv.requests == [] and _stamp(creds["claude"]) == before


def test_a_429_waits_its_retry_after(creds, srv):
    _opt_in(anthropic=True)
    srv.route("/api/oauth/usage", [Reply(429, {"error": {"message": "Rate limited. Please try again later.",
                                                          "type": "rate_limit_error"}}, retry_after="900"),
                                   Reply(200, _body("anthropic-oauth-usage-current.json"))])
    conn = connect(paths.history_db())
    settings = load_settings()
    got = svc.poll_oauth(conn, settings, now=T_1425)
    assert got == [("claude-oauth", "error", "rate limited (HTTP 429), retry after 15 min")]
    assert svc.poll_oauth(conn, settings, now=T_1425 + 10 * 60_000)[0][1] == "skipped"
    assert svc.poll_oauth(conn, settings, now=T_1425 + 16 * 60_000, force=True)[0][1] == "ok"
    assert len(srv.hits("/api/oauth/usage")) == 2
    rows = {r["name"]: r for r in svc.source_rows(conn)}
    assert rows["quota:claude-oauth"]["status"] == "ok"


def test_a_wrong_scope_or_revoked_token_says_what_to_do(creds, srv):
    _opt_in(anthropic=True)
    srv.route("/api/oauth/usage", [Reply(403, {"error": {"type": "permission_error", "message":
                                                          "OAuth token does not meet scope requirement user:profile"}}),
                                   Reply(401, {"error": {"type": "authentication_error", "message": "invalid"}})])
    conn = connect(paths.history_db())
    first = svc.poll_oauth(conn, load_settings(), now=T_1425)
    assert first == [("claude-oauth", "error", "the Claude token lacks the user:profile scope: log in with `claude`")]
    second = svc.poll_oauth(conn, load_settings(), now=T_1425 + 6 * 60_000, force=True)
    assert second == [("claude-oauth", "error", "login expired: run `claude` once")]
    _no_secret(first, second, svc.source_rows(conn))


def test_chatgpt_usage_windows_by_length(creds, srv):
    _opt_in(openai=True)
    srv.route("/backend-api/wham/usage", [Reply(200, _body("chatgpt-wham-usage-pro.json")),
                                          Reply(200, _body("chatgpt-wham-usage-team-weekly-only.json"))])
    before = _stamp(creds["codex"])
    conn = connect(paths.history_db())
    assert svc.poll_oauth(conn, load_settings(), now=T_0900) == [("codex-oauth", "ok", "5 window(s)")]
    hit = srv.hits("/backend-api/wham/usage")[0]
    assert hit.headers["authorization"] == "Bearer eyJhbGciOiJub25lIn0.FIXTURE-access."
    assert hit.headers["chatgpt-account-id"] == "acct_FIXTURE_0000000000000001"
    assert sorted((r.lim, r.win, r.used_bp) for r in store.rows(conn)) == [
        ("code-review", "seven_day", 0), ("codex", "five_hour", 900), ("codex", "seven_day", 5800),
        ("gpt-5.3-codex-spark", "five_hour", 800), ("gpt-5.3-codex-spark", "seven_day", 200)]
    later = 1795946400000  # 2026-11-24T10:00:00Z
    assert svc.poll_oauth(conn, load_settings(), now=later) == [("codex-oauth", "ok", "1 window(s)")]
    team = [r for r in store.rows(conn) if r.first_seen_ms == later]
    assert [(r.lim, r.win, r.used_bp, r.raw_resets_at) for r in team] == [("codex", "seven_day", 5300, 1796035400)]
    assert _stamp(creds["codex"]) == before


def test_a_codex_401_says_run_codex(creds, srv):
    _opt_in(openai=True)
    srv.route("/backend-api/wham/usage", Reply(401, {"detail": "token expired"}))
    conn = connect(paths.history_db())
    got = svc.poll_oauth(conn, load_settings(), now=T_0900)
    assert got == [("codex-oauth", "error", "login expired: run `codex` once")]
    _no_secret(got)


def test_the_config_setting_is_checked(tmp_path):
    from tokentui.errors import ConfigError

    cfg = paths.config_file()
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text('[quota.oauth]\nanthropic = "yes"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="quota.oauth.anthropic"):
        load_settings()
    cfg.write_text('[quota]\nwarn = 80\n[quota.oauth]\nopenai = true\n', encoding="utf-8")
    assert svc.oauth_enabled(load_settings()) == ["codex-oauth"]


def test_sync_polls_an_opted_in_endpoint_and_sources_lists_it(creds, srv, capsys):
    from tokentui.cli import main

    _opt_in(anthropic=True)
    srv.route("/api/oauth/usage", Reply(200, _body("anthropic-oauth-usage-idle-legacy.json")))
    data = json.loads(creds["claude"].read_text())
    data["claudeAiOauth"]["expiresAt"] = 4102444800000  # this test runs on the real clock
    creds["claude"].write_text(json.dumps(data))
    main(["sync"])  # (exit 1: the agents' folders here hold no logs)
    out = capsys.readouterr().out
    assert "quota:claude-oauth" in out and "2 window(s)" in out
    assert main(["sources", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["quota:claude-oauth"]["status"] == "ok" and rows["quota:claude-oauth"]["last_sample"]
    _no_secret(out)


def test_no_call_while_the_logs_are_fresh(creds, srv):
    from tokentui.core.quotas import Observation
    from tokentui.store.db import transaction

    _opt_in(openai=True)
    srv.route("/backend-api/wham/usage", Reply(200, _body("chatgpt-wham-usage-pro.json")))
    conn = connect(paths.history_db())
    with transaction(conn):
        store.upsert(conn, [Observation("codex-log", "openai", "x", "codex", "five_hour", 18000, 9.0, 1795440681,
                                        "absolute", T_0900 - 60_000)], "dev")
    assert svc.poll_oauth(conn, load_settings(), now=T_0900) == [
        ("codex-oauth", "skipped", "fresh from the logs or the status line")]
    assert srv.requests == []
