"""The poll service: every source at once, isolation of failures, windows, no overlap, no
key in any file written, base URL rules."""

from __future__ import annotations

import asyncio
import fcntl
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest

from tests.api import fakes
from tests.api.server import Reply, fixture
from tokentui import paths
from tokentui.config import load_settings
from tokentui.services.poll import poll_all
from tokentui.sources.api.base import day_ts

KEY_ENV = {"OPENAI_ADMIN_KEY": fakes.OPENAI_KEY, "ANTHROPIC_ADMIN_KEY": fakes.ANTHROPIC_KEY,
           "OPENROUTER_API_KEY": fakes.OPENROUTER_KEY, "DEEPSEEK_API_KEY": fakes.DEEPSEEK_KEY,
           "MOONSHOT_API_KEY": fakes.MOONSHOT_KEY}


@pytest.fixture
def all_keys(monkeypatch, urls):
    for k, v in KEY_ENV.items():
        monkeypatch.setenv(k, v)


def by_source(results):
    return {r.source: r for r in results}


def ledger_snapshot(store, source):
    return store.execute("SELECT key, input, output, cache_read, cost_pico, cost_label FROM ledger WHERE source = ? "
                         "ORDER BY key", (source,)).fetchall()


def test_every_source_polled(store, settings, fast, all_keys):
    res = by_source(poll_all(store, settings, now=fakes.NOW, retry=fast))
    assert {s: r.status for s, r in res.items()} == dict.fromkeys(
        ("openai", "anthropic", "openrouter", "deepseek", "moonshot"), "ok")
    stored = dict(store.execute("SELECT source, status FROM source_status"))
    assert stored == {s: "ok" for s in res}
    assert res["openai"].records == store.execute(
        "SELECT COUNT(*) FROM ledger WHERE source = 'openai'").fetchone()[0]


def test_malformed_source_fails_alone_and_history_survives(server, store, settings, fast, all_keys):
    poll_all(store, settings, now=fakes.NOW, retry=fast)
    before = {s: ledger_snapshot(store, s) for s in ("openai", "anthropic", "openrouter")}
    data = fixture("openai_usage_completions_page1.json")
    server.route("/v1/organization/usage/completions", Reply(200, data[: len(data) // 3]))
    res = by_source(poll_all(store, settings, now=fakes.NOW + timedelta(hours=1), retry=fast))
    assert res["openai"].status == "error"
    assert "OpenAI sent a body that is not valid JSON" in res["openai"].message
    assert all(res[s].status == "ok" for s in ("anthropic", "openrouter", "deepseek", "moonshot"))
    assert {s: ledger_snapshot(store, s) for s in before} == before  # nothing lost, nothing half-written
    status = store.execute("SELECT status, message, last_ok_ms FROM source_status WHERE source='openai'").fetchone()
    assert status[0] == "error" and "not valid JSON" in status[1] and status[2] is not None


def test_error_late_in_a_source_writes_nothing_of_it(server, store, settings, fast, urls, monkeypatch):
    monkeypatch.setenv("OPENAI_ADMIN_KEY", fakes.OPENAI_KEY)
    server.route("/v1/organization/costs", Reply(500, "boom"))  # after every usage endpoint succeeded
    [res] = poll_all(store, settings, only=("openai",), now=fakes.NOW, retry=fast)
    assert res.status == "error" and "server error (HTTP 500" in res.message
    assert store.execute("SELECT COUNT(*) FROM ledger").fetchone()[0] == 0
    assert store.execute("SELECT COUNT(*) FROM sync_state WHERE source='openai'").fetchone()[0] == 0


def test_rate_limit_inside_a_poll_is_waited_out(server, store, settings, fast, sleeps, urls, monkeypatch):
    monkeypatch.setenv("DEEPSEEK_API_KEY", fakes.DEEPSEEK_KEY)
    server.route("/user/balance", [Reply(429, {}, retry_after="4"), Reply(200, fixture("deepseek_user_balance.json"))])
    [res] = poll_all(store, settings, only=("deepseek",), now=fakes.NOW, retry=fast)
    assert res.status == "ok" and res.requests == 2 and sleeps == [4.0]


def test_timeout_marks_error_in_plain_words(server, store, settings, sleeps, urls, monkeypatch):
    from tokentui.sources.api.http import RetryPolicy

    async def sleep(s):
        sleeps.append(s)
    monkeypatch.setenv("DEEPSEEK_API_KEY", fakes.DEEPSEEK_KEY)
    server.route("/user/balance", Reply(200, fixture("deepseek_user_balance.json"), delay=1.0))
    [res] = poll_all(store, settings, only=("deepseek",), now=fakes.NOW,
                     retry=RetryPolicy(attempts=2, timeout=0.2, sleep=sleep))
    assert res.status == "error" and "DeepSeek did not answer within 0.2 s" in res.message


def test_no_keys_means_not_configured(store, settings, fast, urls):
    res = poll_all(store, settings, now=fakes.NOW, retry=fast)
    assert {r.status for r in res} == {"not configured"}
    assert by_source(res)["openai"].message == "no key: set OPENAI_ADMIN_KEY or run `tokentop keys add openai`"
    assert store.execute("SELECT status FROM source_status WHERE source='anthropic'").fetchone() == ("not configured",)


def test_keyring_key_is_used(server, store, settings, fast, urls, memkeyring):
    memkeyring.set_password("tokentop", "deepseek", fakes.DEEPSEEK_KEY)
    [res] = poll_all(store, settings, only=("deepseek",), now=fakes.NOW, retry=fast)
    assert res.status == "ok"
    assert server.hits("/user/balance")[0].headers["authorization"] == f"Bearer {fakes.DEEPSEEK_KEY}"


def test_no_key_string_in_any_written_file(server, store, settings, fast, all_keys, memkeyring, monkeypatch):
    memkeyring.set_password("tokentop", "openai", fakes.OPENAI_PROJECT_KEY)  # shadowed by the env var
    poll_all(store, settings, now=fakes.NOW, retry=fast)
    # providers that echo the key back, in an error and in a body, must not get it stored
    server.route("/user/balance", Reply(400, {"error": {"message": f"bad key {fakes.DEEPSEEK_KEY}"}}))
    body = fixture("openrouter_key.json").replace(b'"label": "sk-or-v1-au7...890"',
                                                  f'"label": "{fakes.OPENROUTER_KEY}"'.encode())
    server.route("/api/v1/key", Reply(200, body))
    monkeypatch.setenv("OPENAI_ADMIN_KEY", fakes.OPENAI_PROJECT_KEY)
    res = by_source(poll_all(store, settings, now=fakes.NOW + timedelta(days=1), retry=fast))
    assert res["deepseek"].status == "error" and "…" in res["deepseek"].message
    store.execute("PRAGMA wal_checkpoint(FULL)")
    roots = [paths.data_dir(), paths.config_dir()]
    files = [p for root in roots if root.exists() for p in root.rglob("*") if p.is_file()]
    assert any(p.name == "history.db" for p in files)
    for p in files:
        data = p.read_bytes()
        for key in fakes.ALL_KEYS:
            assert key.encode() not in data, f"{key[:10]}… found in {p}"


def test_env_base_url_must_be_https_or_loopback(server, store, settings, fast, monkeypatch):
    monkeypatch.setenv("OPENAI_ADMIN_KEY", fakes.OPENAI_KEY)
    monkeypatch.setenv("TOKENTOP_OPENAI_BASE_URL", "http://usage-gateway.example/v1")
    [res] = poll_all(store, settings, only=("openai",), now=fakes.NOW, retry=fast)
    assert res.status == "error"
    assert "TOKENTOP_OPENAI_BASE_URL: plain http is only allowed on loopback" in res.message
    assert server.requests == []


def test_config_base_url_and_backfill_days(server, store, fast, monkeypatch):
    monkeypatch.setenv("DEEPSEEK_API_KEY", fakes.DEEPSEEK_KEY)
    monkeypatch.setenv("OPENAI_ADMIN_KEY", fakes.OPENAI_KEY)
    cfg = paths.config_file()
    paths.ensure_dir(cfg.parent)
    cfg.write_text(f'[sources.openai]\nbase_url = "{server.url}/v1"\nbackfill_days = 10\n'
                   f'[sources.deepseek]\nbase_url = "{server.url}"\n[sources.moonshot]\nenabled = false\n')
    settings = load_settings()
    res = by_source(poll_all(store, settings, now=fakes.NOW, retry=fast))
    assert "moonshot" not in res and res["openai"].status == "ok" and res["deepseek"].status == "ok"
    q = server.hits("/v1/organization/usage/completions")[0]
    assert q.q("start_time") == str(day_ts(fakes.NOW.date() - timedelta(days=9))) and q.q("limit") == "10"
    # raising backfill_days later fetches the older days once
    cfg.write_text(f'[sources.openai]\nbase_url = "{server.url}/v1"\nbackfill_days = 40\n')
    server.requests.clear()
    poll_all(store, load_settings(), only=("openai",), now=fakes.NOW, retry=fast)
    q = server.hits("/v1/organization/usage/completions")[0]
    assert q.q("start_time") == str(day_ts(fakes.NOW.date() - timedelta(days=39))) and q.q("limit") == "31"


def test_gap_since_last_poll_is_refetched(server, store, settings, fast, urls, monkeypatch):
    monkeypatch.setenv("OPENAI_ADMIN_KEY", fakes.OPENAI_KEY)
    poll_all(store, settings, only=("openai",), now=fakes.NOW, retry=fast)
    server.requests.clear()
    later = fakes.NOW + timedelta(days=10)
    poll_all(store, settings, only=("openai",), now=later, retry=fast)
    q = server.hits("/v1/organization/usage/completions")[0]
    assert q.q("start_time") == str(day_ts(fakes.NOW.date() - timedelta(days=2)))


def test_polls_never_overlap(server, store, settings, fast, urls, monkeypatch):
    monkeypatch.setenv("DEEPSEEK_API_KEY", fakes.DEEPSEEK_KEY)
    server.route("/user/balance", [Reply(200, fixture("deepseek_user_balance.json"), delay=0.4),
                                   Reply(200, fixture("deepseek_user_balance.json"))])
    first: list = []
    t = threading.Thread(target=lambda: first.extend(
        poll_all(store, settings, only=("deepseek",), now=fakes.NOW, retry=fast)))
    t.start()
    deadline = time.monotonic() + 5
    while not server.hits("/user/balance") and time.monotonic() < deadline:
        time.sleep(0.01)
    [second] = poll_all(store, settings, only=("deepseek",), now=fakes.NOW, retry=fast)
    t.join()
    assert second.status == "skipped" and first[0].status == "ok"
    assert len(server.hits("/user/balance")) == 1
    [third] = poll_all(store, settings, only=("deepseek",), now=fakes.NOW, retry=fast)
    assert third.status == "ok"


def test_another_process_holding_the_lock_skips(store, settings, fast, urls, monkeypatch):
    monkeypatch.setenv("DEEPSEEK_API_KEY", fakes.DEEPSEEK_KEY)
    with open(f"{paths.history_db()}.poll.lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        [res] = poll_all(store, settings, only=("deepseek",), now=fakes.NOW, retry=fast)
    assert res.status == "skipped"
    [res] = poll_all(store, settings, only=("deepseek",), now=fakes.NOW, retry=fast)
    assert res.status == "ok"


async def test_poll_all_from_inside_an_event_loop(store, settings, fast, urls, monkeypatch):
    monkeypatch.setenv("DEEPSEEK_API_KEY", fakes.DEEPSEEK_KEY)
    await asyncio.sleep(0)
    [res] = poll_all(store, settings, only=("deepseek",), now=fakes.NOW, retry=fast)
    assert res.status == "ok"


def test_layers_stay_clean():
    code = ("import sys, tokentui.sources.api, tokentui.services.poll, tokentui.core.overlap, tokentui.cli.keys; "
            "bad = [m for m in ('textual', 'rich') if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
    code = "import sys, tokentui.cli.keys; assert 'httpx' not in sys.modules and 'keyring' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
