"""End to end through the command line: `tokentop sync` polls, `report --json` shows it."""

from __future__ import annotations

import json

from tests.api import fakes
from tests.api.test_openai import expected_tokens
from tokentui.cli import main


def test_sync_then_report_shows_served_totals(server, urls, monkeypatch, capsys):
    monkeypatch.setenv("OPENAI_ADMIN_KEY", fakes.OPENAI_KEY)
    assert main(["sync"]) == 0
    assert server.hits("/v1/organization/usage/completions"), "sync did not poll the OpenAI API"
    capsys.readouterr()
    assert main(["report", "daily", "--json", "--source", "openai", "--no-sync", "--timezone", "UTC"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["totals"]["totalTokens"] == expected_tokens()
    assert data["totals"]["totalCost"] > 0
    assert {row["date"] for row in data["daily"]} >= {"2025-09-01", "2025-09-07"}
    for key in fakes.ALL_KEYS:
        assert key not in json.dumps(data)
