"""Cline / Roo Code / Kilo Code (spec/agents.md §10): the fixture's hand-checked totals through a
real sync from the default VS Code location, in UTC and Los Angeles; tokensIn per apiProtocol,
the old api_req_finished generation, deleted requests, a task caught mid-write, corrupt
messages, re-reads and deleted tasks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import FIXTURES
from tests.unit.ingest_helpers import sync, tokens
from tokentui.core.pricing import Pricer
from tokentui.services import report
from tokentui.sources import cline, registry
from tokentui.sources.common import LocalFile

FIX = FIXTURES / "agents" / "cline-family" / "globalStorage"
SRC = ("cline", "roo-code", "kilo-code")
PICO = 10**12


@pytest.fixture
def pricer(fixture_price_table):
    return Pricer(table=fixture_price_table, use_genai=False)


@pytest.fixture
def storage(isolated) -> Path:
    """The fixture as VS Code keeps it on Linux: ~/.config/Code/User/globalStorage (zero set-up)."""
    root = isolated / "home" / ".config" / "Code" / "User" / "globalStorage"
    shutil.copytree(FIX, root)
    return root


def daily(conn, tz: str = "UTC", sources=SRC) -> dict[str, dict]:
    rep = report.build(conn, report.ReportRequest("daily", tz=ZoneInfo(tz), sources=sources))
    return {row["date"]: row for row in rep["daily"]}


def test_fixture_totals_utc(storage, pricer, tmp_path) -> None:
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert [(res[s].files, res[s].records) for s in SRC] == [(2, 5), (1, 2), (1, 1)]
    assert res["cline"].skipped == 1  # the api_req_started whose text is not JSON
    d = daily(conn)
    assert sorted(d) == ["2026-11-20", "2026-11-21"]
    assert tokens(d["2026-11-20"]) == (26, 1203, 15400, 49500, 66129)
    assert tokens(d["2026-11-21"]) == (2826, 1060, 5000, 7680, 16566)
    logged = dict(conn.execute(
        "SELECT substr(datetime(ts_ms/1000,'unixepoch'),1,10), SUM(logged_cost_pico) FROM ledger "
        "WHERE source IN ('cline','roo-code','kilo-code') GROUP BY 1"))
    assert logged["2026-11-20"] / PICO == pytest.approx(0.090723, abs=1e-9)
    assert logged["2026-11-21"] / PICO == pytest.approx(0.038278, abs=1e-9)
    models = dict(conn.execute("SELECT key, model FROM ledger WHERE source IN ('roo-code','kilo-code')"))
    assert models == {"7b0c1d2e-3f4a-4b5c-8d6e-7f8a9b0c1d2e|1795219190000": "claude-sonnet-4-5",
                      "7b0c1d2e-3f4a-4b5c-8d6e-7f8a9b0c1d2e|1795219205000": "gpt-5.1",
                      "2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f|1795255010000": "claude-sonnet-4-5"}
    cl = dict(conn.execute("SELECT key, model FROM ledger WHERE source='cline'"))
    assert cl["1795161600000|1795161612000"] == "claude-sonnet-4-5-20250929"
    assert cl["1795251600000|1795251600100"] is None  # old generation: no metadata, c5 at the started ts


def test_fixture_totals_los_angeles(storage, pricer, tmp_path) -> None:
    conn, _ = sync(tmp_path / "h.db", pricer, sources=SRC)
    d = daily(conn, "America/Los_Angeles")
    assert tokens(d["2026-11-20"]) == (1346, 1903, 15400, 57180, 75829)
    assert tokens(d["2026-11-21"]) == (1506, 360, 5000, 0, 6866)


def test_resync_rewrite_and_deleted_task(storage, pricer, tmp_path) -> None:
    sync(tmp_path / "h.db", pricer, sources=SRC)
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert sum(res[s].files_read for s in SRC) == 0
    # the extension rewrites the file: the in-flight request got its usage
    ui = storage / "saoudrizwan.claude-dev" / "tasks" / "1795161600000" / "ui_messages.json"
    msgs = json.loads(ui.read_text())
    for m in msgs:
        if m.get("ts") == 1795161650000:
            m["text"] = json.dumps({"request": "x", "tokensIn": 7, "tokensOut": 93, "cacheWrites": 0,
                                    "cacheReads": 0, "cost": 0.001})
    ui.write_text(json.dumps(msgs))
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert res["cline"].files_read == 1
    assert daily(conn)["2026-11-20"]["totalTokens"] == 66129 + 100
    # a task deleted in the editor keeps its history
    shutil.rmtree(storage / "rooveterinaryinc.roo-cline" / "tasks")
    conn, _ = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert daily(conn)["2026-11-20"]["totalTokens"] == 66129 + 100
    assert daily(conn)["2026-11-21"]["totalTokens"] == 16566


def test_partial_write_and_corrupt_messages(pricer) -> None:
    f = LocalFile("/x/tasks/t1/ui_messages.json", "roo-code", None, "t1", "t1")
    parse = cline.parse_for(cline.ROO)
    assert parse(b'[{"ts":1795219190000,"type":"say","say":"api_req_started","text":"{\\"tokens', f, pricer) == ([], 1)
    assert parse(b'{"not": "a list"}', f, pricer) == ([], 1)
    doc = [
        {"ts": 1795219190000, "type": "say", "say": "api_req_started", "text": json.dumps({"tokensIn": "many"})},
        {"ts": "yesterday", "type": "say", "say": "api_req_started", "text": json.dumps({"tokensIn": 5})},
        {"ts": 1795219191000, "type": "say", "say": "api_req_started", "text": "[1, 2"},
        {"ts": 1795219192000, "type": "say", "say": "api_req_started", "text": json.dumps({"tokensIn": 10**12})},
        {"ts": 1795219193000, "type": "say", "say": "api_req_started",
         "text": json.dumps({"apiProtocol": "openai", "tokensIn": 100, "tokensOut": 5, "cacheReads": 40})},
        "junk",
    ]
    recs, skipped = parse(json.dumps(doc).encode(), f, pricer)
    assert skipped == 4
    assert [(r.key, r.input, r.output, r.cache_read, r.model) for r in recs] == [
        ("t1|1795219193000", 60, 5, 40, None)]


def test_locations_env_and_config_roots(isolated, monkeypatch) -> None:
    home = isolated / "home"
    (home / ".cline" / "data" / "tasks").mkdir(parents=True)
    (home / ".vscode-server" / "data" / "User" / "globalStorage" / "kilocode.kilo-code" / "tasks").mkdir(parents=True)
    assert cline.task_roots(cline.CLINE)[0] == [home / ".cline" / "data" / "tasks"]
    assert cline.task_roots(cline.KILO)[0] == [
        home / ".vscode-server" / "data" / "User" / "globalStorage" / "kilocode.kilo-code" / "tasks"]
    monkeypatch.setenv("CLINE_DIR", str(isolated / "nowhere"))
    assert cline.task_roots(cline.CLINE) == ([], f"no Cline data folder with tasks/ in CLINE_DIR ({isolated / 'nowhere'})")
    other = isolated / "portable" / "globalStorage" / "rooveterinaryinc.roo-cline" / "tasks"
    other.mkdir(parents=True)
    assert cline.task_roots(cline.ROO, [str(isolated / "portable" / "globalStorage")])[0] == [other]
    assert [s for s in registry.names(registry.LOCAL) if s in SRC] == list(SRC)


def test_a_task_file_over_the_size_cap_is_named_not_read(storage, pricer, tmp_path, monkeypatch) -> None:
    """Whole-file readers are bounded: a file larger than the cap is not read into memory; the
    source's status names it and every other task is read."""
    from tokentui.services import ingest

    big = storage / "kilocode.kilo-code" / "tasks" / "2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f" / "ui_messages.json"
    big.write_bytes(big.read_bytes() + b" " * 8000)  # still valid JSON, now over the cap below
    monkeypatch.setattr(ingest, "MAX_WHOLE_FILE", 4000)
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert res["kilo-code"].records == 0 and "too large" in res["kilo-code"].errors[0]
    assert res["cline"].records == 5 and res["roo-code"].records == 2


def test_auto_mode_uses_the_extensions_logged_cost_as_a_reprice_would(storage, pricer, tmp_path) -> None:
    """``pricing.mode = auto`` uses a cost the agent logged: the first sync and a later re-price
    give the same figures (the old-generation request has no model, only Cline's own cost)."""
    from tokentui.services.ingest import Ingestor
    from tokentui.store.db import set_meta, transaction

    conn, _ = sync(tmp_path / "h.db", pricer, mode="auto", sources=SRC)
    first = daily(conn)["2026-11-21"]
    assert first["unpricedTokens"] == 0
    cost = conn.execute("SELECT cost_pico FROM ledger WHERE key = '1795251600000|1795251600100'").fetchone()[0]
    assert cost == 7_800_000_000  # $0.0078 as logged
    with transaction(conn):
        set_meta(conn, "pricing_fingerprint", "changed")
    assert Ingestor(conn, pricer, device="test", mode="auto").reprice_if_needed() > 0
    assert daily(conn)["2026-11-21"]["totalCost"] == first["totalCost"]


@pytest.mark.parametrize("platform, base", [("linux", ".config"), ("darwin", "Library/Application Support"),
                                            ("win32", "AppData/Roaming")])
def test_editor_user_dirs_per_os(isolated, monkeypatch, platform, base) -> None:
    monkeypatch.setattr(cline.sys, "platform", platform)
    monkeypatch.delenv("APPDATA", raising=False)
    dirs = {Path(d) for d in cline.editor_user_dirs()}
    for editor in ("Code", "Code - Insiders", "VSCodium", "Cursor", "Windsurf"):
        assert isolated / "home" / base / editor in dirs
    assert isolated / "home" / ".vscode-server" / "data" in dirs
    if platform == "win32":
        monkeypatch.setenv("APPDATA", str(isolated / "roaming"))
        assert cline.editor_user_dirs()[0] == str(isolated / "roaming" / "Code")
