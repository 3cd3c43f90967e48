"""Adding a local agent is one reader and one registry entry: a throwaway agent registered
here, with nothing else changed, is read by `sync`, counted by `report --source`, accepted by
config validation, listed by `sources` and shown on the Sources screen."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Sequence

import pytest
from textual.widgets import DataTable

from tests.tui.conftest import FROZEN_NOW, settings, wait_for
from tokentui import cli
from tokentui.config import ConfigError, load_settings
from tokentui.core.records import ESTIMATED, UsageRecord
from tokentui.sources import registry
from tokentui.sources.common import LocalFile, loads, walk_files
from tokentui.sources.readers import JsonlLog, LinesParsed

NAME = "toy-agent"
ENV = "TOY_AGENT_HOME"


def _where(extra: Sequence[str] = ()) -> tuple[list[str], str | None]:
    roots = [p for p in [os.environ.get(ENV, ""), *extra] if p and os.path.isdir(p)]
    return roots, None


def _discover(extra: Sequence[str] = (), errors: list[str] | None = None):
    roots, problem = _where(extra)
    files = [LocalFile(path, NAME, "toy-project", Path(path).stem, Path(path).name)
             for root in roots for path in walk_files(Path(root), (".jsonl",), errors)]
    return sorted(files, key=lambda f: f.path), problem


def _parse(chunks, file: LocalFile, state, ctx, row_of, mtime_ms: int = 0) -> LinesParsed:
    """One line per request: ``{"id", "ms", "model", "in", "out"}``."""
    rows, skipped = [], 0
    for lines, _start in chunks:
        for line in lines:
            if not line.strip():
                continue
            try:
                d = loads(line)
                rec = UsageRecord(NAME, d["id"], d["ms"], d["model"], d["in"], d["out"], 0, 0, 0, 0,
                                  file.project, file.session, None, ESTIMATED)
            except (ValueError, KeyError, TypeError):
                skipped += 1
                continue
            row = row_of(rec, False)
            if row is None:
                skipped += 1
            else:
                rows.append(row)
    return LinesParsed(rows, skipped, 0, {})


@pytest.fixture
def toy_agent(tmp_path, monkeypatch):
    home = tmp_path / "toy-home"
    home.mkdir()
    ms = int(FROZEN_NOW.timestamp() * 1000) - 3600_000
    (home / "s1.jsonl").write_text(
        json.dumps({"id": "r1", "ms": ms, "model": "toy-model", "in": 1200, "out": 34}) + "\n"
        + json.dumps({"id": "r2", "ms": ms + 1000, "model": "toy-model", "in": 800, "out": 66}) + "\n"
        + "not json\n")
    monkeypatch.setenv(ENV, str(home))
    registry.register(registry.Source(NAME, registry.LOCAL, "Toy Agent", JsonlLog(_where, _discover, _parse),
                                      env=(ENV,), reads=f"`*.jsonl` under `${ENV}`"))
    yield home
    registry.unregister(NAME)


def test_cli_reads_reports_and_lists_a_registered_agent(toy_agent, capsys):
    assert cli.main(["sync", "-q", f"--source={NAME}"]) == 0
    assert cli.main(["report", "daily", "--json", "--no-sync", "--source", NAME]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["totals"]["inputTokens"] == 2000 and data["totals"]["outputTokens"] == 100
    assert cli.main(["sources", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    toy = rows[NAME]
    assert toy["kind"] == "local" and toy["status"] == "ok" and toy["records"] == 2
    assert toy["paths"] == [str(toy_agent)] and toy["skipped_lines"] == 1
    # the help and the error for an unknown source name it
    assert NAME in _sync_help()
    assert cli.main(["sync", "--source", "no-such-agent"]) == 2
    assert NAME in capsys.readouterr().err


def _sync_help() -> str:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return sub.choices["sync"].format_help()


def test_config_validation_knows_a_registered_agent(toy_agent, tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[sources.{NAME}]\npaths = ["{tmp_path}"]\n')
    assert load_settings(cfg).source(NAME).paths == (str(tmp_path),)
    registry.unregister(NAME)
    with pytest.raises(ConfigError, match="unknown source"):
        load_settings(cfg)


async def test_sources_screen_shows_a_registered_agent(toy_agent, tmp_path):
    from tokentui.tui.app import TokentopApp

    app = TokentopApp(settings(tmp_path), db_path=tmp_path / "data" / "history.db", clock=lambda: FROZEN_NOW)
    async with app.run_test(size=(110, 32)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None and any(
            s.name == NAME and s.records == 2 for s in app.snapshot.sources), what="the toy agent's status")
        await pilot.press("5")
        table = app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == len(registry.names()), what="source rows")
        names = [str(table.get_row_at(i)[1]) for i in range(table.row_count)]
        assert NAME in names
        row = table.get_row_at(names.index(NAME))
        assert str(row[3]) == "ok"
