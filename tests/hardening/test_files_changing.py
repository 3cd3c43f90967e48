"""Logs that change while tokentop reads them: appended mid-read, truncated, rotated,
deleted, replaced under the same name, a vanishing directory, no permission. Each gives the
right totals, or a clear per-source status; never a crash."""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import pytest

from tests.hardening.helpers import env_for, stored, tokentop, truth
from tests.hardening.privs import give, run_as_nobody, shared_dir
from tokentui.core.pricing import Pricer
from tokentui.services.ingest import Ingestor
from tokentui.store.db import connect

PRICER = Pricer()


class Live:
    """A live log tree fed from a generated corpus, synced in-process (optionally with a hook
    that runs as soon as the ingest has read its first bytes)."""

    def __init__(self, src: Path, root: Path, monkeypatch) -> None:
        self.src, self.root = src, root
        self.files = {p.relative_to(src): p.read_bytes() for p in sorted(src.rglob("*.jsonl"))}
        (root / "claude" / "projects").mkdir(parents=True)
        (root / "codex" / "sessions").mkdir(parents=True)
        monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(root / "claude"))
        monkeypatch.setenv("CODEX_HOME", str(root / "codex"))
        self.db = root / "h.db"

    def put(self, rel: Path, data: bytes) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def put_all(self, share: float = 1.0) -> None:
        for rel, data in self.files.items():
            self.put(rel, data[: int(len(data) * share)])

    def sync(self, hook=None):
        fired = []

        def progress(done: int, total: int) -> None:
            if hook and not fired:
                fired.append(1)
                hook()

        conn = connect(self.db)
        try:
            results = Ingestor(conn, PRICER, device="t", mode="calculate", progress=progress).run(("claude-code", "codex"))
            return stored(conn), {r.source: r for r in results}
        finally:
            conn.close()

    def biggest(self, source: str) -> Path:
        return max((r for r in self.files if r.parts[0] == source.split("-")[0]), key=lambda r: len(self.files[r]))


@pytest.fixture
def live(corpus, tmp_path, monkeypatch) -> Live:
    return Live(corpus(1.5, 51), tmp_path / "live", monkeypatch)


def test_appended_while_reading(live) -> None:
    live.put_all(0.5)

    def grow() -> None:
        for rel, data in live.files.items():
            with open(live.root / rel, "ab") as fh:
                fh.write(data[int(len(data) * 0.5):])

    live.sync(grow)
    got, _ = live.sync()
    assert got == truth(live.src)


def test_truncated_while_reading_and_after(live) -> None:
    live.put_all()
    rng = random.Random(1)
    victims = rng.sample(sorted(live.files), 4)

    def cut() -> None:
        for rel in victims:
            with open(live.root / rel, "r+b") as fh:
                fh.truncate(rng.randint(0, len(live.files[rel])))

    live.sync(cut)
    got, res = live.sync()
    assert all(a <= b for k in got for a, b in zip(got[k], truth(live.src)[k]))
    for rel in victims:  # the agent writes the whole file again
        live.put(rel, live.files[rel])
    got, _ = live.sync()
    assert got == truth(live.src)
    for rel in victims:  # truncated after ingest: history is kept
        (live.root / rel).write_bytes(b"")
    got, _ = live.sync()
    assert got == truth(live.src)


@pytest.mark.parametrize("source", ["claude", "codex"])
def test_rotated_renamed_and_a_new_file_started(live, source) -> None:
    rel = live.biggest(source)
    data = live.files[rel]
    # a Codex file names its model in turn_context lines: rotate where a turn begins, as a
    # new file without one could only fall back to the default model (tokens right, model not)
    mark = b"\n" if source == "claude" else b'\n{"timestamp"'
    while True:
        cut = data.index(mark, len(data) // 2) + 1
        if source == "claude" or data[cut:cut + 120].find(b'"type":"turn_context"') > 0:
            break
        data_mid = data.index(b'"type":"turn_context"', cut)
        cut = data.rindex(b"\n", 0, data_mid) + 1
        break
    for r, d in live.files.items():
        if r != rel:
            live.put(r, d)
    path = live.put(rel, data[:cut])
    live.sync()
    os.rename(path, path.with_name(path.name + ".1"))  # rotated out of sight
    live.put(rel, data[cut:])  # and a new file under the old name
    got, _ = live.sync()
    assert got == truth(live.src)
    os.rename(path.with_name(path.name + ".1"), path.with_name("rotated-" + path.name))  # back in sight, renamed
    got, _ = live.sync()
    assert got == truth(live.src)  # read again, counted once


def test_deleted_while_reading_and_after(live) -> None:
    live.put_all()
    gone = sorted(live.files)[-3:]  # read last: deleted before the ingest gets to them

    def delete() -> None:
        for rel in gone:
            (live.root / rel).unlink()

    got, res = live.sync(delete)
    assert sum(r.files_read for r in res.values()) == len(live.files) - len(gone)
    assert not any(r.errors for r in res.values())  # vanished is not an error
    for rel in gone:
        live.put(rel, live.files[rel])
    got, _ = live.sync()
    assert got == truth(live.src)
    shutil.rmtree(live.root / "codex" / "sessions")  # the agent cleans up: history stays
    (live.root / "codex" / "sessions").mkdir()
    got, res = live.sync()
    assert got == truth(live.src) and res["codex"].status != "error"


def test_replaced_by_a_different_file_with_the_same_name(live) -> None:
    claude = sorted(r for r in live.files if r.parts[0] == "claude")
    first, second = claude[0], claude[1]
    for r, d in live.files.items():
        if r != second:
            live.put(r, d)
    live.sync()
    tmp = live.root / "incoming.tmp"
    tmp.write_bytes(live.files[second])
    os.replace(tmp, live.root / first)  # same name, different file (new inode)
    got, _ = live.sync()
    assert got == truth(live.src)  # first's records kept, second's added, nothing twice
    with open(live.root / first, "r+b") as fh:  # rewritten in place, same inode, same size
        fh.write(live.files[second][:100].replace(b"a", b"b"))
    got, _ = live.sync()
    assert got == truth(live.src)


def test_directory_disappears_while_reading_and_for_good(live) -> None:
    live.put_all()
    projects = sorted({(live.root / r).parent for r in live.files if r.parts[0] == "claude"})

    def vanish() -> None:
        shutil.rmtree(projects[-1])

    got, res = live.sync(vanish)
    assert res["claude-code"].status in ("ok", "error")
    live.put_all()
    got, _ = live.sync()
    assert got == truth(live.src)
    shutil.rmtree(live.root / "claude")  # the whole configured root is gone
    got, res = live.sync()
    assert got == truth(live.src)  # history kept
    assert res["claude-code"].status == "error" and "CLAUDE_CONFIG_DIR" in res["claude-code"].problem
    proc = tokentop("sources", env=env_for())
    assert proc.returncode == 0 and "no valid Claude data directory" in proc.stdout, proc.stdout + proc.stderr


def test_permission_denied_is_a_per_source_status(corpus) -> None:
    src = corpus(1.5, 52)
    with shared_dir() as base:
        logs = base / "logs"
        shutil.copytree(src, logs)
        give(base)
        claude = sorted((logs / "claude" / "projects").rglob("*.jsonl"))
        projects = logs / "claude" / "projects"
        locked_file = claude[0]
        locked_dir = sorted(p for p in projects.iterdir() if p.name != locked_file.relative_to(projects).parts[0])[0]
        os.chmod(locked_file, 0)
        os.chmod(locked_dir, 0)
        env = {"HOME": str(base), "TOKENTOP_DATA_DIR": str(base / "data"), "TOKENTOP_CONFIG": str(base / "c.toml"),
               "CLAUDE_CONFIG_DIR": str(logs / "claude"), "CODEX_HOME": str(logs / "codex"), "PATH": os.defpath}
        code, out, err = run_as_nobody(["sync"], env)
        assert code == 0 and "Traceback" not in err, err
        assert "Permission denied" in out and str(locked_file) in out, out
        assert str(locked_dir) in out, out
        code, out, err = run_as_nobody(["sources"], env)
        assert code == 0 and "could not be read" in out, out
        os.chmod(locked_file, 0o644)
        os.chmod(locked_dir, 0o755)
        code, out, err = run_as_nobody(["sync", "-q"], env)
        assert code == 0, err
        import sqlite3

        conn = sqlite3.connect(base / "data" / "history.db")
        try:
            assert stored(conn) == truth(src)
        finally:
            conn.close()


def test_gemini_and_opencode_files_vanishing_or_broken(tmp_path, monkeypatch) -> None:
    """Gemini chats deleted or rewritten while read, an OpenCode database that turns to junk
    or is locked by OpenCode itself: per-source statuses, history kept, no crash."""
    import sqlite3

    from tests.conftest import LOG_FIXTURES

    gem = tmp_path / "gemini"
    shutil.copytree(LOG_FIXTURES / "gemini" / "tmp", gem)
    oc = tmp_path / "opencode"
    oc.mkdir()
    conn = sqlite3.connect(oc / "opencode.db")
    conn.executescript((LOG_FIXTURES / "opencode" / "opencode-db.sql").read_text())
    conn.close()
    monkeypatch.setenv("GEMINI_DATA_DIR", str(gem))
    monkeypatch.setenv("OPENCODE_DATA_DIR", str(oc))
    chats = sorted(gem.rglob("*.json*"))

    def vanish() -> None:
        chats[-1].unlink()

    db = connect(tmp_path / "h.db")
    fired = []

    def progress(done, total):
        if not fired:
            fired.append(1)
            vanish()

    res = {r.source: r for r in Ingestor(db, PRICER, device="t", progress=progress).run(("gemini-cli", "opencode"))}
    assert res["gemini-cli"].errors == [] and res["opencode"].records > 0
    before = db.execute("SELECT COUNT(*) FROM ledger").fetchone()[0]
    (oc / "opencode.db").write_bytes(b"junk" * 1000)
    res = {r.source: r for r in Ingestor(db, PRICER, device="t").run(("gemini-cli", "opencode"))}
    assert res["opencode"].errors and "cannot read" in res["opencode"].errors[0]
    assert db.execute("SELECT COUNT(*) FROM ledger").fetchone()[0] == before  # history kept
    (oc / "opencode.db").unlink()
    conn = sqlite3.connect(oc / "opencode.db")
    conn.executescript((LOG_FIXTURES / "opencode" / "opencode-db.sql").read_text())
    conn.commit()
    conn.execute("BEGIN EXCLUSIVE")  # OpenCode in the middle of a write
    try:
        res = {r.source: r for r in Ingestor(db, PRICER, device="t").run(("opencode",))}
        assert res["opencode"].errors and "locked" in res["opencode"].errors[0]
    finally:
        conn.rollback()
        conn.close()
    res = {r.source: r for r in Ingestor(db, PRICER, device="t").run(("opencode",))}
    assert not res["opencode"].errors
    assert res["opencode"].files_read == 1  # read again: a failed read never marks the folder done
    assert db.execute("SELECT COUNT(*) FROM ledger").fetchone()[0] == before
    db.close()
