"""`tokentop quota [--json]`, quotas in `tokentop sources` and `budget check --json`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.unit.test_quotas_core import FIX
from tokentui import paths
from tokentui.cli import main

NOW = "1795424400"  # 2026-11-23T09:00:00Z


@pytest.fixture
def codex(tmp_path, monkeypatch) -> Path:
    h = tmp_path / "codex"
    shutil.copytree(FIX / "codex", h)
    monkeypatch.setenv("CODEX_HOME", str(h))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude"))
    return h


def test_quota_json_gives_the_current_windows(codex, capsys):
    code = main(["quota", "--json", "--now", NOW])
    out = json.loads(capsys.readouterr().out)
    assert code == 1 and out["exitCode"] == 1  # the weekly window runs out before its reset
    rows = {(r["limit"], r["window"]): r for r in out["quotas"]}
    h5 = rows[("codex", "five_hour")]
    assert (h5["used_percent"], h5["resets_at"], h5["stage"], h5["state"]) == (
        9.0, "2026-11-23T13:31:21Z", "on track", "active")
    assert h5["runs_out_at"] is None and h5["runs_out_at_recent"].startswith("2026-11-23T12:23:23")
    assert h5["provenance"] == "official" and h5["source"] == "codex-log" and h5["as_of"].startswith(
        "2026-11-23T08:47:30")
    d7 = rows[("codex", "seven_day")]
    assert (d7["stage"], d7["expected_percent"], d7["runs_out_at"]) == ("far ahead", 42.86, "2026-11-25T13:08:12.931Z")
    assert rows[("gpt-5.3-codex-spark", "five_hour")]["used_percent"] == 8.0
    assert out["quotas"][0]["window"] == "seven_day"  # the one that runs out first


def test_quota_text_and_no_sync(codex, capsys):
    assert main(["quota", "--now", NOW]) == 1
    text = capsys.readouterr().out
    assert "Codex plan 7d: 58% used" in text and "far ahead" in text and "runs out" in text
    assert "Codex gpt-5.3-codex-spark 5h: 8% used" in text
    assert main(["quota", "--no-sync", "--now", "1795427400"]) == 1  # stored; 09:50
    assert "Codex plan 5h: 9% used" in capsys.readouterr().out


def test_quota_with_no_data_says_how_to_get_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "none"))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude"))
    assert main(["quota"]) == 0
    out = capsys.readouterr().out
    assert "No official plan-limit data yet" in out and "tokentop statusline --install" in out


def test_quota_after_every_window_has_reset_says_when_it_last_read_one(codex, capsys):
    """Readings exist, but every window they were of has reset long since: not "no data yet"."""
    assert main(["quota", "--now", NOW]) == 1
    capsys.readouterr()
    later = str(int(NOW) + 20 * 86400)  # 20 days on: even the weekly window's history is behind
    assert main(["quota", "--no-sync", "--now", later]) == 0
    out = capsys.readouterr().out
    assert "No official plan-limit data yet" not in out
    assert "Codex's logs" in out and "every window it showed has reset since" in out
    assert "Last read 20d ago" in out or "Last read 19d ago" in out


def test_empty_quota_words() -> None:
    from tokentui.services.quota import NO_DATA, empty_text

    now = 1_795_424_400_000
    assert empty_text({}, now) == NO_DATA and "tokentop statusline --install" in NO_DATA
    text = empty_text({"codex-log": now - 3 * 86_400_000, "claude-statusline": now - 86_400_000}, now)
    assert text.startswith("Last read 1d ago (Claude Code's status line)")  # the latest reading, and where


def test_at_the_limit_exits_2(codex, capsys):
    # 08:10: the first window is at 97 %, runs out before its reset; an own window over 100 %
    assert main(["quota", "--json", "--now", "1795421400"]) == 1
    capsys.readouterr()
    from tokentui.core.quotas import Observation
    from tokentui.store import db
    from tokentui.store import quotas as store

    conn = db.connect(paths.history_db())
    with db.transaction(conn):
        store.upsert(conn, [Observation("codex-log", "openai", "x", "codex", "five_hour", 18000, 104.0,
                                        1795440681, "absolute", 1795424000000)], "dev")
    assert main(["quota", "--no-sync", "--now", NOW]) == 2


def test_sources_lists_the_quota_sources(codex, capsys):
    assert main(["sync", "-q"]) == 0
    capsys.readouterr()
    assert main(["sources", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["quota:codex-log"]["status"] == "ok" and rows["quota:codex-log"]["last_sample"]
    assert rows["quota:claude-statusline"]["status"] == "no data"
    assert "statusline --install" in rows["quota:claude-statusline"]["message"]
    assert main(["sources"]) == 0
    assert "quota:codex-log" in capsys.readouterr().out


def test_budget_check_json_carries_the_quotas_but_budgets_decide_the_exit(codex, capsys):
    from tokentui.core.quotas import Observation
    from tokentui.store import db
    from tokentui.store import quotas as store

    assert main(["budget", "set", "big", "--usd", "100000", "--period", "month"]) == 0
    capsys.readouterr()
    conn = db.connect(paths.history_db())
    now = db.now_ms()
    with db.transaction(conn):  # a window at its limit, on the real clock
        store.upsert(conn, [Observation("codex-log", "openai", "x", "codex", "five_hour", 18000, 100.0,
                                        now // 1000 + 3600, "absolute", now - 60_000)], "dev")
    code = main(["budget", "check", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["exitCode"] == 0
    first = out["quotas"][0]  # most urgent first; windows that reset days ago show as reset
    assert (first["limit"], first["window"], first["used_percent"], first["state"]) == (
        "codex", "five_hour", 100.0, "active")


def test_the_warn_threshold_is_configurable(codex, capsys):
    from tokentui.config import load_settings
    from tokentui.services import quota as svc
    from tokentui.services.sync import open_store

    assert main(["sync", "-q"]) in (0, 1)
    cfg = paths.config_file()
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text("[quota]\nwarn = 50\n", encoding="utf-8")
    warn = svc.warn_threshold(load_settings())
    assert warn == 50.0
    conn = open_store()
    fired = svc.new_alerts(conn, 1795424400000, warn)  # 09:00: the week at 58 %
    assert "Codex plan 7d passed 50% (58% used)" in [a.message for a in fired]
    assert svc.new_alerts(conn, 1795424400000, warn) == []  # once


def test_sync_leaves_the_status_line_its_summary_once_it_is_in_use(codex, capsys):
    data = paths.data_dir()
    assert main(["sync", "-q"]) in (0, 1)
    assert not (data / "statusline-summary.json").exists()  # no status line here: no extra work
    (data / "statusline-state.json").write_text('{"v": 1}')
    assert main(["budget", "set", "work", "--usd", "100", "--period", "month"]) == 0
    assert main(["sync", "-q"]) in (0, 1)
    got = json.loads((data / "statusline-summary.json").read_text())
    assert got["text"].startswith("today ") and "work 0%" in got["text"] and got["budget"] == "work 0%"


def test_sources_says_when_the_status_line_went_quiet(codex, capsys):
    from tokentui.core.quotas import Observation
    from tokentui.core.records import ESTIMATED, UsageRecord
    from tokentui.services import quota as svc
    from tokentui.store import db, ledger
    from tokentui.store import quotas as store

    conn = db.connect(paths.history_db())
    now = db.now_ms()
    with db.transaction(conn):
        store.upsert(conn, [Observation("claude-statusline", "anthropic", "a", "account", "five_hour", 18000, 5.0,
                                        now // 1000 - 3 * 86400, "absolute", now - 4 * 86400_000, "s")], "dev")
        ledger.upsert(conn, [UsageRecord(source="claude-code", key="k", ts_ms=now - 3600_000, model="m", input=1,
                                         cost_label=ESTIMATED)], "dev")
    row = {r["name"]: r for r in svc.source_rows(conn)}["quota:claude-statusline"]
    assert "sent nothing" in row["message"]


def test_quota_that_cannot_answer_exits_3_never_1_or_2(codex, capsys, tmp_path, monkeypatch):
    """Like `budget check`: 1 and 2 are answers (runs out, at the limit), so a broken config, a
    damaged store or a bug exits 3 with one plain line."""
    cfg = paths.config_file()
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text('[display]\ntimezone = "Mars/Olympus"\n')
    assert main(["quota", "--now", NOW]) == 3
    err = capsys.readouterr().err
    assert err.startswith("tokentop: error:") and "timezone" in err and "Traceback" not in err
    cfg.unlink()

    def boom(*_a, **_k):
        raise RuntimeError("a bug")

    from tokentui.services import quota as svc

    monkeypatch.setattr(svc, "current", boom)
    assert main(["quota", "--now", NOW]) == 3
    err = capsys.readouterr().err
    assert "unexpected RuntimeError: a bug" in err and "Traceback" not in err
