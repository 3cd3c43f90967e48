"""`budget check` in cron and CI (issue 15, item 12): exit 1 and 2 mean "projected to run out"
and "over"; 0 means "within". Any state in which it cannot compute the answer is exit 3, with
one plain line: a store locked past the timeout, a full disk, a missing or damaged store under
``--no-sync``, a SQLite or OS error anywhere, or a bug. Before, a locked store or a full disk
exited 1 ("projected to run out"), and a missing or damaged store under ``--no-sync`` exited 0
with nothing spent.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import datetime, time, timedelta, timezone

import pytest

from tests.conftest import LOG_FIXTURES
from tests.hardening.helpers import REPO, env_for
from tokentui import paths
from tokentui.cli import main
from tokentui.core.records import ESTIMATED, UsageRecord, to_pico
from tokentui.store import ledger
from tokentui.store.db import connect, transaction

CHECK_FAILED = 3
#: runs the CLI with a short lock timeout, so a held lock fails in a second, not in 30
SHORT_LOCK = """
import sys
import tokentui.store.db as db
db.LOCK_TIMEOUT = 1.0
from tokentui.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _one_error(err: str, *words: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln and not ln.startswith("tokentop: warning:")]
    assert "Traceback" not in err, err
    assert lines and lines[0].startswith("tokentop: error:"), err
    assert len(lines) <= 2 and all(ln.startswith("  hint:") for ln in lines[1:]), err
    for w in words:
        assert w in lines[0], (w, err)
    return lines[0]


def _seed(usd: str = "10.00", days: int = 19) -> None:
    """$``usd`` a day for the ``days`` days before today, and a budget it is over."""
    conn = connect(paths.history_db())
    today = datetime.now(timezone.utc).date()
    records = [UsageRecord(source="claude-code", key=f"bc-{i}", model="claude-sonnet-4-5", input=1000,
                           ts_ms=int(datetime.combine(today - timedelta(days=i), time(12), timezone.utc)
                                     .timestamp() * 1000), cost_pico=to_pico(usd), cost_label=ESTIMATED,
                           logged_cost_pico=to_pico(usd)) for i in range(1, days + 1)]
    with transaction(conn):
        ledger.upsert(conn, records, device="test")
    conn.close()


def _budget(usd: str = "50") -> None:
    assert main(["budget", "set", "b", "--usd", usd, "--period", "year"]) == 0


def _check(capsys, *extra: str) -> tuple[int, str, str]:
    code = main(["budget", "check", *extra])
    out, err = capsys.readouterr()
    return code, out, err


def _child(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", SHORT_LOCK, *args], env=env or env_for(), capture_output=True,
                          text=True, timeout=120, cwd=str(REPO))


def test_the_answer_itself_still_exits_0_1_2(capsys) -> None:
    _seed()
    _budget("100000")
    assert _check(capsys, "--no-sync")[0] == 0
    _budget("50")
    assert _check(capsys, "--no-sync")[0] == 2


def test_a_store_locked_past_the_timeout_is_3_not_over_budget(capsys) -> None:
    _seed()
    _budget("50")  # over: exit 2 when the check can run (a failure used to exit 1, "projected to run out")
    capsys.readouterr()
    holder = sqlite3.connect(paths.history_db(), timeout=5, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another sync holding the write lock
        proc = _child("budget", "check", env=env_for(CLAUDE_CONFIG_DIR=str(LOG_FIXTURES / "claude")))
        assert proc.returncode == CHECK_FAILED, (proc.returncode, proc.stderr)
        _one_error(proc.stderr, "busy")
        proc = _child("budget", "check", "--json", env=env_for(CLAUDE_CONFIG_DIR=str(LOG_FIXTURES / "claude")))
        assert proc.returncode == CHECK_FAILED and proc.stdout == "", proc.stderr
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    proc = _child("budget", "check", env=env_for(CLAUDE_CONFIG_DIR=str(LOG_FIXTURES / "claude")))
    assert proc.returncode == 2, proc.stderr  # the lock is gone: the real answer


def test_a_full_disk_during_the_sync_is_3(capsys, monkeypatch, tmp_path) -> None:
    from tokentui.services import sync

    _seed()
    _budget("1000")
    logs = tmp_path / "claude"
    shutil.copytree(LOG_FIXTURES / "claude", logs)
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(logs))
    real = sync.open_store

    def tiny(*a, **k):
        conn = real(*a, **k)
        conn.execute(f"PRAGMA max_page_count = {conn.execute('PRAGMA page_count').fetchone()[0]}")
        return conn

    monkeypatch.setattr(sync, "open_store", tiny)
    capsys.readouterr()
    code, out, err = _check(capsys)
    assert code == CHECK_FAILED, err
    _one_error(err, "disk is full")


def test_a_missing_store_under_no_sync_is_3_and_says_so(capsys) -> None:
    _budget("50")
    capsys.readouterr()
    for extra in ((), ("--json",)):
        code, out, err = _check(capsys, "--no-sync", *extra)
        assert code == CHECK_FAILED, (code, out, err)
        assert out == ""
        _one_error(err, "no history", str(paths.history_db()))
    assert not paths.history_db().exists()  # a check creates nothing


def test_a_store_deleted_after_syncs_under_no_sync_is_3(capsys) -> None:
    _seed()
    _budget("50")
    assert _check(capsys, "--no-sync")[0] == 2
    for suffix in ("", "-wal", "-shm"):
        p = paths.history_db().with_name("history.db" + suffix)
        if p.exists():
            p.unlink()
    code, _, err = _check(capsys, "--no-sync")
    assert code == CHECK_FAILED
    _one_error(err, "no history")


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty-with-wal"])
def test_a_damaged_store_under_no_sync_is_3(capsys, damage) -> None:
    _seed()
    _budget("50")
    db = paths.history_db()
    data = db.read_bytes()
    held = None
    if damage == "garbage":
        db.write_bytes(os.urandom(len(data)))
    elif damage == "truncated":
        db.write_bytes(data[: len(data) // 2])
    else:  # truncated to nothing under a running dashboard, whose -wal is still there
        held = connect(db)
        with transaction(held):
            held.execute("INSERT INTO meta (key, value) VALUES ('x', 'y')")
        os.truncate(db, 0)
    try:
        code, out, err = _check(capsys, "--no-sync")
    finally:
        if held is not None:
            held.close()
    assert code == CHECK_FAILED, (code, out, err)
    _one_error(err, "damaged")
    assert "--no-sync" in err  # what to do: check again with a sync, which re-reads the logs


@pytest.mark.parametrize("error", [sqlite3.OperationalError("disk I/O error"), sqlite3.DatabaseError("malformed"),
                                   OSError(5, "Input/output error"), RuntimeError("a bug"), OverflowError("x")])
def test_any_failure_while_evaluating_is_3(capsys, monkeypatch, error) -> None:
    from tokentui.services import budgets as svc

    _seed()
    _budget("50")

    def boom(*a, **k):
        raise error

    monkeypatch.setattr(svc, "evaluate_all", boom)
    code, out, err = _check(capsys, "--no-sync")
    assert code == CHECK_FAILED, (code, err)
    _one_error(err)


def test_a_failing_desktop_notification_keeps_the_answer(capsys, monkeypatch) -> None:
    from tokentui.config import update_config
    from tokentui.services import budgets as svc

    _seed()
    _budget("50")
    update_config(paths.config_file(), ["budgets", "notify_desktop"], True)

    def boom(*a, **k):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(svc, "new_alerts", boom)
    code, out, err = _check(capsys, "--no-sync")
    assert code == 2, err  # the check itself ran: over budget
    assert "notification" in err and "Traceback" not in err


def test_a_closed_output_pipe_keeps_the_exit_code() -> None:
    """`budget check | head -0` in a script: the answer is the exit code, not the text."""
    _seed()
    assert main(["budget", "set", "b", "--usd", "50", "--period", "year"]) == 0
    for args in (["budget", "check", "--no-sync"], ["budget", "check", "--no-sync", "--json"]):
        r, w = os.pipe()
        os.close(r)  # nobody reads: the first write fails with EPIPE
        proc = subprocess.run([sys.executable, "-m", "tokentui", *args], env=env_for(), stdout=w,
                              stderr=subprocess.PIPE, text=True, timeout=120, cwd=str(REPO))
        os.close(w)
        assert proc.returncode == 2, (proc.returncode, proc.stderr)
        assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr, proc.stderr


def test_json_says_nothing_when_the_check_fails(capsys) -> None:
    _budget("50")
    capsys.readouterr()
    code, out, err = _check(capsys, "--no-sync", "--json")
    assert code == CHECK_FAILED and out == ""
    # and a successful --json run is still JSON with the exit code inside
    _seed()
    code, out, _ = _check(capsys, "--no-sync", "--json")
    assert code == 2 and json.loads(out)["exitCode"] == 2
