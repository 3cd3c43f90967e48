"""Cline's session format (spec/agents.md §10.5; the CLI and the SDK-based extension), read as
part of the ``cline`` source: the fixture's hand-checked totals (tests/fixtures/agents/
cline-family/README.md) through a real sync from ``~/.cline``, in UTC and Los Angeles; rollups
never added; fork copies and a resumed classic task counted once; rewrites upsert; corrupt,
partial and missing files; where it looks and what `tokentop sources` says."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import FIXTURES
from tests.unit.ingest_helpers import sync, tokens
from tokentui.cli import main
from tokentui.core.pricing import Pricer
from tokentui.services import report
from tokentui.sources import cline_sessions, registry
from tokentui.sources.common import LocalFile

FIX = FIXTURES / "agents" / "cline-family" / "cline-home"
LEAD, FORK, TASK, PARTIAL = "1795165200000_k3v9q", "1795165500000_f7w2d", "1795197600000", "1795276000000_p4rt1"
PICO = 10**12
DAY1, DAY2 = (1059, 1370, 6200, 26500, 35129), (5515, 790, 9490, 19900, 35695)


@pytest.fixture
def pricer(fixture_price_table):
    return Pricer(table=fixture_price_table, use_genai=False)


@pytest.fixture
def home(isolated) -> Path:
    """The fixture as the Cline CLI keeps it: ~/.cline (zero set-up)."""
    root = isolated / "home" / ".cline"
    shutil.copytree(FIX, root)
    return root


def sessions(home: Path) -> Path:
    return home / "data" / "sessions"


def daily(conn, tz: str = "UTC") -> dict[str, dict]:
    rep = report.build(conn, report.ReportRequest("daily", tz=ZoneInfo(tz), sources=("cline",)))
    return {row["date"]: row for row in rep["daily"]}


def rows(conn) -> dict[str, tuple]:
    return {k: tuple(v) for k, *v in conn.execute(
        "SELECT key, session, project, model, input, output, cache_write_5m, cache_read, reasoning FROM ledger "
        "WHERE source = 'cline'")}


def _messages(home: Path, session: str, name: str | None = None) -> Path:
    return sessions(home) / session / f"{name or session}.messages.json"


def test_fixture_totals_utc(home, pricer, tmp_path) -> None:
    conn, res = sync(tmp_path / "h.db", pricer, sources=("cline",))
    r = res["cline"]
    assert (r.files, r.skipped, r.problem, r.errors) == (6, 3, None, [])  # a7, a8, the partial file
    d = daily(conn)
    assert sorted(d) == ["2026-11-20", "2026-11-21"]
    assert tokens(d["2026-11-20"]) == DAY1
    assert tokens(d["2026-11-21"]) == DAY2
    got = rows(conn)
    assert len(got) == 9
    k = cline_sessions.KEY_PREFIX
    # the lead's calls, its sub-agent's (under the lead's session), and a fork's copies kept there
    assert got[k + "Qm7Lx2Rb9Nc4Wd8Ky1JfZ"] == (LEAD, "webapp", "claude-sonnet-4-5", 345, 420, 2000, 10000, 0)
    assert got[k + "Ew3Kd6Fj9Gh2Lm5Np8QrS"] == (LEAD, "webapp", "claude-sonnet-4-5", 200, 150, 800, 12000, 40)
    assert got[k + "Sd3Fg6Hj9Kl2Zx5Cv8Bn1"] == (LEAD, "webapp", "claude-haiku-4-5", 500, 100, 0, 1500, 0)
    assert got[k + "Pk9Oj2Ih5Ug8Yf1Td4Rs7"][3:] == (5, 60, 0, 900, 0)  # smaller than its cache: uncached
    assert got[k + "Ty7Ui0Op3As6Df9Gh2Jk5"][0] == FORK
    # the classic task: per request from ui_messages.json; its resumed session adds only the new call
    assert got[f"{TASK}|1795197612000"][3:] == (10, 500, 3000, 0, 0)
    assert got[k + "Op8Qr9St0Uv1Wx2Yz3Ab4"] == (TASK, "webapp", "claude-sonnet-4-5", 10, 180, 8990, 0, 0)
    assert k + "Ab1Cd2Ef3Gh4Ij5Kl6Mn7" not in got  # the task totals the converter stamped
    logged = dict(conn.execute("SELECT substr(datetime(ts_ms/1000,'unixepoch'),1,10), SUM(logged_cost_pico) "
                               "FROM ledger WHERE source = 'cline' GROUP BY 1"))
    assert logged["2026-11-20"] / PICO == pytest.approx(0.0438, abs=1e-12)
    assert logged["2026-11-21"] / PICO == pytest.approx(0.0465, abs=1e-12)


def test_fixture_totals_los_angeles(home, pricer, tmp_path) -> None:
    conn, _ = sync(tmp_path / "h.db", pricer, sources=("cline",))
    d = daily(conn, "America/Los_Angeles")
    assert tokens(d["2026-11-20"]) == (6564, 1980, 6700, 46400, 61644)
    assert tokens(d["2026-11-21"]) == (10, 180, 8990, 0, 9180)


def test_rollups_are_never_added(home, pricer, tmp_path) -> None:
    """The manifest's ``usage`` and ``aggregateUsage`` (sub-agents folded in) change nothing, even
    when they disagree with the messages; a session with only a manifest adds nothing."""
    conn, _ = sync(tmp_path / "a.db", pricer, sources=("cline",))
    before = {k: tokens(v) for k, v in daily(conn).items()}
    man = sessions(home) / LEAD / f"{LEAD}.json"
    doc = json.loads(man.read_text())
    doc["metadata"]["usage"]["inputTokens"] *= 10
    doc["metadata"]["aggregateUsage"] = {"inputTokens": 10**6, "outputTokens": 10**5, "cacheReadTokens": 0,
                                         "cacheWriteTokens": 0, "totalCost": 99.0}
    man.write_text(json.dumps(doc))
    only = sessions(home) / "1795280000000_m4n1f"
    only.mkdir()
    (only / "1795280000000_m4n1f.json").write_text(json.dumps({"session_id": "1795280000000_m4n1f", "metadata": {
        "usage": {"inputTokens": 500, "outputTokens": 50, "totalCost": 0.01}}}))
    conn, res = sync(tmp_path / "b.db", pricer, sources=("cline",))
    assert {k: tokens(v) for k, v in daily(conn).items()} == before
    assert res["cline"].files == 6


def test_a_rewrite_with_one_more_message_upserts(home, pricer, tmp_path) -> None:
    sync(tmp_path / "h.db", pricer, sources=("cline",))
    conn, res = sync(tmp_path / "h.db", pricer, sources=("cline",))
    assert res["cline"].files_read == 0
    path = _messages(home, LEAD)
    doc = json.loads(path.read_text())
    doc["messages"].append({"id": "Nw0Me1Ss2Ag3Ee4Zz5Yy6", "role": "assistant", "ts": 1795165400000,
                            "modelInfo": {"id": "claude-sonnet-4-5", "provider": "anthropic"},
                            "metrics": {"inputTokens": 14000, "outputTokens": 90, "cacheReadTokens": 13000,
                                        "cacheWriteTokens": 900, "cost": 0.005}})
    path.write_text(json.dumps(doc))
    conn, res = sync(tmp_path / "h.db", pricer, sources=("cline",))
    assert res["cline"].files_read == 1
    assert tokens(daily(conn)["2026-11-20"]) == (1059 + 100, 1370 + 90, 6200 + 900, 26500 + 13000, 35129 + 14090)
    assert tokens(daily(conn)["2026-11-21"]) == DAY2
    # a compaction strips the metrics of earlier messages: those tokens were spent, the rows stay
    for m in doc["messages"]:
        m.pop("metrics", None)
    path.write_text(json.dumps(doc))
    conn, res = sync(tmp_path / "h.db", pricer, sources=("cline",))
    assert res["cline"].files_read == 1
    assert daily(conn)["2026-11-20"]["totalTokens"] == 35129 + 14090
    assert daily(conn)["2026-11-21"]["totalTokens"] == 35695


def test_fork_copies_count_once_in_any_order(home, pricer, tmp_path) -> None:
    """The fork alone (its parent's folder gone) still counts the copied calls, in the parent's
    session; the parent read later (or the fork read first) adds nothing."""
    parent = tmp_path / "parent"
    shutil.move(sessions(home) / LEAD, parent)
    conn, _ = sync(tmp_path / "h.db", pricer, sources=("cline",))
    got = rows(conn)
    k = cline_sessions.KEY_PREFIX
    assert got[k + "Qm7Lx2Rb9Nc4Wd8Ky1JfZ"][0] == LEAD and got[k + "Ty7Ui0Op3As6Df9Gh2Jk5"][0] == FORK
    shutil.move(parent, sessions(home) / LEAD)
    conn, _ = sync(tmp_path / "h.db", pricer, sources=("cline",))
    assert tokens(daily(conn)["2026-11-20"]) == DAY1 and tokens(daily(conn)["2026-11-21"]) == DAY2
    assert rows(conn) == rows(sync(tmp_path / "fresh.db", pricer, sources=("cline",))[0])


def test_a_fork_of_a_fork_gives_each_copy_to_the_session_that_spent_it(home, pricer, tmp_path) -> None:
    second = "1795240000000_s3c0n"
    d = sessions(home) / second
    d.mkdir()
    (d / f"{second}.json").write_text(json.dumps({"session_id": second, "model": "claude-sonnet-4-5", "metadata": {
        "fork": {"forkedFromSessionId": FORK, "forkedAt": "2026-11-21T04:00:00.000Z", "source": "cli"}}}))
    fork = json.loads(_messages(home, FORK).read_text())
    fork["sessionId"] = second
    fork["messages"].append({"id": "Ss1Ee2Cc3Oo4Nn5Dd6Ff7", "role": "assistant", "ts": 1795244400000,
                             "metrics": {"inputTokens": 100, "outputTokens": 10}})  # no modelInfo
    (d / f"{second}.messages.json").write_text(json.dumps(fork))
    conn, _ = sync(tmp_path / "h.db", pricer, sources=("cline",))
    got = rows(conn)
    k = cline_sessions.KEY_PREFIX
    assert got[k + "Qm7Lx2Rb9Nc4Wd8Ky1JfZ"][0] == LEAD
    assert got[k + "Ty7Ui0Op3As6Df9Gh2Jk5"][0] == FORK
    assert got[k + "Ss1Ee2Cc3Oo4Nn5Dd6Ff7"] == (second, None, "claude-sonnet-4-5", 100, 10, 0, 0, 0)
    assert conn.execute("SELECT model_fallback FROM ledger WHERE key = ?",
                        (k + "Ss1Ee2Cc3Oo4Nn5Dd6Ff7",)).fetchone() == (1,)
    assert daily(conn)["2026-11-21"]["totalTokens"] == 35695 + 110


def test_partial_corrupt_and_missing_files(pricer, tmp_path) -> None:
    folder = tmp_path / "sessions" / "s1"
    folder.mkdir(parents=True)
    f = LocalFile(str(folder / "s1.messages.json"), "cline", None, "s1", "sessions/s1/s1.messages.json")
    parse = cline_sessions.parse_file
    assert parse(b'{"version":1,"messages":[{"id":"a","role":"assist', f, pricer) == ([], 1)
    assert parse(b'[1, 2]', f, pricer) == ([], 1)
    assert parse(b'{"messages": {"not": "a list"}}', f, pricer) == ([], 1)
    assert parse(b'', f, pricer) == ([], 1)
    doc = {"messages": [
        "junk",
        {"role": "assistant", "ts": 1795165205000, "metrics": {"inputTokens": -5}},
        {"role": "assistant", "ts": 1795165205000, "metrics": {"inputTokens": 10**13}},
        {"role": "assistant", "ts": "yesterday", "metrics": {"inputTokens": 5}},
        {"role": "assistant", "ts": 1795165205000, "metrics": "lots"},
        {"role": "user", "ts": 1795165205000, "metrics": {"inputTokens": 5}},  # not an assistant's
        # no id (not written by the current SDK), ISO time, no manifest: no project or fallback model
        {"role": "assistant", "ts": "2026-11-20T09:00:05Z", "modelInfo": {"id": "m"},
         "metrics": {"inputTokens": 30, "outputTokens": 4, "cacheReadTokens": 20, "cost": "free"}},
    ]}
    recs, skipped = parse(json.dumps(doc).encode(), f, pricer)
    assert skipped == 3
    assert [(r.key, r.ts_ms, r.session, r.project, r.model, r.input, r.output, r.cache_read, r.logged_cost_pico)
            for r in recs] == [("session-msg|1795165205000|m|30|4|0|20", 1795165205000, "s1", None, "m", 10, 4,
                                20, None)]


def test_locations_env_vars_and_config_roots(isolated, monkeypatch) -> None:
    home = isolated / "home"
    default = home / ".cline" / "data" / "sessions"
    code = home / ".config" / "Code" / "User" / "globalStorage" / "saoudrizwan.claude-dev" / "sessions"
    for d in (default, code):
        d.mkdir(parents=True)
    assert cline_sessions.session_roots() == ([default, code], None)
    # $CLINE_SESSION_DATA_DIR replaces the data dir's sessions/ (the extension's storage stays)
    explicit = isolated / "elsewhere"
    explicit.mkdir()
    monkeypatch.setenv("CLINE_SESSION_DATA_DIR", str(explicit))
    assert cline_sessions.session_roots() == ([explicit, code], None)
    monkeypatch.setenv("CLINE_SESSION_DATA_DIR", str(isolated / "nowhere"))
    assert cline_sessions.session_roots()[1] == f"no Cline sessions folder in CLINE_SESSION_DATA_DIR " \
                                                f"({isolated / 'nowhere'})"
    monkeypatch.delenv("CLINE_SESSION_DATA_DIR")
    monkeypatch.setenv("CLINE_DIR", str(isolated / "cli"))
    (isolated / "cli" / "data" / "sessions").mkdir(parents=True)
    assert cline_sessions.session_roots()[0][0] == isolated / "cli" / "data" / "sessions"
    # ccusage's $CLINE_HOME: a comma list of roots; an archive may hold sessions/ at its top
    monkeypatch.delenv("CLINE_DIR")
    (isolated / "archive" / "sessions").mkdir(parents=True)
    monkeypatch.setenv("CLINE_HOME", f"{isolated / 'cli'}, {isolated / 'archive'}")
    assert cline_sessions.session_roots()[0][:2] == [isolated / "cli" / "data" / "sessions",
                                                     isolated / "archive" / "sessions"]
    monkeypatch.delenv("CLINE_HOME")
    # config roots: a sessions folder, a data dir, a Cline home, a globalStorage folder, a user dir
    for root, want in ((isolated / "x" / "sessions", isolated / "x" / "sessions"),
                       (isolated / "cli" / "data", isolated / "cli" / "data" / "sessions"),
                       (isolated / "cli", isolated / "cli" / "data" / "sessions"),
                       (home / ".config" / "Code" / "User" / "globalStorage", code),
                       (home / ".config" / "Code", code)):
        want.mkdir(parents=True, exist_ok=True)
        assert want in cline_sessions.session_roots([str(root)])[0], root
    assert str(isolated / "y" / "sessions") in cline_sessions.looked([str(isolated / "y")])


def test_a_cline_home_with_only_sessions_is_no_problem(isolated, pricer, tmp_path, monkeypatch) -> None:
    """$CLINE_DATA_DIR naming a CLI-only data dir (sessions/, no tasks/) reads it, no problem
    shown; naming nothing at all says so, once."""
    data = isolated / "cli-data"
    shutil.copytree(FIX / "data" / "sessions", data / "sessions")
    monkeypatch.setenv("CLINE_DATA_DIR", str(data))
    conn, res = sync(tmp_path / "h.db", pricer, sources=("cline",))
    assert res["cline"].problem is None and res["cline"].files == 5
    # without the classic task's folder its two requests are missing; the resumed call is there
    assert daily(conn)["2026-11-20"]["totalTokens"] == 35129 - 3510 - 3604
    assert daily(conn)["2026-11-21"]["totalTokens"] == 35695
    assert registry.reader("cline").where(())[1] is None
    monkeypatch.setenv("CLINE_DATA_DIR", str(isolated / "nowhere"))
    where, problem = registry.reader("cline").where(())
    assert where == [] and problem == f"no Cline data folder with tasks/ in CLINE_DATA_DIR ({isolated / 'nowhere'})"


def test_sources_command_names_the_sessions_folders(home, isolated, capsys) -> None:
    capsys.readouterr()
    assert main(["sync", "-q", "--source", "cline"]) == 0
    capsys.readouterr()
    assert main(["sources", "--json"]) == 0
    row = next(s for s in json.loads(capsys.readouterr().out) if s["name"] == "cline")
    assert str(sessions(home)) in row["paths"] and str(home / "data" / "tasks") in row["paths"]
    assert row["records"] == 9
    capsys.readouterr()
    assert main(["sources"]) == 0
    out = capsys.readouterr().out
    assert str(sessions(home)) in out


def test_sources_command_says_where_it_looked(isolated, capsys) -> None:
    capsys.readouterr()
    assert main(["sources", "--json"]) == 0
    row = next(s for s in json.loads(capsys.readouterr().out) if s["name"] == "cline")
    home = isolated / "home"
    assert row["paths"] == []
    assert str(home / ".cline" / "data" / "sessions") in row["looked"]
    assert str(home / ".cline" / "data" / "tasks") in row["looked"]
    assert "CLINE_SESSION_DATA_DIR" in row["message"]


def test_auto_mode_uses_the_logged_cost(home, pricer, tmp_path) -> None:
    conn, _ = sync(tmp_path / "h.db", pricer, mode="auto", sources=("cline",))
    cost = conn.execute("SELECT cost_pico FROM ledger WHERE key = ?",
                        (cline_sessions.KEY_PREFIX + "Rt6Yu9Io2Pa5Sd8Fg1HjK",)).fetchone()[0]
    assert cost == 2_100_000_000  # $0.0021 as logged (an OpenRouter model the price table may not know)
