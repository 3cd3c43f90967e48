"""A line appended to a watched Claude Code log shows on the dashboard within one refresh."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timezone

import pytest

from tests.tui.conftest import rendered, settings, wait_for
from tokentui.tui.app import TokentopApp
from tokentui.tui.widgets.totals_panel import TotalsPanel

pytestmark = pytest.mark.serial  # a refresh must land within its interval: wall time

REFRESH = 1.0


def _line(n: int, cache_read: int, output: int) -> str:
    now = datetime.now(timezone.utc)
    return json.dumps({
        "parentUuid": None, "isSidechain": False, "userType": "external", "cwd": "/home/u/proj",
        "sessionId": "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e", "version": "2.1.37", "gitBranch": "main",
        "type": "assistant",
        "message": {"model": "claude-sonnet-4-5-20250929", "id": f"msg_live_{n:04d}", "type": "message",
                    "role": "assistant", "content": [{"type": "text", "text": "done"}], "stop_reason": "end_turn",
                    "stop_sequence": None,
                    "usage": {"input_tokens": 10, "cache_creation_input_tokens": 0, "cache_read_input_tokens": cache_read,
                              "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
                              "output_tokens": output, "service_tier": "standard"}},
        "requestId": f"req_live_{n:04d}", "uuid": str(uuid.uuid4()),
        "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
    }, separators=(",", ":")) + "\n"  # compact, as Claude Code writes it


async def test_appended_log_line_reaches_the_dashboard(tmp_path, monkeypatch):
    root = tmp_path / "claude"
    log = root / "projects" / "-home-u-proj" / "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e.jsonl"
    log.parent.mkdir(parents=True)
    log.write_text(_line(1, 1_000_000, 200))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(root))
    app = TokentopApp(settings(tmp_path, refresh_seconds=REFRESH))
    async with app.run_test(size=(100, 30)) as pilot:
        def today() -> int:
            return app.snapshot.period("today").tokens if app.snapshot else -1

        await wait_for(pilot, lambda: today() == 1_000_210, timeout=15, what="first line ingested")
        await pilot.pause()
        panel = app.screen.query_one(TotalsPanel)
        assert "1.0M" in rendered(panel)
        claude = next(r for r in app.snapshot.sources if r.name == "claude-code")
        assert claude.status == "ok" and str(root / "projects") in claude.paths

        with log.open("a") as fh:
            fh.write(_line(2, 2_500_000, 300))
        t0 = time.monotonic()
        await wait_for(pilot, lambda: today() == 3_500_520, timeout=REFRESH + 5, what="appended line on screen")
        elapsed = time.monotonic() - t0
        await pilot.pause()
        assert "3.5M" in rendered(panel)
        # one refresh interval, plus the time the refresh itself takes
        assert elapsed < REFRESH + 1.5, f"took {elapsed:.2f}s"
        assert app.snapshot.burn.tokens_per_min_5m > 0
