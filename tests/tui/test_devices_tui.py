"""Issue 18 in the dashboard: its refresh merges the share folder, and each device is listed
with its last contact under the sources."""

from __future__ import annotations

import os

from tests.corpus import make_corpus, stored, truth
from tests.tui.conftest import FROZEN_NOW, rendered, wait_for
from tokentui.cli.main import main
from tokentui.config import load_settings
from tokentui.services.session import RefreshPlan, Session
from tokentui.tui.app import TokentopApp
from tokentui.tui.widgets.source_status_list import SourceStatusList


def _other_device_exports(tmp_path, monkeypatch, share) -> dict:
    """A second machine ("desktop", its own data dir and logs) syncs into ``share``."""
    corpus = make_corpus(tmp_path / "other", 0.3, seed=77, days=4)
    cfg = tmp_path / "desktop" / "config.toml"
    cfg.parent.mkdir()
    cfg.write_text(f'device = "desktop"\n[share]\nfolder = "{share}"\n')
    env = {"TOKENTOP_CONFIG": str(cfg), "TOKENTOP_DATA_DIR": str(tmp_path / "desktop" / "data"),
           "CLAUDE_CONFIG_DIR": str(corpus / "claude"), "CODEX_HOME": str(corpus / "codex")}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        assert main(["sync", "-q"]) == 0
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return truth(corpus)


def _laptop(tmp_path, share):
    cfg = tmp_path / "config" / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(f'device = "laptop"\ntimezone = "UTC"\nrefresh_seconds = 3600\n[share]\nfolder = "{share}"\n')
    return load_settings(cfg)


def test_a_dashboard_refresh_imports_the_other_devices_and_lists_them(isolated, tmp_path, monkeypatch):
    share = tmp_path / "share"
    share.mkdir()
    want = _other_device_exports(tmp_path, monkeypatch, share)
    session = Session(_laptop(tmp_path, share), db_path=tmp_path / "data" / "history.db", clock=lambda: FROZEN_NOW)
    try:
        res = session.refresh(RefreshPlan(True, False), None)
        assert stored(session.store()) == want
        names = {d.name: d for d in res.snapshot.devices}
        assert set(names) == {"laptop", "desktop"} and names["laptop"].this_device
        assert names["desktop"].last_contact_ms and names["desktop"].records == sum(v[4] for v in want.values())
    finally:
        session.close()


async def test_the_sources_box_shows_each_device_with_its_last_contact(isolated, tmp_path, monkeypatch):
    share = tmp_path / "share"
    share.mkdir()
    _other_device_exports(tmp_path, monkeypatch, share)
    app = TokentopApp(_laptop(tmp_path, share), db_path=tmp_path / "data" / "history.db")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None and app.snapshot.devices, timeout=20,
                       what="devices in the snapshot")
        await pilot.pause(0.2)
        text = rendered(app.screen.query_one(SourceStatusList))
        assert "⇄ desktop" in text and "ago" in text and "laptop (this)" in text


async def test_history_filters_by_device_when_the_history_has_several(isolated, tmp_path, monkeypatch):
    from textual.widgets import Select

    from tokentui.core.records import UsageRecord
    from tokentui.store import ledger
    from tokentui.store.db import connect, transaction

    db = tmp_path / "data" / "history.db"
    conn = connect(db)
    day = int(FROZEN_NOW.timestamp() * 1000) - 3 * 86_400_000
    with transaction(conn):
        for name, tokens in (("laptop", 1000), ("desk\x1b[31mtop", 250)):
            ledger.upsert(conn, [UsageRecord("claude-code", f"{name}|{n}", day + n * 60_000, "m", tokens, 0, 0, 0, 0, 0)
                                 for n in range(4)], name)
    conn.close()
    cfg = tmp_path / "config" / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text('device = "laptop"\ntimezone = "UTC"\nrefresh_seconds = 3600\n')
    app = TokentopApp(load_settings(cfg), db_path=db, clock=lambda: FROZEN_NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None, timeout=20, what="first refresh")
        await pilot.press("2")
        await wait_for(pilot, lambda: app.history is not None, what="history")
        pick = app.screen.query_one("#history-device", Select)
        await wait_for(pilot, lambda: pick.display, what="the device filter shown")
        assert app.history.total_tokens == 5000
        pick.value = "desk\x1b[31mtop"
        await wait_for(pilot, lambda: app.history.device == "desk\x1b[31mtop", what="device filter")
        assert app.history.total_tokens == 1000
        summary = str(app.screen.query_one("#history-summary").render())
        assert "desk\\u001b[31mtop" in summary and "\x1b" not in summary
