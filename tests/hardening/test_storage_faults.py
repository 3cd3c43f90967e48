"""Storage faults: a corrupted history.db (moved aside, rebuilt, salvaged), a full disk, a
read-only data directory. Each is one plain message, and nothing recoverable is lost."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.hardening.helpers import db_path, env_for, stored, tokentop, truth
from tests.hardening.privs import IS_ROOT, give, run_as_nobody, shared_dir


def _one_error(err: str, *words: str) -> None:
    lines = [ln for ln in err.strip().splitlines() if ln]
    assert "Traceback" not in err, err
    assert lines and lines[0].startswith("tokentop: error:"), err
    assert len(lines) <= 2 and all(ln.startswith("  hint:") for ln in lines[1:]), err
    for w in words:
        assert w in lines[0], err


def _synced(corpus, mb=1.0, seed=41):
    src = corpus(mb, seed)
    env = env_for(CLAUDE_CONFIG_DIR=str(src / "claude"), CODEX_HOME=str(src / "codex"))
    proc = tokentop("sync", "-q", env=env)
    assert proc.returncode == 0, proc.stderr
    return src, env


def _totals(path: Path | None = None) -> dict:
    conn = sqlite3.connect(path or db_path())
    try:
        return stored(conn)
    finally:
        conn.close()


def _aside() -> list[Path]:
    return sorted(db_path().parent.glob("history.db.corrupt-*[0-9Z]"))


# --- a corrupted store ----------------------------------------------------------------------

@pytest.mark.parametrize("damage", ["garbage", "truncated", "zeroed-header"])
def test_damaged_store_is_moved_aside_and_rebuilt(corpus, damage) -> None:
    src, env = _synced(corpus)
    want = truth(src)
    data = db_path().read_bytes()
    if damage == "garbage":
        db_path().write_bytes(os.urandom(len(data)))
    elif damage == "truncated":
        db_path().write_bytes(data[: len(data) // 2])
    else:
        db_path().write_bytes(b"\0" * 100 + data[100:])
    proc = tokentop("sync", "-q", env=env)
    assert proc.returncode == 0, proc.stderr
    [warning] = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert warning.startswith("tokentop: warning: the history store was damaged") and "Traceback" not in proc.stderr
    [aside] = _aside()
    assert str(aside) in warning and aside.stat().st_size > 0
    assert oct(aside.stat().st_mode & 0o777) == "0o600"
    assert _totals() == want  # rebuilt from the logs, nothing counted twice
    again = tokentop("sync", "-q", env=env)
    assert again.returncode == 0 and again.stderr == ""


def _corrupt_pages(path: Path, table: str, how_many: int = 1) -> list[int]:
    """Overwrite ``how_many`` leaf pages from the middle of ``table`` (or index) with junk."""
    conn = sqlite3.connect(path)
    try:
        pages = [p for (p,) in conn.execute("SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' "
                                            "ORDER BY pageno", (table,))]
        size = conn.execute("PRAGMA page_size").fetchone()[0]
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.OperationalError:
        pytest.skip("this SQLite has no dbstat table to find pages with")
    finally:
        conn.close()
    chosen = pages[len(pages) // 2: len(pages) // 2 + how_many]
    with open(path, "r+b") as fh:
        for p in chosen:
            fh.seek((p - 1) * size)
            fh.write(b"\xa5" * size)
    return chosen


def _check_due() -> None:
    conn = sqlite3.connect(db_path())
    conn.execute("UPDATE meta SET value = '0' WHERE key = 'quick_check_ms'")
    conn.commit()
    conn.close()


def test_damaged_index_keeps_every_record_even_without_logs(corpus) -> None:
    """An index page is wrecked and the agents have since deleted their logs: the daily check
    finds it, the damaged store is moved aside and every ledger row (all still readable
    through the table) is carried into the new one."""
    src, env = _synced(corpus, 1.5, 42)
    want = truth(src)
    _corrupt_pages(db_path(), "ledger_ts", 2)
    _check_due()
    for p in list((src / "claude" / "projects").rglob("*.jsonl"))[::2]:
        p.unlink()  # the agent's own cleanup: only tokentop's history still has these
    proc = tokentop("report", "daily", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "history store was damaged" in proc.stderr and "Traceback" not in proc.stderr
    assert _totals() == want


def test_damaged_table_pages_lose_only_those_rows(corpus) -> None:
    """A page of ledger rows is wrecked and every log is gone: the rows on that page are
    lost, all the others are carried into the new store, nothing is counted twice."""
    src, env = _synced(corpus, 1.5, 43)
    want = truth(src)
    rows_before = sum(v[4] for v in want.values())
    _corrupt_pages(db_path(), "ledger", 1)
    for p in list(src.rglob("*.jsonl")):
        p.unlink()
    proc = tokentop("report", "daily", "--json", env=env)  # its full scan meets the damaged page
    assert proc.returncode == 0, proc.stderr
    assert "history store was damaged" in proc.stderr and "unreadable" in proc.stderr, proc.stderr
    got = _totals()
    kept = sum(v[4] for v in got.values())
    assert rows_before > kept >= rows_before * 0.8, (rows_before, kept)
    for k, v in got.items():
        assert all(a <= b for a, b in zip(v, want[k]))


def test_quick_check_at_open_catches_damage_report_would_not_touch(corpus) -> None:
    """A damaged page that no command reads is still found: once a day the opening writer
    runs quick_check."""
    src, env = _synced(corpus, 1.0, 44)
    _corrupt_pages(db_path(), "files", 1)
    _check_due()
    proc = tokentop("report", "daily", "--json", "--no-sync", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "quick_check" in proc.stderr and len(_aside()) == 1


def test_two_processes_meeting_one_damaged_store_repair_it_once(corpus) -> None:
    src, env = _synced(corpus, 0.5, 45)
    db_path().write_bytes(b"garbage" * 5000)
    procs = [subprocess.Popen([os.sys.executable, "-m", "tokentui", "sync", "-q"], env=env, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    errs = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errs
    assert len(_aside()) == 1, errs
    assert _totals() == truth(src)


# --- a full disk ----------------------------------------------------------------------------

def test_full_disk_is_one_clear_error_and_loses_nothing(corpus, monkeypatch, capsys) -> None:
    """SQLITE_FULL simulated with max_page_count: the failing batch rolls back, what was
    committed before stays, and once there is room the next sync completes exactly."""
    from tokentui.cli import main
    from tokentui.services import sync

    src = corpus(2.0, 46)
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(src / "claude"))
    monkeypatch.setenv("CODEX_HOME", str(src / "codex"))
    assert main(["sync", "-q", "--source", "codex"]) == 0
    before = _totals()
    real = sync.open_store

    def tiny(*a, **k):
        conn = real(*a, **k)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages + 8}")
        return conn

    monkeypatch.setattr(sync, "open_store", tiny)
    capsys.readouterr()
    assert main(["sync", "-q"]) == 1
    _one_error(capsys.readouterr().err, "disk is full")
    after = _totals()
    assert {k: v for k, v in after.items() if k[1] == "codex"} == before  # committed history intact
    monkeypatch.setattr(sync, "open_store", real)
    assert main(["sync", "-q"]) == 0
    assert _totals() == truth(src)


@pytest.mark.skipif(not IS_ROOT, reason="mounting a tiny tmpfs needs root")
def test_really_full_filesystem(corpus, tmp_path) -> None:
    mnt = tmp_path / "small"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=96k", "tmpfs", str(mnt)], capture_output=True).returncode:
        pytest.skip("mount -t tmpfs is not permitted here")
    try:
        src = corpus(2.0, 47)
        env = env_for(CLAUDE_CONFIG_DIR=str(src / "claude"), CODEX_HOME=str(src / "codex"),
                      TOKENTOP_DATA_DIR=str(mnt / "data"))
        proc = tokentop("sync", "-q", env=env)
        assert proc.returncode == 1
        _one_error(proc.stderr, "disk is full")
        subprocess.run(["mount", "-o", "remount,size=16m", str(mnt)], check=True)
        proc = tokentop("sync", "-q", env=env)
        assert proc.returncode == 0, proc.stderr
        assert _totals(mnt / "data" / "history.db") == truth(src)
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


# --- read-only ------------------------------------------------------------------------------

def test_read_only_data_directory(corpus) -> None:
    src = corpus(0.5, 48)
    with shared_dir() as base:
        logs = base / "logs"
        import shutil

        shutil.copytree(src, logs)
        (base / "data").mkdir()
        give(base)
        env = {"HOME": str(base), "TOKENTOP_DATA_DIR": str(base / "data"), "TOKENTOP_CONFIG": str(base / "c.toml"),
               "CLAUDE_CONFIG_DIR": str(logs / "claude"), "CODEX_HOME": str(logs / "codex"), "PATH": os.defpath}
        code, out, err = run_as_nobody(["sync", "-q"], env)
        assert code == 0, err
        want = _totals(base / "data" / "history.db")
        assert want == truth(src)
        os.chmod(base / "data" / "history.db", 0o400)
        os.chmod(base / "data", 0o500)
        (logs / "claude" / "projects" / "-home-dev-extra").mkdir(exist_ok=True)
        code, out, err = run_as_nobody(["sync", "-q"], env)
        assert code != 0
        _one_error(err, "read-only")
        code, out, err = run_as_nobody(["report", "daily", "--json", "--no-sync"], env)
        assert code != 0 or '"totals"' in out
        if code:
            _one_error(err)
        assert _totals(base / "data" / "history.db") == want  # nothing lost
        env["TOKENTOP_DATA_DIR"] = str(base / "data" / "sub")
        code, out, err = run_as_nobody(["sync", "-q"], env)
        _one_error(err, "cannot create the data directory")


def test_repair_keeps_plan_limit_samples_and_each_rows_device(corpus) -> None:
    """What the logs cannot give back survives a repair: plan-limit samples (a status-line
    reading exists nowhere else) and the device a shared row came from (a row imported from
    another machine must not become this one's and be exported again as its own)."""
    src, env = _synced(corpus, 1.0, 44)
    conn = sqlite3.connect(db_path())
    conn.execute("INSERT INTO quota_sample (source, provider, account, lim, win, resets_at, session, used_bp, "
                 "window_s, raw_resets_at, reset_src, plan, first_seen_ms, last_seen_ms, device) VALUES "
                 "('claude-statusline', 'anthropic', 'acct', 'account', 'five_hour', 1790000000, 's1', 4200, "
                 "18000, 1790000000, 'absolute', NULL, 1789990000000, 1789991000000, 'this')")
    conn.execute("UPDATE ledger SET origin = 'laptop-b' WHERE id IN (SELECT id FROM ledger ORDER BY id LIMIT 5)")
    conn.commit()
    samples = conn.execute("SELECT * FROM quota_sample ORDER BY source, first_seen_ms, used_bp").fetchall()
    theirs = sorted(conn.execute("SELECT source, key FROM ledger WHERE origin = 'laptop-b'").fetchall())
    conn.close()
    assert len(theirs) == 5 and any(s[1] == "codex-log" for s in samples)
    _corrupt_pages(db_path(), "ledger_ts", 2)
    _check_due()
    for p in list(src.rglob("*.jsonl")):
        p.unlink()  # only the store holds anything now
    proc = tokentop("report", "daily", "--json", env=env)
    assert proc.returncode == 0 and "history store was damaged" in proc.stderr, proc.stderr
    conn = sqlite3.connect(db_path())
    try:
        # ids are the new store's own; every other column is as it was
        assert [s[1:] for s in conn.execute("SELECT * FROM quota_sample ORDER BY source, first_seen_ms, used_bp")] \
            == [s[1:] for s in samples]
        assert sorted(conn.execute("SELECT source, key FROM ledger WHERE origin = 'laptop-b'").fetchall()) == theirs
    finally:
        conn.close()
