"""``tokentop statusline`` (spec/quotas.md §2): the fixtures' lines, the spool and its state,
bad input, no heavy imports, never blocked by the store; the spool's ingest into the store."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.unit.test_quotas_core import FIX, iso_ms, ms
from tokentui.core import quotas as q
from tokentui.services import quota as service
from tokentui.store import db
from tokentui.store import quotas as store

REPO = Path(__file__).resolve().parents[2]
SL = FIX / "claude-statusline"
RUNS = [("01", 1795443600, "[Opus 4.6] 5h 62% +15 ↻2h40m ⚠15:45 · 7d 38% ↻4d5h · ctx 38%"),
        ("02", 1795443660, "[Sonnet 4.5] 5h 62% +15 ↻2h39m ⚠15:47 · 7d 38% ↻4d5h · ctx 14%"),
        ("03", 1795457100, "[Opus 4.6] 7d 46% +4 ↻4d1h ⚠Fri 04:21"),
        ("04", 1795457160, "[Sonnet 4.5] $1.37 session · ctx 9%"),
        ("05", 1795457220, "[Opus] $0.01 session")]
ACCT = "anthropic:4f0c2a9e-7b1d-4c3e-8a5f-6d2b9e1c0a77"


def _env(data: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "TOKENTOP_DEBUG")}
    env.update(TZ="UTC", NO_COLOR="1", CLAUDE_CONFIG_DIR=str(FIX / "claude-config"), TOKENTOP_DATA_DIR=str(data),
               PYTHONPATH=str(REPO))
    env.update(extra)
    return env


def run(data: Path, stdin: bytes | None, *args: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tokentui", "statusline", *args], input=stdin,
                          capture_output=True, env=_env(data, **env), timeout=30, cwd=REPO)


def _file(n: str) -> bytes:
    return next(SL.glob(n + "*")).read_bytes()


def _spool(data: Path) -> list[dict]:
    p = data / "quota-spool.jsonl"
    return [json.loads(x) for x in p.read_text().splitlines()] if p.exists() else []


def test_the_fixture_runs_print_the_expected_lines_and_record_the_samples(tmp_path):
    for n, now, line in RUNS:
        got = run(tmp_path, _file(n), "--now", str(now))
        assert (got.returncode, got.stdout.decode(), got.stderr) == (0, line + "\n", b"")
    spool = _spool(tmp_path)
    assert [(x["win"], x["pct"], x["reset"], x["sess"][:8]) for x in spool] == [
        ("five_hour", 62, 1795453200, "7d2f6a10"), ("seven_day", 38.0, 1795809600, "7d2f6a10"),
        ("five_hour", 55, 1795453200, "a91c0e77"), ("seven_day", 37.00000000000001, 1795809600, "a91c0e77"),
        ("seven_day", 46, 1795809600, "c3e8b4f2")]
    assert {x["acct"] for x in spool} == {ACCT} and {x["src"] for x in spool} == {"claude-statusline"}
    # the same values again within 10 minutes: nothing appended (heartbeat); --no-record: nothing at all
    state = (tmp_path / "statusline-state.json").read_bytes()
    assert run(tmp_path, _file("01"), "--now", "1795443900").returncode == 0
    assert len(_spool(tmp_path)) == 5
    got = run(tmp_path, _file("01"), "--now", "1795444000", "--no-record")
    assert got.stdout.decode().startswith("[Opus 4.6] 5h 62%")
    assert len(_spool(tmp_path)) == 5


def test_file_two_alone_shows_its_own_values(tmp_path):
    got = run(tmp_path, _file("02"), "--now", "1795443660")
    assert got.stdout.decode() == "[Sonnet 4.5] 5h 55% +8 ↻2h39m ⚠16:16 · 7d 37% ↻4d5h · ctx 14%\n"


@pytest.mark.parametrize("stdin", [b"", b"{}", b"{not json", b"[1, 2]", b"\xff\xfe", b'{"model": null}'])
def test_bad_stdin_prints_a_short_line_and_exits_0(tmp_path, stdin):
    got = run(tmp_path, stdin)
    assert got.returncode == 0 and got.stderr == b""
    assert got.stdout.decode().strip() in ("tokentop", "[Claude]")
    assert _spool(tmp_path) == []


@pytest.mark.serial
def test_stdin_held_open_still_prints_in_time(tmp_path):
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "tokentui", "statusline"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, env=_env(tmp_path), cwd=REPO)
    proc.stdin.write(_file("01"))
    proc.stdin.flush()  # no EOF
    out = proc.stdout.readline()
    elapsed = time.monotonic() - start
    proc.stdin.close()
    proc.wait(10)
    assert out.decode().startswith("[Opus 4.6]") and proc.returncode == 0
    assert elapsed < 3  # the read gives up after 200 ms (plus the interpreter's start on a busy machine)


def test_a_locked_store_never_blocks_it(tmp_path):
    conn = db.connect(tmp_path / "history.db")
    conn.execute("BEGIN EXCLUSIVE")  # another process holds the store for a long write
    try:
        start = time.monotonic()
        got = run(tmp_path, _file("01"), "--now", "1795443600")
        assert time.monotonic() - start < 3
    finally:
        conn.execute("ROLLBACK")
    assert got.returncode == 0 and got.stdout.decode() == RUNS[0][2] + "\n"
    assert len(_spool(tmp_path)) == 2


def test_it_loads_no_heavy_module(tmp_path):
    code = ("import sys, io; sys.stdin = io.TextIOWrapper(io.BytesIO(b'{}'))\n"
            "from tokentui.cli import main\n"
            "rc = main(['statusline', '--no-record'])\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich', 'genai_prices', "
            "'keyring', 'httpx', 'sqlite3', 'platformdirs', 'tomllib', 'argparse') or m == 'tokentui.cli.main' "
            "or (m.startswith('tokentui.sources') and m not in ('tokentui.sources', 'tokentui.sources.claude_account')) "
            "or m.startswith('tokentui.store'))\n"
            "print('BAD', bad, rc)\n")
    got = subprocess.run([sys.executable, "-c", code], capture_output=True, env=_env(tmp_path), timeout=30, cwd=REPO)
    assert got.stdout.decode().splitlines()[-1] == "BAD [] 0", got.stderr.decode()


def test_hostile_text_never_reaches_the_terminal(tmp_path):
    payload = json.loads(_file("01"))
    payload["model"]["display_name"] = "Evil\x1b]0;pwned\x07[bold]"
    got = run(tmp_path, json.dumps(payload).encode(), "--now", "1795443600")
    assert b"\x1b" not in got.stdout and b"\x07" not in got.stdout and got.stdout.startswith(b"[Evil?]0;pwned?[bold]]")


def test_narrow_terminal_drops_parts_in_order(tmp_path):
    got = run(tmp_path, _file("01"), "--now", "1795443600", "--no-record", COLUMNS="50")
    assert got.stdout.decode() == "[Opus 4.6] 5h 62% +15 ↻2h40m ⚠15:45 · 7d 38% ↻4d5h\n"  # ctx went first
    got = run(tmp_path, _file("01"), "--now", "1795443600", "--no-record", COLUMNS="45")
    assert got.stdout.decode() == "[Opus 4.6] 5h 62% +15 ↻2h40m · 7d 38% ↻4d5h\n"  # then the run-out
    got = run(tmp_path, _file("01"), "--now", "1795443600", "--no-record", COLUMNS="20")
    line = got.stdout.decode().rstrip("\n")
    assert len(line) == 20 and line.endswith("…")


def test_colours_unless_no_color(tmp_path):
    env = _env(tmp_path)
    env.pop("NO_COLOR")
    got = subprocess.run([sys.executable, "-m", "tokentui", "statusline", "--now", "1795443600", "--no-record"],
                         input=_file("01"), capture_output=True, env=env, timeout=30, cwd=REPO)
    assert "\x1b[31m5h 62%" in got.stdout.decode()  # red: runs out before the reset


def test_print_config_shows_the_snippet(tmp_path):
    got = run(tmp_path, b"", "--print-config")
    assert got.returncode == 0 and '"command": "tokentop statusline"' in got.stdout.decode()
    got = run(tmp_path, b"", "--install", CLAUDE_CONFIG_DIR=str(tmp_path / "cc"))
    assert got.returncode == 0 and "nothing written" in got.stdout.decode().lower()
    assert not (tmp_path / "cc" / "settings.json").exists()


def test_data_dir_matches_the_cli(monkeypatch, tmp_path):
    from tokentui import paths
    from tokentui.cli import statusline

    monkeypatch.delenv("TOKENTOP_DATA_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    assert Path(statusline.data_dir()) == paths.data_dir()
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "x"))
    assert Path(statusline.data_dir()) == paths.data_dir()


def test_the_spool_is_ingested_once_into_the_store(tmp_path):
    for n, now, _line in RUNS[:2]:
        run(tmp_path, _file(n), "--now", str(now))
    conn = db.connect(tmp_path / "history.db")
    spool = tmp_path / "quota-spool.jsonl"
    assert service.ingest_spool(conn, "dev", spool) == 4
    assert service.ingest_spool(conn, "dev", spool) == 0
    rows = store.rows(conn)
    assert sorted((r.win, r.used_bp, r.session[:8]) for r in rows) == [
        ("five_hour", 5500, "a91c0e77"), ("five_hour", 6200, "7d2f6a10"),
        ("seven_day", 3700, "a91c0e77"), ("seven_day", 3800, "7d2f6a10")]
    st = {s.win: s for s in service.current(conn, ms("2026-11-23T14:22:00Z"))}
    h5 = st["five_hour"]
    assert (h5.used, iso_ms(h5.as_of_ms), h5.account) == (62.0, "2026-11-23T14:20:00.0Z", ACCT)
    assert h5.pace.stage == "far ahead" and iso_ms(h5.pace.runs_out_ms) == "2026-11-23T15:49:01.9Z"
    # a torn last line waits; garbage lines are skipped
    with open(spool, "ab") as fh:
        fh.write(b'garbage\n{"v":1,"src":"claude-statusline","obs_ms":1795443700000,"acct":"a","sess":"s",'
                 b'"lim":"account","win":"five_hour","pct":63,"reset":1795453200}\n{"v":1,')
    assert service.ingest_spool(conn, "dev", spool) == 1


def test_a_big_consumed_spool_is_rotated(tmp_path, monkeypatch):
    monkeypatch.setattr(service, "ROTATE", 100)
    run(tmp_path, _file("01"), "--now", "1795443600")
    conn = db.connect(tmp_path / "history.db")
    spool = tmp_path / "quota-spool.jsonl"
    assert service.ingest_spool(conn, "dev", spool) == 2
    assert not spool.exists() and not spool.with_name(spool.name + ".consumed").exists()
    run(tmp_path, _file("02"), "--now", "1795443660")
    assert service.ingest_spool(conn, "dev", spool) == 2
    assert len(store.rows(conn)) == 4


def test_the_full_cli_lists_and_runs_it(capsys, monkeypatch):
    import io

    from tokentui.cli import main
    from tokentui.cli.main import build_parser

    assert "statusline" in build_parser().format_help()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"")))
    assert main(["statusline", "--no-record"]) == 0
    assert capsys.readouterr().out == "tokentop\n"


def test_a_fresh_summary_from_the_last_sync_is_shown(tmp_path):
    now = 1795443600
    summary = tmp_path / "statusline-summary.json"
    tmp_path.mkdir(exist_ok=True)
    summary.write_text(json.dumps({"at_ms": (now - 60) * 1000, "text": "today 1.2M $3.40 · $0.52/h · work 82%\x1b[2J"}))
    got = run(tmp_path, _file("01"), "--now", str(now), "--no-record")
    assert got.stdout.decode() == ("[Opus 4.6] 5h 62% +15 ↻2h40m ⚠15:45 · 7d 38% ↻4d5h · "
                                   "today 1.2M $3.40 · $0.52/h · work 82%?[2J · ctx 38%\n")
    summary.write_text(json.dumps({"at_ms": (now - 3600) * 1000, "text": "today 1.2M $3.40"}))  # an hour old
    got = run(tmp_path, _file("01"), "--now", str(now), "--no-record")
    assert got.stdout.decode() == RUNS[0][2] + "\n"


def test_summary_text_names_the_most_urgent_budget():
    from decimal import Decimal
    from types import SimpleNamespace as NS

    snap = NS(period=lambda name: NS(tokens=1_234_567, cost=Decimal("3.4")) if name == "today" else None,
              burn=NS(usd_per_hour_1h=Decimal("0.52")), now_ms=1)
    budgets = [NS(budget=NS(name="home"), status="ok", used_fraction=0.9),
               NS(budget=NS(name="work"), status="projected_over", used_fraction=0.82)]
    assert service.summary_text(snap, budgets) == "today 1.2M $3.40 · $0.52/h · work 82% ⚠"
    assert service.summary_text(snap) == "today 1.2M $3.40 · $0.52/h"


@pytest.mark.skipif(sys.platform == "win32", reason="a POSIX shell command")
def test_then_runs_the_users_own_line_after_recording(tmp_path):
    mine = "python3 -c \"import json,sys; d=json.load(sys.stdin); print('mine:', d['model']['id'])\""
    got = run(tmp_path, _file("01"), "--now", "1795443600", "--then", mine)
    assert (got.returncode, got.stdout.decode()) == (0, "mine: claude-opus-4-6\n")
    assert len(_spool(tmp_path)) == 2  # recorded all the same
    got = run(tmp_path, _file("01"), "--now", "1795443600", "--no-record", "--then", "exit 3")
    assert got.stdout.decode() == RUNS[0][2] + "\n"  # theirs failed: tokentop's own line


def test_an_unwritable_data_dir_or_a_corrupt_state_still_prints(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    got = run(blocker / "data", _file("01"), "--now", "1795443600")
    assert (got.returncode, got.stdout.decode(), got.stderr) == (0, RUNS[0][2] + "\n", b"")
    data = tmp_path / "data"
    data.mkdir()
    (data / "statusline-state.json").write_bytes(b"\x00{not json")
    got = run(data, _file("01"), "--now", "1795443600")
    assert got.stdout.decode() == RUNS[0][2] + "\n"
    assert json.loads((data / "statusline-state.json").read_text())["v"] == 1  # replaced


def test_window_segments_at_the_edges():
    from tokentui.cli.statusline import build_line

    now = 1795443600.0
    payload = {"model": {"id": "claude-x"}}
    # a reset in the past: "↻now" and nothing else; over 100 %: no run-out, still shown
    line = build_line(payload, [("five_hour", 62.0, int(now) - 5), ("seven_day", 104.4, int(now) + 3600)], now,
                      colour=False)
    assert line == "[claude-x] 5h ↻now · 7d 104% +5 ↻1h00m"
    coloured = build_line(payload, [("seven_day", 104.4, int(now) + 3600)], now, colour=True)
    assert "\x1b[31m7d 104%" in coloured  # red at or over 95 %
    # the first minutes of a window: no pace (under 3 % elapsed), no run-out (under 10 %)
    assert build_line(payload, [("five_hour", 40.0, int(now) + 17900)], now, colour=False) == \
        "[claude-x] 5h 40% ↻4h58m"
