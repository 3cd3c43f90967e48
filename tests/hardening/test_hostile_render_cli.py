"""Hostile text on the command line (issue 15, item 1): model names, session ids, project and
path names, a team name, budget scopes, a provider's error message and balance currency full
of terminal escape sequences (OSC, CSI, C1, C0, DEL). No command may write a control
character other than newline to stdout or stderr; what is not a control character still shows,
and JSON keeps the data exact."""

from __future__ import annotations

import json

import pytest

from tests.api import fakes
from tests.api.server import ProviderServer
from tests.hardening import hostile_text as H
from tests.hardening.helpers import env_for, tokentop


@pytest.fixture
def hostile(tmp_path, monkeypatch):
    server = fakes.install(ProviderServer()).start()
    H.serve_hostile(server)
    planted = H.plant(tmp_path / "planted")
    config = tmp_path / "config" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(H.config_toml(planted["root"], planted["team"]), encoding="utf-8")
    urls = fakes.base_urls(server)
    env = env_for(OPENAI_ADMIN_KEY=fakes.OPENAI_KEY, TOKENTOP_OPENAI_BASE_URL=urls["openai"],
                  DEEPSEEK_API_KEY=fakes.DEEPSEEK_KEY, TOKENTOP_DEEPSEEK_BASE_URL=urls["deepseek"],
                  MOONSHOT_API_KEY="sk-TESTmoonshot0123456789\x1b[2J",  # its tail is shown
                  COLUMNS="120")
    yield {"env": env, "tmp": tmp_path, **planted}
    server.stop()


def _check(runs: list[tuple[tuple[str, ...], object]]) -> list[str]:
    bad = []
    for args, p in runs:
        for name, text in (("stdout", p.stdout), ("stderr", p.stderr)):
            found = H.control_chars(text)
            if found:
                bad.append(f"`tokentop {' '.join(map(repr, args))}` {name} has {found!r}")
        if p.returncode == 70 or "Traceback" in p.stderr:
            bad.append(f"`tokentop {' '.join(map(repr, args))}` crashed: {p.stderr[-300:]}")
    return bad


def test_no_command_writes_a_control_character(hostile):
    env, tmp = hostile["env"], hostile["tmp"]
    snap = tmp / f"snap{H.OSC_TITLE}[beta.md"
    commands = [
        ("sync",),
        ("report", "daily", "--breakdown", "--no-sync"),
        ("report", "monthly", "-b", "--no-sync"),
        ("report", "session", "--no-sync"),
        ("report", "daily", "--json", "--no-sync"),
        ("report", "daily", "--no-sync", "--model", H.MODELS["osc"]),
        ("sources",),
        ("sources", "--json"),
        ("budget", "list"),
        ("budget", "list", "--json"),
        ("budget", "check", "--no-sync"),
        ("budget", "remove", f"no{H.OSC_TITLE}such"),
        ("leverage", "--no-sync"),
        ("leverage", "--json", "--no-sync"),
        ("team", "use", str(hostile["team"])),
        ("keys", "list"),
        ("keys", "test", "openai"),
        ("export", "--no-sync", "-o", str(snap)),
        ("verify", str(snap)),
        ("export", "--no-sync", "--format", "csv", "-o", "-"),
        ("export", "--no-sync", "--format", "json", "-o", "-"),
        ("report", "daily", "--no-sync", f"extra{H.OSC_TITLE}"),  # argparse echoes what it did not understand
        ("--theme", str(hostile["themes"] / H.THEME_FILE)),
    ]
    runs = [(args, tokentop(*args, env=env)) for args in commands]
    out = {args: p for args, p in runs}
    assert not _check(runs), "\n".join(_check(runs))

    # what is not a control character still shows, literally (no markup is interpreted here)
    breakdown = out[("report", "daily", "--breakdown", "--no-sync")].stdout
    for name in ("unclosed", "group", "bold", "click"):
        assert H.VISIBLE[name] in breakdown, (name, breakdown)
    assert "line1\nline2" not in breakdown  # a one-line field never breaks its line
    sources = out[("sources",)].stdout
    assert "group_by[" in sources and "[@click=app.quit]quit-err" in sources and "my-model [beta" in sources
    assert "[beta" in out[("leverage", "--no-sync")].stdout
    assert out[("keys", "test", "openai")].returncode == 1 and "group_by[" in out[("keys", "test", "openai")].stdout
    # the command did what it was asked to
    assert out[("sync",)].returncode == 1  # the OpenAI source failed, and said why
    assert out[("verify", str(snap))].returncode == 0
    assert out[("team", "use", str(hostile["team"]))].returncode == 0
    assert out[("--theme", str(hostile["themes"] / H.THEME_FILE))].returncode == 2
    # JSON escapes control characters itself and keeps every name exact
    data = json.loads(out[("report", "daily", "--json", "--no-sync")].stdout)
    models = {m for row in data["daily"] for m in row["modelsUsed"]}
    assert set(H.MODELS.values()) <= models
    statuses = {s["name"]: s for s in json.loads(out[("sources", "--json")].stdout)}
    assert H.PROVIDER_ERROR in statuses["openai"]["message"]
    # a document piped out is escaped the way JSON and TOML escape: still the same data
    for fmt in ("json", "csv"):
        piped = tmp / f"piped.{fmt}"
        piped.write_text(out[("export", "--no-sync", "--format", fmt, "-o", "-")].stdout, encoding="utf-8")
        check = tokentop("verify", str(piped), env=env)
        if fmt == "csv":  # plain rows: verify needs the data file an export to a file writes beside them
            assert check.returncode == 1 and "piped.csv.verify.json" in check.stderr, check.stderr
            assert "verify.json" in out[("export", "--no-sync", "--format", fmt, "-o", "-")].stderr
            continue
        assert check.returncode == 0, (fmt, check.stdout, check.stderr)


def test_the_filter_lets_only_tokentop_own_progress_bar_draw(monkeypatch):
    """The stream filter is the boundary: outside text written to stderr is escaped, while
    the progress bar (tokentop's own words and numbers) still redraws its line with \\r."""
    import io
    import sys

    from tokentui.cli import common as cli

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    term = Terminal()
    monkeypatch.setattr(sys, "stderr", cli.PrintableStream.wrap(term))
    bar = cli.ProgressBar("reading agent logs", 16 << 20)
    bar(16 << 20, 32 << 20)
    bar.close()
    print(f"model {H.MODELS['osc']}", file=sys.stderr)
    assert term.getvalue().startswith("\rreading agent logs [###############...............]  50% 17/34 MB\n")
    assert term.getvalue().endswith("model osc\\u001b]0;pwned\\u0007title\n")


def test_a_hostile_folder_from_codex_and_copilot_logs_is_text(isolated, tmp_path):
    """A session's folder (Codex session_meta cwd, Copilot context.cwd) becomes its project:
    the project tables, the session table and a snapshot with projects write no control
    character, and what is not one still shows."""
    from datetime import datetime, timezone

    cwd = f"/home/u/evil{H.OSC_TITLE}[@click=app.quit]\x9b2J"
    ts = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    rollout = tmp_path / "codex" / "sessions" / "2026" / "11" / "20" / "rollout-x.jsonl"
    rollout.parent.mkdir(parents=True)
    usage = {"input_tokens": 1000, "cached_input_tokens": 0, "output_tokens": 10, "reasoning_output_tokens": 0,
             "total_tokens": 1010}
    rollout.write_text("\n".join(json.dumps(x) for x in (
        {"timestamp": ts, "type": "session_meta", "payload": {"id": "s1", "cwd": cwd}},
        {"timestamp": ts, "type": "turn_context", "payload": {"cwd": cwd, "model": "gpt-5"}},
        {"timestamp": ts, "type": "event_msg", "payload": {"type": "token_count", "info": {
            "total_token_usage": usage, "last_token_usage": usage}}})) + "\n", encoding="utf-8")
    journal = tmp_path / "copilot" / "session-state" / "c1" / "events.jsonl"
    journal.parent.mkdir(parents=True)
    journal.write_text("\n".join(json.dumps(x) for x in (
        {"type": "session.start", "data": {"sessionId": "c1", "context": {"cwd": cwd + "2"}}, "id": "e0",
         "timestamp": ts},
        {"type": "session.shutdown", "data": {"modelMetrics": {"gpt-5": {"usage": {
            "inputTokens": 500, "outputTokens": 5, "cacheReadTokens": 0, "cacheWriteTokens": 0}}}},
         "id": "e1", "timestamp": ts})) + "\n", encoding="utf-8")
    env = env_for(CODEX_HOME=str(tmp_path / "codex"), COPILOT_HOME=str(tmp_path / "copilot"),
                  CLAUDE_CONFIG_DIR=str(tmp_path / "none"))
    commands = [("sync", "-q"), ("report", "project", "--no-sync"), ("report", "session", "--no-sync"),
                ("report", "project", "--json", "--no-sync"),
                ("export", "--no-sync", "--include-projects", "-o", "-")]
    runs = [(args, tokentop(*args, env=env)) for args in commands]
    assert not _check(runs), "\n".join(_check(runs))
    out = {args[:2] + args[2:3]: p.stdout for args, p in runs}
    assert "[@click=app.quit]" in out[("report", "project", "--no-sync")]  # shown literally
    data = json.loads(out[("report", "project", "--json")])
    assert cwd in data["projects"] and cwd + "2" in data["projects"]  # JSON keeps the data exact
