"""Plan limits in the snapshot export: its own section, provenance "official", every format
verifies."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tests.unit.test_quotas_core import G4, codex_obs
from tokentui import paths
from tokentui.config import load_settings
from tokentui.export import FORMATS, render
from tokentui.export.verify import verify_text
from tokentui.services.snapshot import ExportOptions, build
from tokentui.services.sync import open_store
from tokentui.store import quotas as store
from tokentui.store.db import transaction

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def conn(isolated):
    cfg = paths.config_file()
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text('timezone = "UTC"\n', encoding="utf-8")
    c = open_store()
    with transaction(c):
        store.upsert(c, codex_obs(G4), "laptop")
    yield c
    c.close()


def test_the_snapshot_has_a_plan_limit_section_with_provenance(conn):
    snap = build(conn, load_settings(), ExportOptions(now=NOW))
    rows = {(w["limit"], w["window"]): w for w in snap.data["quotas"]}
    week = rows[("codex", "seven_day")]
    assert (week["used_percent"], week["provenance"], week["source"], week["stage"]) == (
        "58.00", "official", "codex-log", "far ahead")
    assert week["runs_out_at"] == "2026-11-25T13:08:12.931Z" and week["expected_percent"] == "42.86"
    assert rows[("codex", "five_hour")]["runs_out_at_recent"].startswith("2026-11-23T12:23:23")
    assert all("account" not in w for w in snap.data["quotas"])  # an identity, not a figure
    assert any("Plan limits are the vendors' own" in n for n in snap.data["notes"])


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_shows_it_and_verifies(conn, fmt):
    snap = build(conn, load_settings(), ExportOptions(now=NOW))
    text = render(snap, fmt)
    v = verify_text(text, render(snap, "json") if fmt == "csv" else None)  # a CSV's data is the file beside it
    assert v.ok, v.message
    if fmt in ("md", "html"):
        assert "Plan limits" in text and "Codex plan" in text and "codex-log (official, stale)" in text
        assert "far ahead" in text and "2026-11-25 13:08" in text


def test_no_samples_no_section(isolated):
    cfg = paths.config_file()
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text('timezone = "UTC"\n', encoding="utf-8")
    snap = build(open_store(), load_settings(), ExportOptions(now=NOW))
    assert "quotas" not in snap.data and "Plan limits" not in render(snap, "md")
