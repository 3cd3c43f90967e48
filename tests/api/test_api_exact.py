"""Issue 14 (provider APIs): numbers that must be exact on the providers' real answers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.api import fakes
from tests.api.server import Reply
from tokentui.services.poll import poll_all
from tokentui.store import ledger

KEY_ENV = {"openai": ("OPENAI_ADMIN_KEY", fakes.OPENAI_KEY), "anthropic": ("ANTHROPIC_ADMIN_KEY", fakes.ANTHROPIC_KEY),
           "openrouter": ("OPENROUTER_API_KEY", fakes.OPENROUTER_MGMT_KEY)}


@pytest.fixture
def keys(monkeypatch, urls):
    for env, key in KEY_ENV.values():
        monkeypatch.setenv(env, key)


def poll(store, settings, fast, source, now=fakes.NOW):
    [res] = poll_all(store, settings, only=(source,), now=now, retry=fast)
    return res


# --- item 9: a 200 that is not the documented shape is an error, never an empty success -----

ENVELOPES = [
    {"error": {"type": "api_error", "message": "Internal server error"}},
    {"error": "something went wrong"},
    {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
    {"object": "page", "has_more": False},  # no data list at all
    {"unexpected": True},
]
FIRST_LISTING = {"openai": "/v1/organization/usage/completions", "anthropic": "/v1/organizations/usage_report/messages"}


@pytest.mark.parametrize("source", sorted(FIRST_LISTING))
@pytest.mark.parametrize("body", ENVELOPES)
def test_error_envelope_with_200_is_an_error_and_covers_nothing(server, store, settings, fast, keys, source, body):
    server.route(FIRST_LISTING[source], Reply(200, body))
    res = poll(store, settings, fast, source)
    assert res.status == "error", res.message
    assert ledger.sync_states(store, source).get("covered_from") is None
    assert store.execute("SELECT COUNT(*) FROM ledger WHERE source = ?", (source,)).fetchone()[0] == 0
    # the next poll, answered properly, still backfills the whole window
    del server.routes[FIRST_LISTING[source]]
    fakes.install(server)
    res = poll(store, settings, fast, source, now=fakes.NOW + timedelta(hours=1))
    assert res.status == "ok", res.message
    assert ledger.sync_states(store, source)["covered_from"] == (fakes.NOW.date() - timedelta(days=89)).isoformat()


@pytest.mark.parametrize("body", ENVELOPES)
def test_openrouter_activity_error_envelope_is_an_error(server, store, settings, fast, keys, body):
    server.route("/api/v1/activity", Reply(200, body))
    res = poll(store, settings, fast, "openrouter")
    assert res.status == "error", res.message
    assert store.execute("SELECT COUNT(*) FROM ledger WHERE source = 'openrouter'").fetchone()[0] == 0


def test_error_envelope_names_the_providers_message(server, store, settings, fast, keys):
    server.route(FIRST_LISTING["anthropic"], Reply(200, ENVELOPES[2]))
    res = poll(store, settings, fast, "anthropic")
    assert res.status == "error" and "Overloaded" in res.message


@pytest.mark.parametrize("source", sorted(FIRST_LISTING))
def test_redirect_with_json_body_covers_nothing(server, store, settings, fast, keys, source):
    server.route(FIRST_LISTING[source], Reply(302, fakes.LAST_PAGE, headers={"Location": "http://127.0.0.1:9/x"}))
    res = poll(store, settings, fast, source)
    assert res.status == "error" and "redirected" in res.message
    assert ledger.sync_states(store, source).get("covered_from") is None
