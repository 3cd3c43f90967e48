"""Issue 18: three devices (own data dirs, own generated corpora) merged through one share folder."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from tests.corpus import make_corpus, stored, truth
from tokentui.cli.main import main
from tokentui.core import segment
from tokentui.store.db import connect

NAMES = ("laptop", "desktop", "server")


class Fleet:
    """Three devices sharing ``share``; ``run(i, argv)`` runs the CLI as device ``i``."""

    def __init__(self, tmp_path: Path, monkeypatch, capsys, corpora: list[Path]) -> None:
        self.tmp, self.mp, self.capsys, self.corpora = tmp_path, monkeypatch, capsys, corpora
        self.share = tmp_path / "share"
        self.share.mkdir()
        for i, name in enumerate(NAMES):
            cfg = self.config(i)
            cfg.parent.mkdir(parents=True)
            cfg.write_text(f'device = "{name}"\ntimezone = "UTC"\n[share]\nfolder = "{self.share}"\n')

    def config(self, i: int) -> Path:
        return self.tmp / f"dev{i}" / "config" / "config.toml"

    def data(self, i: int) -> Path:
        return self.tmp / f"dev{i}" / "data"

    def run(self, i: int, *argv: str) -> tuple[int, str, str]:
        self.mp.setenv("TOKENTOP_CONFIG", str(self.config(i)))
        self.mp.setenv("TOKENTOP_DATA_DIR", str(self.data(i)))
        self.mp.setenv("CLAUDE_CONFIG_DIR", str(self.corpora[i] / "claude"))
        self.mp.setenv("CODEX_HOME", str(self.corpora[i] / "codex"))
        self.capsys.readouterr()
        code = main(list(argv))
        out = self.capsys.readouterr()
        return code, out.out, out.err

    def sync(self, i: int) -> str:
        code, _out, err = self.run(i, "sync", "-q")
        assert code == 0, err
        return err

    def report(self, i: int) -> dict:
        code, out, err = self.run(i, "report", "daily", "--json", "--no-sync", "--timezone", "UTC")
        assert code == 0, err
        return json.loads(out)

    def stored(self, i: int) -> dict:
        conn = connect(self.data(i) / "history.db")
        try:
            return stored(conn)
        finally:
            conn.close()

    def folder_of(self, i: int) -> Path:
        return self.share / (self.data(i) / "device-id").read_text().strip()


@pytest.fixture(scope="module")
def corpora(tmp_path_factory) -> list[Path]:
    base = tmp_path_factory.mktemp("corpora")
    return [make_corpus(base / f"c{i}", 0.6, seed=100 + i, days=8) for i in range(3)]


def merged_truth(corpora: list[Path]) -> dict:
    out: dict = {}
    for c in corpora:
        for k, v in truth(c).items():
            prev = out.get(k)
            out[k] = v if prev is None else tuple(a + b for a, b in zip(prev, v))
    return out


def totals_of(truths: dict) -> tuple[int, int, int, int]:
    return tuple(sum(v[i] for v in truths.values()) for i in range(4))


@pytest.fixture
def fleet(tmp_path, monkeypatch, capsys, corpora) -> Fleet:
    return Fleet(tmp_path, monkeypatch, capsys, corpora)


@pytest.mark.parametrize("order", [(0, 1, 2), (2, 0, 1), (1, 2, 1, 0)])
def test_three_devices_end_with_the_sum_of_their_truths_in_any_order(fleet, corpora, order) -> None:
    want = merged_truth(corpora)
    for i in order:  # a first round in some order: some devices import before others export
        fleet.sync(i)
    for i in (0, 1, 2):  # then everyone syncs once more
        fleet.sync(i)
    for i in (0, 1, 2):
        fleet.sync(i)
    reports = [fleet.report(i) for i in range(3)]
    for i in range(3):
        assert fleet.stored(i) == want  # per day, source and model, with record counts: exact
        t = reports[i]["totals"]
        assert (t["inputTokens"], t["outputTokens"], t["cacheCreationTokens"], t["cacheReadTokens"]) == \
            totals_of(want)
    assert reports[0] == reports[1] == reports[2]
    # a second round changes nothing
    for i in range(3):
        fleet.sync(i)
    assert [fleet.report(i) for i in range(3)] == reports
    assert all(fleet.stored(i) == want for i in range(3))


def test_device_filter_and_per_device_breakdown(fleet, corpora) -> None:
    for i in (0, 1, 2, 0, 1):
        fleet.sync(i)
    for i, name in enumerate(NAMES):
        code, out, err = fleet.run(0, "report", "daily", "--json", "--no-sync", "--device", name)
        assert code == 0, err
        t = json.loads(out)["totals"]
        assert (t["inputTokens"], t["outputTokens"], t["cacheCreationTokens"], t["cacheReadTokens"]) == \
            totals_of(truth(corpora[i]))
    code, out, err = fleet.run(0, "report", "daily", "--json", "--no-sync")
    data = json.loads(out)
    assert set(data["devices"]) == set(NAMES)
    assert sum(d["totalTokens"] for d in data["devices"].values()) == data["totals"]["totalTokens"]
    code, out, err = fleet.run(0, "report", "daily", "--no-sync", "--device", "nope")
    assert code == 2 and "nope" in err and "laptop" in err


def test_devices_list_shows_every_device_with_records_and_last_export(fleet, corpora) -> None:
    for i in (0, 1, 2, 0):
        fleet.sync(i)
    code, out, err = fleet.run(0, "devices", "--json")
    assert code == 0, err
    data = json.loads(out)
    by_name = {d["name"]: d for d in data["devices"]}
    assert set(by_name) == set(NAMES) and by_name["laptop"]["thisDevice"]
    for i, name in enumerate(NAMES):
        assert by_name[name]["records"] == sum(v[4] for v in truth(corpora[i]).values())
        assert by_name[name]["lastExportMs"]
    code, out, err = fleet.run(0, "devices")
    assert code == 0 and "desktop" in out and "server" in out and "laptop (this one)" in out


def _segments(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if segment.parse_name(p.name))


def test_truncated_segment_conflict_copy_and_segment_written_twice(fleet, corpora) -> None:
    want = merged_truth(corpora[:2])
    fleet.sync(1)
    seg = _segments(fleet.folder_of(1))[0]
    whole = seg.read_bytes()
    # a half-copied segment: the sync engine has written only part of it so far
    seg.write_bytes(whole[: len(whole) // 2])
    # a conflict copy and a temp file next to it
    (seg.parent / (seg.name[:-8] + ".sync-conflict-20261206-101010-ABCDEFG.json.gz")).write_bytes(whole)
    (seg.parent / f"{seg.name[:-8]} (conflicted copy 2026-12-06).json.gz").write_bytes(whole)
    (seg.parent / ".syncthing.seg.tmp").write_bytes(whole[:10])
    err = fleet.sync(0)
    assert seg.name in err and "checksum" in err
    assert "sync-conflict" in err and "conflicted copy" in err
    assert fleet.stored(0) == truth(corpora[0])  # nothing of the half segment
    # the copy completes: the next sync imports it, and only then
    seg.write_bytes(whole)
    fleet.sync(0)
    assert fleet.stored(0) == want
    # the same segment number written twice, with other bytes (same records, packed again)
    data = json.loads(gzip.decompress(whole))
    cols = tuple(data["columns"])
    rows = list(zip(*(data["columns"][c] for c in cols)))
    again, name = segment.encode(data["device"], data["name"], data["seq"], data["created_ms"] + 1,
                                 rows, data["deleted"], cols, level=1)
    assert name != seg.name
    (seg.parent / name).write_bytes(again)
    err = fleet.sync(0)
    assert "written twice" in err
    assert fleet.stored(0) == want
    code, out, _ = fleet.run(0, "devices")
    assert "written twice" in out


def test_out_of_order_missing_and_deleted_device_folder(fleet, corpora) -> None:
    fleet.sync(1)
    # device 1 exports more: a second segment (an appended log makes new rows)
    extra = corpora[1] / "claude"
    fleet.mp.setenv("CLAUDE_CONFIG_DIR", str(extra))
    first = _segments(fleet.folder_of(1))
    stash = fleet.tmp / "stash"
    stash.mkdir()
    for p in first:  # segment 1 has not arrived yet
        shutil.move(p, stash / p.name)
    fleet.sync(0)
    assert fleet.stored(0) == truth(corpora[0])
    for p in stash.iterdir():
        shutil.move(p, fleet.folder_of(1) / p.name)
    fleet.sync(0)
    assert fleet.stored(0) == merged_truth(corpora[:2])
    shutil.rmtree(fleet.folder_of(1))  # a device folder deleted: what was imported stays
    fleet.sync(0)
    assert fleet.stored(0) == merged_truth(corpora[:2])


def test_no_folder_set_touches_nothing(tmp_path, monkeypatch, capsys, corpora) -> None:
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(corpora[0] / "claude"))
    monkeypatch.setenv("CODEX_HOME", str(corpora[0] / "codex"))
    assert main(["sync", "-q"]) == 0
    assert not (tmp_path / "data" / "device-id").exists()


def test_a_bad_segment_is_named_in_sources_and_devices(fleet, corpora) -> None:
    fleet.sync(1)
    seg = _segments(fleet.folder_of(1))[0]
    seg.write_bytes(seg.read_bytes()[:100])
    fleet.sync(0)
    for argv in (("sources",), ("devices",)):
        code, out, _ = fleet.run(0, *argv)
        assert code == 0 and seg.name in out and "checksum" in out
    code, out, _ = fleet.run(0, "sources", "--json")
    [share] = [r for r in json.loads(out) if r["name"] == "share"]
    assert code == 0 and share["status"] == "problems" and share["path"] == str(fleet.share)
    assert any(seg.name in p and "checksum" in p for p in share["problems"])


def test_devices_folder_and_name_commands(tmp_path, monkeypatch, capsys) -> None:
    from tokentui.config import load_settings

    folder = tmp_path / "Sync" / "tokentop"
    assert main(["devices", "folder", str(folder)]) == 0
    assert folder.is_dir() and load_settings().share_folder == str(folder)
    assert main(["devices", "name", "work-laptop"]) == 0
    assert load_settings().device == "work-laptop"
    assert main(["devices", "name", "bad\x1b]0;x\x07"]) == 2
    assert main(["devices", "folder"]) == 2
    (tmp_path / "file").write_text("x")
    assert main(["devices", "folder", str(tmp_path / "file")]) == 2
    assert main(["devices", "folder", "--off"]) == 0
    assert load_settings().share_folder is None
    err = capsys.readouterr().err
    assert "Traceback" not in err


def test_a_hostile_device_name_prints_as_text(fleet, corpora) -> None:
    fleet.config(1).write_text(fleet.config(1).read_text().replace('"desktop"', '"desk\\u001b]0;pwned\\u0007"'))
    fleet.sync(1)
    fleet.sync(0)
    code, out, _ = fleet.run(0, "devices")
    assert code == 0 and "\x1b" not in out and "\\u001b]0;pwned" in out


def test_export_with_include_devices_breaks_usage_down_by_device_and_verifies(fleet, corpora, tmp_path) -> None:
    for i in (0, 1, 2, 0):
        fleet.sync(i)
    out = tmp_path / "snap.json"
    code, _, err = fleet.run(0, "export", "--period", "2026-01-01..2026-12-31", "--no-sync", "--include-devices",
                             "-o", str(out))
    assert code == 0, err
    data = json.loads(out.read_text())["data"]
    by = {d["device"]: d for d in data["by_device"]}
    assert set(by) == set(NAMES)
    for i, name in enumerate(NAMES):
        assert by[name]["records"] == sum(v[4] for v in truth(corpora[i]).values())
    assert sum(d["total_tokens"] for d in by.values()) == data["totals"]["total_tokens"]
    assert fleet.run(0, "verify", str(out))[0] == 0
    code, _, _ = fleet.run(0, "export", "--period", "2026-01-01..2026-12-31", "--no-sync", "-o", str(out))
    assert "by_device" not in json.loads(out.read_text())["data"]  # device names only when asked


def test_the_report_table_lists_each_devices_share(fleet, corpora) -> None:
    for i in (0, 1, 2, 0):
        fleet.sync(i)
    code, out, err = fleet.run(0, "report", "monthly", "--no-sync")
    assert code == 0, err
    line = next(x for x in out.splitlines() if x.startswith("by device"))
    assert all(name in line for name in NAMES)


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="no FIFOs here")
def test_a_fifo_or_a_link_named_like_a_segment_is_never_opened(fleet, corpora) -> None:
    import os

    fleet.sync(1)
    folder = fleet.folder_of(1)
    fifo = folder / segment.file_name(90, 1, "0" * 32)
    os.mkfifo(fifo)
    link = folder / segment.file_name(91, 1, "1" * 32)
    link.symlink_to("/etc/passwd")
    err = fleet.sync(0)  # would hang on the FIFO if it were opened
    assert fifo.name in err and link.name in err and "not a regular file" in err
    assert fleet.stored(0) == merged_truth(corpora[:2])


@pytest.mark.parametrize("seed", [1, 2])
def test_logs_growing_on_three_devices_synced_in_random_order_end_exact(tmp_path, monkeypatch, capsys, corpora,
                                                                          seed) -> None:
    """Each device's logs grow in random pieces (cut mid-line too) between syncs in a random
    order, so devices export half-streamed copies that their dedupe later replaces or deletes;
    every device still ends with the sum of the three truths."""
    import random

    rng = random.Random(seed)
    live = [tmp_path / f"live{i}" for i in range(3)]
    fleet = Fleet(tmp_path, monkeypatch, capsys, live)
    files = [{p: p.read_bytes() for p in sorted(c.rglob("*.jsonl"))} for c in corpora]
    pos = [dict.fromkeys(f, 0) for f in files]

    def grow(i: int, share: float) -> None:
        for p, data in files[i].items():
            goal = min(len(data), int(len(data) * share))
            if goal > pos[i][p]:
                target = live[i] / p.relative_to(corpora[i])
                target.parent.mkdir(parents=True, exist_ok=True)
                with open(target, "ab") as fh:
                    fh.write(data[pos[i][p]:goal])
                pos[i][p] = goal

    for i in range(3):
        (live[i] / "claude" / "projects").mkdir(parents=True)
        (live[i] / "codex" / "sessions").mkdir(parents=True)
    for step in range(10):
        i = rng.randrange(3)
        grow(i, rng.uniform(0.1, 1.0) * (step + 1) / 10)
        fleet.sync(i)
    for i in range(3):
        grow(i, 1.0)
    for i in (2, 1, 0, 2, 1, 0):
        fleet.sync(i)
    want = merged_truth(corpora)
    assert [fleet.stored(i) for i in range(3)] == [want] * 3



def test_two_machines_with_one_device_id_are_told(fleet, corpora, monkeypatch) -> None:
    from tokentui.services import share_export

    fleet.sync(0)
    # a segment this device wrote but did not record (an export killed after its rename) is no twin
    own = fleet.folder_of(0)
    data, name = segment.encode(own.name, "laptop", 2, 1, [], [["claude-code", "x", 1]], host=share_export.host_tag())
    (own / name).write_bytes(data)
    assert "another machine" not in fleet.sync(0)
    fleet.data(1).mkdir(parents=True)
    shutil.copy(fleet.data(0) / "device-id", fleet.data(1) / "device-id")  # a copied data folder
    real = share_export.host_tag
    monkeypatch.setattr(share_export, "host_tag", lambda: "other-host")  # device 1 runs on another machine
    fleet.sync(1)
    monkeypatch.setattr(share_export, "host_tag", real)
    err = fleet.sync(0)
    assert "another machine with this device's id" in err
    assert "another machine" not in fleet.sync(0)  # said once, not at every sync
    code, out, _ = fleet.run(0, "devices")
    assert "copied data folder" in out  # and listed while it lasts


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_markdown_and_html_exports_list_devices_as_text_and_verify(fleet, corpora, tmp_path, fmt) -> None:
    fleet.config(1).write_text(fleet.config(1).read_text().replace('"desktop"', '"<b>[x](http://e)</b>"'))
    for i in (0, 1, 0):
        fleet.sync(i)
    out = tmp_path / f"snap.{fmt}"
    code, _, err = fleet.run(0, "export", "--period", "2026-01-01..2026-12-31", "--no-sync", "--include-devices",
                             "-o", str(out))
    assert code == 0, err
    text = out.read_text()
    assert "By device" in text and "laptop" in text
    section = text.split("By device", 1)[1][:600]
    assert "desktop" not in section and "(http://e)</b>" not in section  # the name is shown escaped, as text
    assert ("&lt;b&gt;" if fmt == "html" else "\\<b") in section
    assert fleet.run(0, "verify", str(out))[0] == 0


def test_plan_limit_samples_travel_to_the_other_devices(tmp_path, monkeypatch, capsys) -> None:
    """Codex's rate_limits read on one machine show as the same windows on the others."""
    from tests.conftest import FIXTURES

    homes = []
    for i in range(3):
        home = tmp_path / f"c{i}"
        (home / "claude" / "projects").mkdir(parents=True)
        if i == 0:
            shutil.copytree(FIXTURES / "quotas" / "codex", home / "codex")
        else:
            (home / "codex" / "sessions").mkdir(parents=True)
        homes.append(home)
    (tmp_path / "fleet").mkdir()
    fleet = Fleet(tmp_path / "fleet", monkeypatch, capsys, homes)
    at = "1795424400"  # 2026-11-23 09:00 UTC: the fixture's windows are current
    fleet.sync(0)
    code, mine, err = fleet.run(0, "quota", "--json", "--no-sync", "--now", at)
    windows = json.loads(mine)
    assert windows and code in (0, 1, 2), err
    for i in (1, 2):
        code, theirs, err = fleet.run(i, "quota", "--json", "--no-sync", "--now", at)
        assert json.loads(theirs) != windows  # nothing before the share step
        fleet.sync(i)
        code, theirs, err = fleet.run(i, "quota", "--json", "--no-sync", "--now", at)
        assert json.loads(theirs) == windows, err
    fleet.sync(1)  # a second round changes nothing
    assert json.loads(fleet.run(1, "quota", "--json", "--no-sync", "--now", at)[1]) == windows
