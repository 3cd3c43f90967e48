"""Hostile text for the render attacks: names and messages carrying terminal escape sequences
and Rich/Textual markup, planted where tokentop reads them (agent logs, config, a team file,
a theme file, a provider's error and balance answers)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

#: a character no terminal output of tokentop may carry: C0 but newline, DEL, C1 (and lone
#: surrogates, which cannot even be encoded)
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff]")

OSC_TITLE = "\x1b]0;pwned\x07"
#: model names from an agent's log: escape sequences (OSC, CSI, C1, C0 and DEL) and markup
MODELS = {
    "osc": f"osc{OSC_TITLE}title",
    "csi": "csi\x1b[2J\x1b[31mred",
    "c1": "c1\x9b31m\x9d0;t\x9cx",
    "c0": "c0\x08bs\rcr\ttab\x7fdel\x05enq",
    "newline": "line1\nline2",
    "unclosed": "my-model [beta",
    "group": "group_by[",
    "bold": "[bold]bold[/bold]",
    "click": "[@click=app.quit]quit-me",
    "link": "[link=https://evil.example]clickbait[/link]",
    "backslash": "trailing\\",
}
#: the literal text each shows once control characters are escaped (markup stays literal)
VISIBLE = {"unclosed": "my-model [beta", "group": "group_by[", "bold": "[bold]bold[/bold]",
           "click": "[@click=app.quit]quit-me", "link": "[link=https://evil.example]clickbait[/link]"}
SESSION = f"sess{OSC_TITLE}[bold]"
PROJECT = f"-home-u-proj[@click=app.quit]{OSC_TITLE}"
ROOT = f"claude{OSC_TITLE} [beta"
TEAM = f"team [beta {OSC_TITLE}[@click=app.quit]quit-team"
#: a provider's error message (OpenAI) and a balance's currency (DeepSeek)
PROVIDER_ERROR = (f"Invalid value for group_by[: '[@click=app.quit]quit-err' {OSC_TITLE}\x9b2J "
                  "my-model [beta [bold]x")
CURRENCY = f"c\x1b[31m{OSC_TITLE}[b"
THEME_FILE = f"[@click=app.quit]quit-theme{OSC_TITLE} [beta.toml"
#: tokens per model: distinct, the dangerous ones largest (the dashboard lists the top ones)
TOKENS = {name: 90_000 - 5_000 * i for i, name in enumerate(
    ("unclosed", "click", "osc", "group", "bold", "csi", "c1", "c0", "link", "newline", "backslash"))}


def _claude_line(model: str, n: int, ts: datetime, i: int) -> str:
    return json.dumps({
        "type": "assistant", "sessionId": "ignored-the-file-name-is-the-session", "version": "2.1.37",
        "timestamp": ts.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "requestId": f"req_hostile_{i}",
        "isSidechain": False, "cwd": "/home/u/proj",
        "message": {"id": f"msg_hostile_{i}", "model": model, "usage": {
            "input_tokens": n // 2, "output_tokens": n // 4, "cache_read_input_tokens": n // 8,
            "cache_creation_input_tokens": 0}},
    }, separators=(",", ":"))  # compact, as Claude Code writes it


def plant(base: Path, team_file: Path | None = None, now: datetime | None = None) -> dict[str, Path]:
    """Write hostile agent logs under ``base`` (a Claude root named with escapes and
    markup), a team file and a broken theme file, and return their paths."""
    now = now or datetime.now(timezone.utc)
    root = base / ROOT
    session = root / "projects" / PROJECT / f"{SESSION}.jsonl"
    session.parent.mkdir(parents=True)
    lines = [_claude_line(model, TOKENS[name], now - timedelta(minutes=2 + i), i)
             for i, (name, model) in enumerate(MODELS.items())]
    session.write_text("\n".join(lines) + "\n", encoding="utf-8")
    team = team_file or base / "team.toml"
    team.write_text(_team_toml(now), encoding="utf-8")
    themes = base / "themes"
    themes.mkdir()
    (themes / THEME_FILE).write_text('name = "broken"\nprimary = "not a colour"\n', encoding="utf-8")
    return {"root": root, "team": team, "themes": themes}


def _team_toml(now: datetime) -> str:
    import tomli_w

    dist = {"n": 6, "p10": 1_000_000, "p25": 2_000_000, "p50": 3_000_000, "p75": 4_000_000, "p90": 5_000_000}
    return tomli_w.dumps({"format": "tokentop-team/1", "name": TEAM, "window_days": 28, "mixed_windows": False,
                          "generated": f"{now:%Y-%m-%dT%H:%M:%SZ}{OSC_TITLE}", "source": f"snapshots [beta{OSC_TITLE}",
                          "members": 6, "metrics": {"tokens_per_week": dist}})


def config_toml(root: Path, team: Path) -> str:
    import tomli_w

    return tomli_w.dumps({
        "timezone": "UTC", "refresh_seconds": 3600,
        "sources": {"claude-code": {"paths": [str(root)]}},
        "budgets": {"hostile": {"usd": 100, "period": "month",
                                "models": [MODELS["unclosed"], MODELS["osc"], MODELS["click"], MODELS["group"]]}},
        "team": {"file": str(team)},
    })


def serve_hostile(server) -> None:
    """OpenAI answers every usage call with a hostile error; DeepSeek's balance has a hostile currency."""
    from tests.api.server import Reply

    for path in ("/v1/organization/usage/completions", "/v1/organization/costs"):
        server.route(path, Reply(400, {"error": {"message": PROVIDER_ERROR, "type": "invalid_request_error"}}))
    server.route("/user/balance", Reply(200, {"is_available": True, "balance_infos": [
        {"currency": CURRENCY, "total_balance": "110.00", "granted_balance": "10.00", "topped_up_balance": "100.00"}]}))


def control_chars(text: str) -> list[str]:
    """The offending characters in ``text`` (newline is allowed: it ends a line)."""
    return sorted(set(CONTROL.findall(text)))
