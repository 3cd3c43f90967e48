"""Issue 14 (local logs): numbers that must be exact on real agent logs."""

from __future__ import annotations

import json

from tokentui.core.pricing import Pricer
from tokentui.sources import claude_code
from tokentui.sources.common import LocalFile

CLAUDE_FILE = LocalFile("/x/s.jsonl", claude_code.SOURCE, "proj", "sess", "proj/s.jsonl")
PRICER = Pricer({}, use_genai=False)


def _dumps(obj, compact: bool = True) -> bytes:
    return json.dumps(obj, separators=(",", ":") if compact else None).encode()


def _assistant(n: int, msg_id: str = "msg_1", **usage) -> dict:
    u = {"input_tokens": 10, "output_tokens": 20, **usage}
    return {"type": "assistant", "timestamp": f"2026-11-20T10:00:{n:02d}.000Z", "requestId": f"req_{msg_id}",
            "sessionId": "sess", "version": "2.1.37",
            "message": {"id": msg_id, "model": "claude-sonnet-4-5", "role": "assistant", "usage": u}}


# -- item 4: a sub-agent's result on a user line is not a corrupt line ------------------------
def _task_result_line() -> dict:
    """A user line carrying a Task sub-agent's result, as Claude Code writes it."""
    return {"type": "user", "timestamp": "2026-11-20T10:00:05.000Z", "sessionId": "sess", "version": "2.1.37",
            "cwd": "/home/u/proj", "isSidechain": False,
            "message": {"role": "user", "content": [{"tool_use_id": "toolu_1", "type": "tool_result",
                                                     "content": [{"type": "text", "text": "done"}]}]},
            "toolUseResult": {"status": "completed", "agentId": "a1", "totalDurationMs": 1200,
                              "totalTokens": 5400, "totalToolUseCount": 3,
                              "usage": {"input_tokens": 4, "cache_creation_input_tokens": 300,
                                        "cache_read_input_tokens": 5000, "output_tokens": 96,
                                        "server_tool_use": {"web_search_requests": 0},
                                        "service_tier": "standard", "cache_creation": None}}}


def test_subagent_result_on_a_user_line_is_not_corrupt() -> None:
    lines = [_dumps(_assistant(1)), _dumps(_task_result_line()), _dumps(_assistant(6, "msg_2"))]
    parser = claude_code.ClaudeParser(CLAUDE_FILE, PRICER)
    entries = parser.feed(lines)
    assert [e.record.msg_id for e in entries] == ["msg_1", "msg_2"]
    assert parser.skipped == 0


def test_really_malformed_usage_lines_still_count() -> None:
    bad = [b'{"type":"assistant","message":{"usage":{"input_tokens":1', _dumps({**_assistant(2), "timestamp": 5}),
           _dumps({"type": "assistant", "timestamp": "2026-11-20T10:00:03.000Z",
                   "message": {"id": "m", "usage": {"input_tokens": -1, "output_tokens": 1}}})]
    parser = claude_code.ClaudeParser(CLAUDE_FILE, PRICER)
    assert parser.feed(bad) == [] and parser.skipped == 3
