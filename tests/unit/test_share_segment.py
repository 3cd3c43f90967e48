"""The segment format (pure) and the store side of the device merge: keys, later-write-wins,
deletions, and the same API bucket polled on two machines."""

from __future__ import annotations

import time

import pytest

from tokentui.core import segment
from tokentui.core.records import UsageRecord
from tokentui.services import devices, share_export
from tokentui.services.share_scan import ShareResult
from tokentui.store import ledger, queries, share
from tokentui.store.db import connect, transaction

DEV = "a" * 32


def _row(key: str, tokens: int = 10, stamp: int = 1_000, source: str = "claude-code") -> list:
    cols = dict.fromkeys(segment.COLUMNS)
    cols.update(source=source, key=key, kind="local", ts_ms=1_764_000_000_000, width_s=0, model="m",
                model_fallback=0, input=tokens, output=1, cache_write_5m=0, cache_write_1h=0, cache_read=0,
                reasoning=0, requests=1, cost_pico=None, cost_label="unpriced", sidechain=0, has_speed=0, token_label="exact",
                device="laptop", updated_ms=stamp)
    return [cols[c] for c in segment.COLUMNS]


def test_round_trip_and_name() -> None:
    data, name = segment.encode(DEV, "laptop", 7, 123, [_row("k1"), _row("k2")], [["claude-code", "k0", 5]])
    sn = segment.parse_name(name)
    assert sn is not None and sn.seq == 7 and sn.count == 3 and sn.digest == segment.digest_of(data)
    seg = segment.decode(data, sn, DEV, 1 << 20)
    assert seg.name == "laptop" and seg.rows == [tuple(_row("k1")), tuple(_row("k2"))] and seg.deleted == [["claude-code", "k0", 5]]


@pytest.mark.parametrize("cut", [1, 10, 100, -1])
def test_a_truncated_segment_is_refused_by_its_checksum(cut) -> None:
    data, name = segment.encode(DEV, "laptop", 1, 1, [_row(f"k{i}") for i in range(50)], [])
    with pytest.raises(segment.BadSegment, match="checksum"):
        segment.decode(data[:cut], segment.parse_name(name), DEV, 1 << 20)


@pytest.mark.parametrize("bad,match", [
    ({"input": "12"}, "non-integer input"), ({"input": -5}, "out-of-range"), ({"kind": "x"}, "kind"),
    ({"source": None}, "invalid source"), ({"updated_ms": 1.5}, "non-integer"),
])
def test_a_row_of_the_wrong_type_makes_the_segment_bad(bad, match) -> None:
    row = dict(zip(segment.COLUMNS, _row("k")))
    row.update(bad)
    data, name = segment.encode(DEV, "laptop", 1, 1, [list(row.values())], [])
    with pytest.raises(segment.BadSegment, match=match):
        segment.decode(data, segment.parse_name(name), DEV, 1 << 20)


def test_a_segment_in_another_devices_folder_or_with_a_lying_count_is_refused() -> None:
    data, name = segment.encode(DEV, "laptop", 1, 1, [_row("k")], [])
    with pytest.raises(segment.BadSegment, match="another device"):
        segment.decode(data, segment.parse_name(name), "b" * 32, 1 << 20)
    sn = segment.parse_name(name)
    with pytest.raises(segment.BadSegment, match="its name says"):
        segment.decode(data, segment.SegmentName(sn.seq, 5, sn.digest), DEV, 1 << 20)


def test_conflict_copies_and_temp_files_are_told_apart() -> None:
    name = segment.file_name(3, 10, "0" * 32)
    assert segment.parse_name(name)
    for copy in (name[:-8] + ".sync-conflict-20261206-101010-ABCDEFG.json.gz",
                 name[:-8] + " (conflicted copy 2026-12-06).json.gz", name + ".orig",
                 name[:-8] + " (Jane's conflicted copy).json.gz"):
        assert segment.parse_name(copy) is None and segment.CONFLICT.search(copy)
    for tmp in (".tokentop-abc.tmp", "~syncthing~" + name + ".tmp", ".syncthing." + name + ".tmp"):
        assert segment.parse_name(tmp) is None and segment.TEMP.search(tmp)


# --- the store ---------------------------------------------------------------------------------

def _api(key: str, tokens: int) -> UsageRecord:
    return UsageRecord("anthropic", key, 1_764_000_000_000, "claude-sonnet-4-5", tokens, 0, 0, 0, 0, 0,
                       kind="api", width_s=86400, cost_pico=None, cost_label="unpriced")


def _export(conn) -> list[list]:
    return [list(r) for r in share.own_rows_since(conn, 0)]


def test_the_same_api_bucket_polled_on_two_machines_counts_once_and_the_later_poll_wins(tmp_path) -> None:
    a, b = connect(tmp_path / "a.db"), connect(tmp_path / "b.db")
    with transaction(a):
        ledger.upsert(a, [_api("messages|day1", 100)], "laptop")  # polled at 10:00
    time.sleep(0.01)
    with transaction(b):
        ledger.upsert(b, [_api("messages|day1", 250)], "desktop")  # the same day polled at 15:00
    rows_a, rows_b = _export(a), _export(b)
    with transaction(a):
        share.import_rows(a, share.EXPORT_COLUMNS, rows_b, "b" * 32, [])
    with transaction(b):
        share.import_rows(b, share.EXPORT_COLUMNS, rows_a, "a" * 32, [])  # older: ignored
        share.import_rows(b, share.EXPORT_COLUMNS, rows_a, "a" * 32, [])  # twice: nothing changes
    for conn in (a, b):
        assert queries.totals(conn, queries.Filter()).input == 250
        assert conn.execute("SELECT COUNT(*) FROM ledger").fetchone()[0] == 1
    # a's row now came from b: a exports only what it wrote itself
    assert _export(a) == []


def test_a_deletion_travels_and_an_older_copy_never_comes_back(tmp_path) -> None:
    a, c = connect(tmp_path / "a.db"), connect(tmp_path / "c.db")
    with transaction(a):
        ledger.upsert(a, [_api("key_spend|day1", 40)], "laptop")
    old = _export(a)
    time.sleep(0.01)
    with transaction(a):
        ledger.delete_keys(a, "anthropic", ["key_spend|day1", "never-stored"])
    gone = [list(d) for d in share.own_deletions_since(a, 0)]
    assert [d[:2] for d in gone] == [["anthropic", "key_spend|day1"]]
    with transaction(c):  # the deletion arrives first, the row after it (out of order)
        share.import_rows(c, share.EXPORT_COLUMNS, [], "a" * 32, gone)
        share.import_rows(c, share.EXPORT_COLUMNS, old, "a" * 32, [])
    assert c.execute("SELECT COUNT(*) FROM ledger").fetchone()[0] == 0
    c2 = connect(tmp_path / "c2.db")
    with transaction(c2):  # in order: the row, then its deletion
        share.import_rows(c2, share.EXPORT_COLUMNS, old, "a" * 32, [])
        share.import_rows(c2, share.EXPORT_COLUMNS, [], "a" * 32, gone)
    assert c2.execute("SELECT COUNT(*) FROM ledger").fetchone()[0] == 0


def test_export_holds_project_names_never_paths_and_no_raw(tmp_path) -> None:
    conn = connect(tmp_path / "a.db")
    rec = UsageRecord("claude-code", "m|r", 1_764_000_000_000, "m", 1, 1, 0, 0, 0, 0, project="-home-u-secret-app",
                      session="s1", raw='{"prompt": "hello"}')
    with transaction(conn):
        ledger.upsert(conn, [rec], "laptop")
    folder = tmp_path / "share"
    folder.mkdir()
    res = ShareResult()
    share_export.export(conn, folder, DEV, "laptop", res)
    (f,) = (folder / DEV).iterdir()
    seg = segment.decode(f.read_bytes(), segment.parse_name(f.name), DEV, 1 << 20)
    row = dict(zip(seg.columns, seg.rows[0]))
    assert row["project"] == "secret-app" and "raw" not in row
    assert b"home" not in __import__("gzip").decompress(f.read_bytes())


# --- plan-quota samples (the quota_sample table of spec/quotas.md §3.2, when the store has it) ---

QUOTA_TABLE = """CREATE TABLE IF NOT EXISTS quota_sample (
    id INTEGER PRIMARY KEY, source TEXT NOT NULL, provider TEXT NOT NULL, account TEXT NOT NULL,
    lim TEXT NOT NULL, win TEXT NOT NULL, resets_at INTEGER NOT NULL, session TEXT NOT NULL DEFAULT '',
    used_bp INTEGER NOT NULL, window_s INTEGER, raw_resets_at INTEGER, reset_src TEXT NOT NULL, plan TEXT,
    first_seen_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL, device TEXT NOT NULL,
    UNIQUE (source, account, lim, win, resets_at, session, used_bp))"""


def _sample(device: str, first: int, last: int, used_bp: int = 3700) -> tuple:
    return ("codex-log", "openai", "", "codex", "five_hour", 1_764_018_000, "s1", used_bp, 18000, 1_764_018_001,
            "log", "pro", first, last, device)


def test_quota_samples_travel_and_merge_by_their_natural_key(tmp_path) -> None:
    a, b = connect(tmp_path / "a.db"), connect(tmp_path / "b.db")
    for conn in (a, b):
        conn.execute(QUOTA_TABLE)
    a.executemany("INSERT INTO quota_sample (source, provider, account, lim, win, resets_at, session, used_bp, "
                  "window_s, raw_resets_at, reset_src, plan, first_seen_ms, last_seen_ms, device) "
                  "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", [_sample("laptop", 100, 200), _sample("laptop", 300, 300, 4100)])
    b.execute("INSERT INTO quota_sample (source, provider, account, lim, win, resets_at, session, used_bp, "
              "window_s, raw_resets_at, reset_src, plan, first_seen_ms, last_seen_ms, device) "
              "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", _sample("desktop", 50, 150))
    folder = tmp_path / "share"
    folder.mkdir()
    share_export.export(a, folder, DEV, "laptop", ShareResult())
    res = ShareResult()
    devices.import_all(b, folder, "b" * 32, res)
    devices.import_all(b, folder, "b" * 32, res)  # nothing new the second time
    assert not res.problems and res.imported == 2
    got = b.execute("SELECT used_bp, first_seen_ms, last_seen_ms FROM quota_sample ORDER BY used_bp").fetchall()
    assert got == [(3700, 50, 200), (4100, 300, 300)]  # the same reading seen on two machines: one row


def test_a_store_without_the_quota_table_imports_the_ledger_rows_and_leaves_samples_out(tmp_path) -> None:
    data, name = segment.encode(DEV, "laptop", 1, 1, [_row("k1")], [], quota=[_sample("laptop", 1, 2)])
    folder = tmp_path / "share" / DEV
    folder.mkdir(parents=True)
    (folder / name).write_bytes(data)
    conn = connect(tmp_path / "c.db")
    res = ShareResult()
    devices.import_all(conn, tmp_path / "share", "c" * 32, res)
    assert not res.problems and conn.execute("SELECT COUNT(*) FROM ledger").fetchone()[0] == 1


def test_malformed_quota_samples_make_the_segment_bad() -> None:
    bad = list(_sample("laptop", 1, 2))
    bad[7] = "37%"
    data, name = segment.encode(DEV, "laptop", 1, 1, [], [], quota=[tuple(bad)])
    with pytest.raises(segment.BadSegment, match="used_bp"):
        segment.decode(data, segment.parse_name(name), DEV, 1 << 20)


def test_a_big_export_goes_out_in_chunks_and_a_killed_one_resumes_where_it_stopped(tmp_path, monkeypatch) -> None:
    a = connect(tmp_path / "a.db")
    with transaction(a):
        ledger.upsert(a, [UsageRecord("claude-code", f"m{i}|r", 1_764_000_000_000 + i, "m", i + 1, 1, 0, 0, 0, 0)
                          for i in range(10)], "laptop")
    folder = tmp_path / "share"
    folder.mkdir()
    real = share_export._write_new
    calls = []

    def dies_on_the_third(*args):
        calls.append(args[1])
        if len(calls) == 3:
            raise KeyboardInterrupt  # a kill between two chunks' transactions
        return real(*args)

    monkeypatch.setattr(share_export, "_write_new", dies_on_the_third)
    with pytest.raises(KeyboardInterrupt):
        share_export.export(a, folder, DEV, "laptop", ShareResult(), chunk=3)
    monkeypatch.setattr(share_export, "_write_new", real)
    res = ShareResult()
    share_export.export(a, folder, DEV, "laptop", res, chunk=3)
    assert res.exported == 4  # the two chunks written before the kill are not sent again
    names = sorted(p.name for p in (folder / DEV).iterdir())
    assert [segment.parse_name(n).seq for n in names] == [1, 2, 3, 4]
    b = connect(tmp_path / "b.db")
    devices.import_all(b, folder, "b" * 32, ShareResult())
    assert queries.totals(b, queries.Filter()).input == sum(range(1, 11))
    assert b.execute("SELECT COUNT(*) FROM ledger").fetchone()[0] == 10


def test_estimated_tokens_stay_estimated_on_the_other_devices(tmp_path) -> None:
    """A session-level total (Goose, Droid, Hermes) is an estimate on every machine, and a
    segment with another token label than tokentop writes is refused."""
    a, b = connect(tmp_path / "a.db"), connect(tmp_path / "b.db")
    with transaction(a):
        ledger.upsert(a, [UsageRecord("goose", "s1|1", 1_764_000_000_000, "gpt-5", input=900, output=100,
                                      token_label="estimated"),
                          UsageRecord("claude-code", "m1|r1", 1_764_000_000_000, "m", input=10, output=1)], "laptop")
    with transaction(b):
        share.import_rows(b, share.EXPORT_COLUMNS, _export(a), "a" * 32, [])
    assert dict(b.execute("SELECT source, token_label FROM ledger")) == {"goose": "estimated", "claude-code": "exact"}
    assert queries.totals(b, queries.Filter(exact_only=True)).total == 11
    row = _row("k1")
    row[segment.COLUMNS.index("token_label")] = "guessed"
    data, name = segment.encode(DEV, "laptop", 1, 1, [row], [])
    with pytest.raises(segment.BadSegment, match="token label"):
        segment.decode(data, segment.parse_name(name), DEV, 1 << 20)
