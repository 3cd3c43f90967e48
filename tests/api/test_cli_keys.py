"""`tokentop keys add|list|remove|test` in-process, on the in-memory keyring."""

from __future__ import annotations

import io
import json

import pytest

from tests.api import fakes
from tests.api.server import Reply
from tokentui.cli import main


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_add_reads_stdin_when_not_a_tty(capsys, monkeypatch, memkeyring):
    monkeypatch.setattr("sys.stdin", io.StringIO(fakes.OPENAI_KEY + "\n"))
    code, out, err = run(capsys, "keys", "add", "openai")
    assert code == 0
    assert memkeyring.get_password("tokentop", "openai") == fakes.OPENAI_KEY
    assert f"stored the openai key …{fakes.OPENAI_KEY[-4:]} in the OS keyring" in out
    assert fakes.OPENAI_KEY not in out + err


def test_add_prompts_without_echo_on_a_tty(capsys, monkeypatch, memkeyring):
    prompts = []
    monkeypatch.setattr("sys.stdin", Tty())
    monkeypatch.setattr("getpass.getpass", lambda prompt: prompts.append(prompt) or fakes.OPENAI_PROJECT_KEY)
    code, out, err = run(capsys, "keys", "add", "openai")
    assert code == 0 and prompts == ["openai key (input hidden): "]
    assert "does not look like an OpenAI admin key" in err


def test_add_empty_is_an_error(capsys, monkeypatch, memkeyring):
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    code, out, err = run(capsys, "keys", "add", "anthropic")
    assert code == 1 and "no key given" in err and memkeyring.store == {}


def test_list_shows_origin_and_only_a_tail(capsys, monkeypatch, memkeyring):
    memkeyring.set_password("tokentop", "anthropic", fakes.ANTHROPIC_KEY)
    monkeypatch.setenv("OPENROUTER_API_KEY", fakes.OPENROUTER_KEY)
    code, out, _ = run(capsys, "keys", "list")
    assert code == 0
    lines = {line.split()[0]: line for line in out.splitlines()}
    assert "keyring" in lines["anthropic"] and lines["anthropic"].endswith(f"…{fakes.ANTHROPIC_KEY[-4:]}")
    assert "env OPENROUTER_API_KEY" in lines["openrouter"]
    assert lines["openai"].endswith("no key")
    for key in fakes.ALL_KEYS:
        assert key not in out and key[:-4] not in out
    code, out, _ = run(capsys, "keys", "list", "--json")
    rows = {r["source"]: r for r in json.loads(out)}
    assert rows["anthropic"]["origin"] == "keyring" and rows["deepseek"]["origin"] == "none"


def test_remove(capsys, monkeypatch, memkeyring):
    memkeyring.set_password("tokentop", "deepseek", fakes.DEEPSEEK_KEY)
    monkeypatch.setenv("DEEPSEEK_API_KEY", fakes.DEEPSEEK_KEY)
    code, out, _ = run(capsys, "keys", "remove", "deepseek")
    assert code == 0 and "removed the deepseek key" in out and "DEEPSEEK_API_KEY is still set" in out
    assert memkeyring.store == {}
    code, out, _ = run(capsys, "keys", "remove", "deepseek")
    assert code == 0 and "no deepseek key was stored" in out


def test_test_success_makes_one_call(server, urls, capsys, memkeyring):
    memkeyring.set_password("tokentop", "openai", fakes.OPENAI_KEY)
    code, out, _ = run(capsys, "keys", "test", "openai")
    assert code == 0, out
    assert out.startswith(f"ok: OpenAI key …{fakes.OPENAI_KEY[-4:]} from keyring: the key can read organization usage")
    assert len(server.requests) == 1 and server.requests[0].q("limit") == "1"


def test_test_explains_a_project_key(server, urls, capsys, monkeypatch):
    monkeypatch.setenv("OPENAI_ADMIN_KEY", fakes.OPENAI_PROJECT_KEY)
    code, out, _ = run(capsys, "keys", "test", "openai")
    assert code == 1
    assert "failed: this is a project key; usage needs an admin key with api.usage.read" in out
    assert "https://platform.openai.com/settings/organization/admin-keys" in out
    assert fakes.OPENAI_PROJECT_KEY not in out and len(server.requests) == 1


@pytest.mark.parametrize("source,env,key,needle", [
    ("anthropic", "ANTHROPIC_ADMIN_KEY", fakes.ANTHROPIC_KEY, "the admin key can read usage and cost reports"),
    ("anthropic", "ANTHROPIC_ADMIN_KEY", fakes.ANTHROPIC_API_KEY, "this is not an admin key"),
    ("openrouter", "OPENROUTER_API_KEY", fakes.OPENROUTER_KEY, "per-model daily history needs a management key"),
    ("openrouter", "OPENROUTER_API_KEY", fakes.OPENROUTER_MGMT_KEY, "it is a management key"),
    ("deepseek", "DEEPSEEK_API_KEY", fakes.DEEPSEEK_KEY, "balance CNY 110.00"),
    ("moonshot", "MOONSHOT_API_KEY", fakes.MOONSHOT_KEY, "balance USD 49.59"),
])
def test_test_each_source(server, urls, capsys, monkeypatch, source, env, key, needle):
    monkeypatch.setenv(env, key)
    code, out, _ = run(capsys, "keys", "test", source)
    assert needle in out and (code == 0) == out.startswith("ok:")
    assert len(server.requests) == 1


def test_test_does_not_retry_a_rate_limit(server, urls, capsys, monkeypatch):
    monkeypatch.setenv("DEEPSEEK_API_KEY", fakes.DEEPSEEK_KEY)
    server.route("/user/balance", Reply(429, {}, retry_after="1"))
    code, out, _ = run(capsys, "keys", "test", "deepseek")
    assert code == 1 and "rate limiting" in out and len(server.requests) == 1


def test_test_without_key(capsys):
    code, out, _ = run(capsys, "keys", "test", "moonshot")
    assert code == 1 and "set MOONSHOT_API_KEY or run `tokentop keys add moonshot`" in out


def test_test_refuses_plain_http_to_a_remote_host(capsys, monkeypatch):
    monkeypatch.setenv("OPENAI_ADMIN_KEY", fakes.OPENAI_KEY)
    monkeypatch.setenv("TOKENTOP_OPENAI_BASE_URL", "http://10.0.0.5/v1")
    code, _, err = run(capsys, "keys", "test", "openai")
    assert code == 2 and "plain http is only allowed on loopback" in err
