"""`report session` and `report project`: columns, --window, --json, 80 and 160 columns."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.unit.test_sessions_service import MIN, NOW, _rec
from tokentui.core.records import UNPRICED
from tokentui.services import report
from tokentui.store import db, ledger


def _store(path: Path, now: int = NOW):
    c = db.connect(path)
    ledger.upsert(c, [
        _rec("a1", now - 2 * MIN), _rec("a2", now - MIN, model="claude-opus-4-5", cost_pico=5 * 10**12),
        _rec("b1", now - 3 * 3_600_000, project="/home/me/api/.worktrees/feat", session="s2", output=50),
        _rec("c1", now - 2 * 86_400_000, source="codex", project="/home/me/web", session="s3", model="gpt-5-codex",
             cost_pico=None, cost_label=UNPRICED),
    ], "this-device")
    c.commit()
    return c


def test_project_json_folds_worktrees_and_adds_efficiency_facts(tmp_path):
    conn = _store(tmp_path / "h.db")
    data = report.build(conn, report.ReportRequest("project", now_ms=NOW))
    assert list(data["projects"]) == ["/home/me/api", "/home/me/web"]  # most expensive first
    api = data["projects"]["/home/me/api"]
    assert api["project"] == "api" and api["sessions"] == 2 and api["requests"] == 3
    assert api["recordedAs"] == ["/home/me/api", "/home/me/api/.worktrees/feat"]
    assert api["modelsUsed"][0] == "claude-opus-4-5" and api["mostExpensiveModel"] == "claude-opus-4-5"
    assert api["cacheHitRatio"] == 300 / 330 and sum(api["trend"]) == api["totalTokens"]
    assert [m["modelName"] for m in api["modelBreakdowns"]] == ["claude-opus-4-5", "claude-sonnet-4-5"]
    assert data["totals"]["totalTokens"] == sum(p["totalTokens"] for p in data["projects"].values())
    assert data["projects"]["/home/me/web"]["costPerRequest"] is None  # unpriced, never $0
    day = report.build(conn, report.ReportRequest("project", window="24h", now_ms=NOW))
    assert list(day["projects"]) == ["/home/me/api"]
    sessions = report.build(conn, report.ReportRequest("session", window="1h", now_ms=NOW))["session"]
    assert [s["sessionId"] for s in sessions] == ["s1"] and sessions[0]["requests"] == 2


def test_project_and_session_tables_fit_80_and_use_160(tmp_path):
    conn = _store(tmp_path / "h.db")
    tz = ZoneInfo("UTC")
    data = report.build(conn, report.ReportRequest("project", now_ms=NOW))
    narrow = report.render_table(data, "project", 80, tz=tz).splitlines()
    assert all(len(line) <= 80 for line in narrow) and "Trend" not in narrow[0]
    assert any(line.startswith("api ") and " 2 " in line for line in narrow)
    wide = report.render_table(data, "project", 160, tz=tz).splitlines()
    assert all(len(line) <= 160 for line in wide)
    assert "Trend" in wide[0] and "Top models" in wide[0] and "Cache" in wide[0]
    (api,) = [line for line in wide if line.startswith("api ")]
    assert "opus-4-5, sonnet-4-5" in api and "91%" in api
    (web,) = [line for line in wide if line.startswith("web ")]
    assert "unpriced" in web
    sess = report.build(conn, report.ReportRequest("session", now_ms=NOW))
    s80 = report.render_table(sess, "session", 80, tz=tz).splitlines()
    assert "Reqs" in s80[0] and all(len(line) <= 80 for line in s80)
    s160 = report.render_table(sess, "session", 160, tz=tz).splitlines()
    assert "Length" in s160[0] and "Cache" in s160[0] and all(len(line) <= 160 for line in s160)
    assert "Start" in s160[0] and "Start" not in report.render_table(sess, "session", 140, tz=tz).splitlines()[0]
    assert any("01-15 07:58" in line for line in s160)  # s1 started two minutes before NOW
    (s2,) = [line for line in s160 if " 50 " in line or line.startswith("api") and "claude-code" in line
             and "sonnet-4-5" in line and "opus" not in line]
    assert s2.startswith("api ")  # the worktree shows as its repository


def test_report_project_cli_json_and_bad_window(isolated):
    now = int(time.time() * 1000)
    data_dir = Path(os.environ["TOKENTOP_DATA_DIR"])
    data_dir.mkdir(parents=True, exist_ok=True)
    _store(data_dir / "history.db", now).close()

    def run(*args):
        return subprocess.run([sys.executable, "-m", "tokentui", *args], capture_output=True, text=True, timeout=60)

    proc = run("report", "project", "--no-sync", "--json", "--window", "24h")
    assert proc.returncode == 0, proc.stderr
    assert list(json.loads(proc.stdout)["projects"]) == ["/home/me/api"]
    table = run("report", "project", "--no-sync")
    assert table.returncode == 0 and "api" in table.stdout and "web" in table.stdout
    bad = run("report", "project", "--no-sync", "--window", "2w")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "2w" in bad.stderr
