"""A corpus mixing every agent's fixtures (tests/fixtures/agents/* plus the Claude Code, Codex,
Gemini CLI and OpenCode logs) syncs as each agent does alone, incrementally: a second sync
changes no total; lines appended to each appendable log grow its source by exactly their tokens."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.corpus import every_agent
from tests.unit.ingest_helpers import sync
from tokentui.core.pricing import Pricer
from tokentui.services import report
from tokentui.sources import registry

#: the hand-checked totals of tests/fixtures/agents (its README), all days together
HAND_CHECKED = {"amp": 35305 + 10663, "openclaw": 34985 + 13451, "copilot": 121030 + 49540,
                "qwen-code": 33905 + 6220, "zed": 65300 + 2680, "codebuff": 2007 + 130}
CLINE_FAMILY = 66129 + 16566 + 35129 + 35695  # the VS Code tasks, then ~/.cline (cline-home)


@pytest.fixture
def pricer(fixture_price_table):
    return Pricer(table=fixture_price_table, use_genai=False)


@pytest.fixture
def corpus(isolated, monkeypatch) -> Path:
    root = isolated / "corpus"
    for var, value in every_agent(root, isolated / "home").items():
        monkeypatch.setenv(var, value)
    return root


def _totals(conn) -> dict[str, int]:
    out = {}
    for name in registry.names(registry.LOCAL):
        t = report.build(conn, report.ReportRequest("daily", sources=(name,)))["totals"]
        out[name] = t["totalTokens"]
    return out


def _append(path: Path, *lines: dict) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        for line in lines:
            fh.write(json.dumps(line) + "\n")


def test_every_agent_together_exact_and_incremental(corpus, pricer, tmp_path) -> None:
    local = registry.names(registry.LOCAL)
    conn, res = sync(tmp_path / "mixed.db", pricer, sources=local)
    mixed = _totals(conn)
    # each agent as alone, in a store of its own
    for name in local:
        alone, _ = sync(tmp_path / f"{name}.db", pricer, sources=(name,))
        assert _totals(alone)[name] == mixed[name], name
    for name, total in HAND_CHECKED.items():
        assert mixed[name] == total, name
    assert mixed["cline"] + mixed["roo-code"] + mixed["kilo-code"] == CLINE_FAMILY
    assert [n for n in local if n != "crush" and mixed[n] <= 0] == []  # every agent is in the corpus
    crush_cost = report.build(conn, report.ReportRequest("daily", sources=("crush",)))["totals"]["totalCost"]
    assert crush_cost > 0  # Crush: cost only, no tokens

    # a second sync reads nothing and changes nothing
    conn, res = sync(tmp_path / "mixed.db", pricer, sources=local)
    assert {n: r.files_read for n, r in res.items() if r.files_read} == {}
    assert _totals(conn) == mixed

    # append to every appendable log
    claude = corpus / "claude" / "projects" / "-home-u-proj" / "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d.jsonl"
    _append(claude, {"parentUuid": "e1e1e1e1-2222-4333-8444-555555555555", "isSidechain": False,
                     "sessionId": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "type": "assistant",
                     "message": {"model": "claude-sonnet-4-5-20250929", "id": "msg_mixed_corpus_append_1",
                                 "type": "message", "role": "assistant", "content": [],
                                 "usage": {"input_tokens": 10, "output_tokens": 20}},
                     "requestId": "req_mixed_1", "uuid": "f0f0f0f0-1111-4222-8333-444444444444",
                     "timestamp": "2026-11-21T02:00:00.000Z"})
    codex = next((corpus / "codex" / "sessions" / "2026" / "11" / "20").glob("rollout-2026-11-20T11-02-44-*.jsonl"))
    _append(codex, {"timestamp": "2026-11-20T11:04:00.000Z", "type": "event_msg", "payload": {
        "type": "token_count", "info": {
            "total_token_usage": {"input_tokens": 91000, "cached_input_tokens": 78480, "output_tokens": 2450,
                                  "reasoning_output_tokens": 1300, "total_tokens": 93450},
            "last_token_usage": {"input_tokens": 1000, "cached_input_tokens": 400, "output_tokens": 100,
                                 "reasoning_output_tokens": 0, "total_tokens": 1100},
            "model_context_window": 272000}}})
    _append(corpus / "copilot" / "otel" / "copilot-otel.jsonl", {
        "type": "span", "traceId": "feedfacefeedfacefeedfacefeedface", "spanId": "c3c3c3c3c3c3c3c3",
        "name": "chat gpt-5.1", "startTime": [1795260000, 0], "endTime": [1795260010, 0],
        "attributes": {"gen_ai.operation.name": "chat", "gen_ai.response.model": "gpt-5.1",
                       "gen_ai.conversation.id": "mixed-corpus-session", "gen_ai.response.id": "resp_mixed_1",
                       "gen_ai.usage.input_tokens": 5000, "gen_ai.usage.output_tokens": 200,
                       "gen_ai.usage.cache_read.input_tokens": 1000}})
    _append(corpus / "qwen" / "projects" / "-home-u-proj" / "chats" / "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9.jsonl",
            {"uuid": "0c1d2e3f-0001-4000-8000-0000000000b1", "parentUuid": "0c1d2e3f-0001-4000-8000-0000000000a7",
             "sessionId": "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9", "timestamp": "2026-11-21T11:00:00.000Z",
             "type": "assistant", "model": "qwen3-coder-plus", "message": {"role": "model", "parts": []},
             "usageMetadata": {"promptTokenCount": 2000, "candidatesTokenCount": 100, "totalTokenCount": 2100,
                               "cachedContentTokenCount": 500}})
    _append(corpus / "openclaw" / "agents" / "main" / "sessions" / "3f6c2a90-5d1e-4b7a-9c0e-2a1b3c4d5e6f.jsonl",
            {"type": "message", "id": "9a0b1c2d", "parentId": "8293a4b5", "timestamp": "2026-11-21T12:00:00.000Z",
             "message": {"role": "assistant", "content": [], "provider": "anthropic", "model": "claude-sonnet-4-5",
                         "usage": {"input": 100, "output": 50, "cacheRead": 0, "cacheWrite": 0},
                         "timestamp": 1795262400000}})
    _append(corpus / "gemini" / "tmp" / "proj" / "chats" / "session-2026-11-20T10-02-7c1e9a42.jsonl",
            {"id": "g3-mixed", "timestamp": "2026-11-20T10:09:00.000Z", "type": "gemini", "content": [],
             "tokens": {"input": 1000, "output": 50, "cached": 0, "thoughts": 0, "tool": 0, "total": 1050},
             "model": "gemini-2.5-pro"})
    appended = {"claude-code": 30, "codex": 1100, "copilot": 5200, "qwen-code": 2100, "openclaw": 150,
                "gemini-cli": 1050}
    conn, res = sync(tmp_path / "mixed.db", pricer, sources=local)
    grown = _totals(conn)
    assert {n: grown[n] - mixed[n] for n in local if grown[n] != mixed[n]} == appended
    conn, _ = sync(tmp_path / "mixed.db", pricer, sources=local)
    assert _totals(conn) == grown


def test_one_repository_is_one_project_across_agents(corpus, pricer, tmp_path) -> None:
    """Every agent's fixtures ran in /home/u/proj (or a folder of that name): one project, whatever
    each agent records (a path, Claude Code's or Qwen's encoded dir, a bare name); the older Gemini
    CLI's hashed folder is Claude Code's legacy-app."""
    import time

    from tokentui.core.windows import window
    from tokentui.services import sessions

    conn, _ = sync(tmp_path / "mixed.db", pricer, sources=registry.names(registry.LOCAL))
    view = sessions.build_projects(conn, window("all"), int(time.time() * 1000))
    assert [r.name for r in view.rows].count("proj") == 1  # not one row per way of recording it
    rows = {r.name: r for r in view.rows}
    proj = rows["proj"]
    assert proj.project == "/home/u/proj"
    assert {"claude-code", "codex", "copilot", "opencode", "qwen-code", "gemini-cli", "goose", "pi",
            "kimi"} <= set(proj.sources)
    assert set(rows["legacy-app"].sources) == {"claude-code", "gemini-cli"}
