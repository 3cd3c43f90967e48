"""Keys: env first, then the keyring; redaction; no-backend message; base URL rule."""

from __future__ import annotations

import keyring
import pytest
from keyring.backends import fail

from tokentui import credentials
from tokentui.errors import CredentialError


def test_keyring_round_trip(memkeyring) -> None:
    assert credentials.get_key("openai") == (None, "none")
    credentials.set_key("openai", "sk-admin-abcdefghijkl1234")
    assert memkeyring.store[("tokentop", "openai")] == "sk-admin-abcdefghijkl1234"
    assert credentials.get_key("openai") == ("sk-admin-abcdefghijkl1234", "keyring")
    assert credentials.delete_key("openai") is True
    assert credentials.delete_key("openai") is False
    assert credentials.get_key("openai") == (None, "none")


def test_env_var_wins_over_keyring(memkeyring, monkeypatch) -> None:
    credentials.set_key("anthropic", "sk-ant-admin01-fromkeyring")
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", "sk-ant-admin01-fromenv0000")
    assert credentials.get_key("anthropic") == ("sk-ant-admin01-fromenv0000", "env")


def test_redaction_shows_only_a_short_tail() -> None:
    assert credentials.redact("sk-admin-abcdefghijkl1234") == "…1234"
    assert credentials.redact("short") == "…"
    assert credentials.redact(None) == ""


def test_rejects_bad_keys_and_sources(memkeyring) -> None:
    with pytest.raises(CredentialError, match="empty"):
        credentials.set_key("openai", "   ")
    with pytest.raises(CredentialError, match="whitespace"):
        credentials.set_key("openai", "sk-admin a")
    with pytest.raises(CredentialError, match="unknown key source"):
        credentials.get_key("nope")


def test_no_keyring_backend_explains_env_vars() -> None:
    keyring.set_keyring(fail.Keyring())
    assert credentials.get_key("openai") == (None, "none")  # not fatal when reading
    with pytest.raises(CredentialError) as err:
        credentials.set_key("openai", "sk-admin-x1234567890")
    assert "no working OS keyring backend" in err.value.message
    assert "OPENAI_ADMIN_KEY" in err.value.hint


@pytest.mark.parametrize("url, ok", [
    ("https://api.openai.com/v1", True), ("http://127.0.0.1:8123/v1", True), ("http://localhost:9/v1", True),
    ("http://[::1]:9/v1", True), ("http://10.0.0.5/v1", False), ("http://example.com/v1", False),
    ("ftp://example.com", False), ("not a url", False),
])
def test_base_url_https_except_loopback(url: str, ok: bool) -> None:
    assert (credentials.check_base_url(url) is None) is ok


def test_a_source_known_to_have_no_key_is_not_looked_up_again(memkeyring, monkeypatch) -> None:
    counting = type("Counter", (), {"lookups": 0})()
    real = memkeyring.get_password

    def get_password(service, username):
        counting.lookups += 1
        return real(service, username)

    monkeypatch.setattr(memkeyring, "get_password", get_password)
    assert credentials.get_key("openai") == (None, "none")
    assert counting.lookups == 1 and credentials.keyring_index()["openai"] is False
    assert credentials.get_key("openai") == (None, "none") and counting.lookups == 1  # the index answered
    assert not credentials.has_key("openai")
    memkeyring.set_password("tokentop", "openai", "sk-admin-setbyanothertool1")  # behind tokentop's back
    assert credentials.get_key("openai") == (None, "none")
    info = credentials.key_info("openai", refresh=True)  # `tokentop keys list` asks the keyring itself
    assert info.origin == "keyring" and counting.lookups == 2
    assert credentials.get_key("openai")[0] == "sk-admin-setbyanothertool1" and credentials.has_key("openai")


def test_set_and_delete_keep_the_index_true(memkeyring) -> None:
    assert credentials.get_key("anthropic") == (None, "none")
    credentials.set_key("anthropic", "sk-ant-admin01-abcdefgh")
    assert credentials.keyring_index()["anthropic"] is True
    assert credentials.get_key("anthropic") == ("sk-ant-admin01-abcdefgh", "keyring")
    credentials.delete_key("anthropic")
    assert credentials.keyring_index()["anthropic"] is False and not credentials.has_key("anthropic")


def test_a_damaged_index_only_means_asking_the_keyring(memkeyring, isolated) -> None:
    credentials.set_key("openai", "sk-admin-abcdefghijkl1234")
    (isolated / "data" / "keyring-index.json").write_text('{"openai": fals')
    assert credentials.keyring_index() == {}
    assert credentials.get_key("openai") == ("sk-admin-abcdefghijkl1234", "keyring")
    assert credentials.keyring_index() == {"openai": True}
