"""Discovery stays inside the folders the user configured (issue 15, item 7).

A symlink planted under an agent's log folder (to ``/``, to the home folder above the root,
to another user's logs, or a single file linked from elsewhere) must not make a sync crawl the
machine and count other people's logs. Every local source's discovery resolves links and
keeps them under one of that source's roots; a link that leads out is not followed and is
named in the source's errors. Depth and the number of entries looked at are bounded too.
"""

from __future__ import annotations

import ast
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import LOG_FIXTURES
from tokentui.sources import claude_code, codex, common, gemini_cli, opencode

#: a walk that lists more folders than this has left the test's tree
CRAWL_LIMIT = 400


@pytest.fixture
def no_crawl(monkeypatch):
    """Counts the folders listed; listing far more than the test's tree holds fails at once
    (before the fix, a link to ``/`` walked the whole filesystem)."""
    listed: list[str] = []
    real = os.scandir

    def counting(path="."):
        listed.append(os.fspath(path))
        if len(listed) > CRAWL_LIMIT:
            raise AssertionError(f"discovery crawled out of the test tree: {listed[-3:]}")
        return real(path)

    monkeypatch.setattr(common.os, "scandir", counting)
    return listed


def _named(links: list[Path], errors: list[str], suffixes: tuple[str, ...]) -> None:
    """Each link that leads out, and would have been read, is named in the errors, so
    `tokentop sources` can say why it was not followed."""
    for link in links:
        if link.is_dir() or link.name.endswith(suffixes):
            assert any(str(link) in e for e in errors), (link, errors)
    assert all("outside" in e for e in errors), errors


def _plant(folder: Path, others: Path, fs_root: Path) -> list[Path]:
    """Hostile links in ``folder``: to ``/``, to the fake file-system root above everything,
    to another user's logs (a folder, and one file), and a link loop back to the home."""
    folder.mkdir(parents=True, exist_ok=True)
    links = [folder / "slash", folder / "up", folder / "bob", folder / "bob-file.jsonl", folder / "bob-chat.json"]
    os.symlink("/", links[0])
    os.symlink(fs_root, links[1])
    os.symlink(others, links[2])
    os.symlink(others / "claude" / "projects" / "-home-bob-secret" / "stolen.jsonl", links[3])
    os.symlink(others / "gemini" / "chat.json", links[4])
    return links


def _others(base: Path) -> Path:
    """Another user's logs, outside every configured root."""
    bob = base / "home-bob"
    proj = bob / "claude" / "projects" / "-home-bob-secret"
    proj.mkdir(parents=True)
    src = next((LOG_FIXTURES / "claude" / "projects" / "-home-u-proj").glob("*.jsonl"))
    shutil.copy(src, proj / "stolen.jsonl")
    (bob / "codex" / "sessions").mkdir(parents=True)
    (bob / "codex" / "sessions" / "rollout-bob.jsonl").write_text("{}\n")
    (bob / "gemini").mkdir()
    (bob / "gemini" / "chat.json").write_text("{}")
    (bob / "opencode-msg").mkdir()
    (bob / "opencode-msg" / "msg_bob.json").write_text("{}")
    return bob


def _inside(paths, roots) -> list[str]:
    """The discovered paths whose real location is outside every root."""
    reals = [os.path.realpath(r) for r in roots]
    return [p for p in paths if not any(os.path.realpath(p) == r or os.path.realpath(p).startswith(r + os.sep)
                                        for r in reals)]


@pytest.fixture
def tree(tmp_path):
    """``fs`` is a fake file-system root; the user's home and another user's both live in it."""
    fs = tmp_path / "fs"
    home = fs / "home-me"
    home.mkdir(parents=True)
    return fs, home, _others(fs)


def test_claude_code_stays_under_its_roots(tree, no_crawl, monkeypatch) -> None:
    fs, home, bob = tree
    root = home / ".claude"
    shutil.copytree(LOG_FIXTURES / "claude", root)
    proj = root / "projects"
    links = _plant(proj / "-home-me-evil", bob, fs)
    _plant(proj, bob, fs)  # right under projects/ as well
    # a link that stays inside the root is still followed (and adds nothing twice)
    os.symlink(proj / "-home-u-proj", proj / "-home-me-alias")
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(root))
    errors: list[str] = []
    files, problem = claude_code.discover((), errors)
    got = [f.path for f in files]
    assert problem is None
    assert not _inside(got, [proj]), _inside(got, [proj])
    assert not any("bob" in f.path or "stolen" in f.path for f in files)
    own = sorted(p.name for p in (LOG_FIXTURES / "claude" / "projects").rglob("*.jsonl"))
    assert sorted({os.path.basename(p) for p in got}) == sorted(set(own))
    _named(links, errors, (".jsonl",))


def test_codex_stays_under_its_roots(tree, no_crawl, monkeypatch) -> None:
    fs, home, bob = tree
    root = home / ".codex"
    shutil.copytree(LOG_FIXTURES / "codex", root)
    links = _plant(root / "sessions" / "2026", bob, fs)
    _plant(root / "archived_sessions", bob, fs)
    # the "saved codex exec --json output" layout: a root with neither sessions/ nor archived_sessions/
    headless = home / "ci-runs"
    headless.mkdir()
    shutil.copy(LOG_FIXTURES / "codex" / "exec-json" / "ci-run.jsonl", headless / "ci-run.jsonl")
    _plant(headless / "nested", bob, fs)
    monkeypatch.setenv("CODEX_HOME", f"{root},{headless}")
    errors: list[str] = []
    files, _ = codex.discover((), errors)
    got = [f.path for f in files]
    allowed = [root / "sessions", root / "archived_sessions", headless]
    assert not _inside(got, allowed), _inside(got, allowed)
    assert not any("bob" in p or "stolen" in p for p in got)
    assert any(p.endswith("ci-run.jsonl") for p in got)
    assert len([p for p in got if "/sessions/" in p]) == len(list((LOG_FIXTURES / "codex" / "sessions").rglob("*.jsonl")))
    _named(links, errors, (".jsonl",))


def test_gemini_cli_stays_under_its_roots(tree, no_crawl, monkeypatch) -> None:
    fs, home, bob = tree
    root = home / ".gemini" / "tmp"
    shutil.copytree(LOG_FIXTURES / "gemini" / "tmp", root)
    links = _plant(root / "proj" / "chats", bob, fs)
    monkeypatch.setenv("GEMINI_DATA_DIR", str(root))
    errors: list[str] = []
    files, _ = gemini_cli.discover((), errors)
    got = [f.path for f in files]
    assert not _inside(got, [root]), _inside(got, [root])
    assert not any("bob" in p for p in got)
    own = [p for p in (LOG_FIXTURES / "gemini" / "tmp").rglob("*") if p.suffix in (".json", ".jsonl")]
    assert len(got) == len(own)
    _named(links, errors, (".json", ".jsonl"))


def test_opencode_legacy_messages_stay_under_the_data_dir(tree, no_crawl, monkeypatch) -> None:
    fs, home, bob = tree
    data = home / ".local" / "share" / "opencode"
    shutil.copytree(LOG_FIXTURES / "opencode" / "storage", data / "storage")
    msg = data / "storage" / "message"
    _plant(msg, bob, fs)
    os.symlink(bob / "opencode-msg", msg / "ses_bob")
    os.symlink(bob / "opencode-msg" / "msg_bob.json", msg / "ses_6a1f0c2b3ffeAbCdEfGhIjKl" / "msg_linked.json")
    monkeypatch.setenv("OPENCODE_DATA_DIR", str(data))
    [found] = opencode.data_dirs()
    got = opencode._legacy_files(found)
    assert got and not _inside(got, [data]), _inside(got, [data])
    assert not any("bob" in p or "linked" in p for p in got)
    # a database linked in from another user's data dir is not read either
    (bob / "opencode.db").write_bytes(b"")
    os.symlink(bob / "opencode.db", data / "opencode.db")
    assert opencode.db_files(found) == []


def test_a_sync_counts_only_the_users_own_logs(tree, no_crawl, monkeypatch) -> None:
    """End to end: the planted links change nothing in what a sync stores, and the source's
    status names the link that was not followed."""
    from tokentui.config import load_settings
    from tokentui.services.sync import open_store, sync_local

    fs, home, bob = tree
    root = home / ".claude"
    shutil.copytree(LOG_FIXTURES / "claude", root)
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(root))
    conn = open_store()
    try:
        settings = load_settings()
        sync_local(conn, settings, only=["claude-code"])
        clean = conn.execute("SELECT COUNT(*), SUM(input + output) FROM ledger").fetchone()
        _plant(root / "projects" / "-home-u-proj", bob, fs)
        [result] = sync_local(conn, settings, only=["claude-code"])
        after = conn.execute("SELECT COUNT(*), SUM(input + output) FROM ledger").fetchone()
        paths = [p for (p,) in conn.execute("SELECT path FROM files")]
        status = conn.execute("SELECT message FROM source_status WHERE source = 'claude-code'").fetchone()[0]
    finally:
        conn.close()
    assert clean[0] > 0 and after == clean
    assert not any("bob" in p or "stolen" in p for p in paths)
    assert status and "outside" in status
    assert result.errors and all("outside" in e for e in result.errors)


def test_entries_looked_at_are_bounded(tmp_path, monkeypatch) -> None:
    """A root that holds a huge tree (a root set to ``~`` or ``/`` by mistake) stops after a
    bounded number of entries, and says so."""
    root = tmp_path / "big"
    for i in range(30):
        d = root / f"d{i}"
        d.mkdir(parents=True)
        for j in range(10):
            (d / f"f{j}.jsonl").write_text("{}\n")
    monkeypatch.setattr(common, "MAX_WALK_ENTRIES", 100)
    errors: list[str] = []
    got = list(common.walk_files(root, (".jsonl",), errors, within=[str(root)]))
    assert 0 < len(got) <= 100
    assert len(errors) == 1 and "stopped" in errors[0] and str(root) in errors[0]
    # the sources' discovery inherits the bound
    proj = tmp_path / "claude" / "projects" / "p"
    proj.mkdir(parents=True)
    for j in range(300):
        (proj / f"s{j}.jsonl").write_text("{}\n")
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude"))
    errors = []
    files, _ = claude_code.discover((), errors)
    assert len(files) <= 100 and any("stopped" in e for e in errors)


def test_depth_beyond_the_cap_is_named(tmp_path) -> None:
    root = tmp_path / "deep"
    d = root
    for i in range(6):
        d = d / f"l{i}"
    d.mkdir(parents=True)
    (d / "x.jsonl").write_text("{}\n")
    errors: list[str] = []
    assert list(common.walk_files(root, (".jsonl",), errors, max_depth=3, within=[str(root)])) == []
    assert len(errors) == 1 and "deeper" in errors[0]


def test_every_walk_in_the_sources_is_bounded_to_its_roots() -> None:
    """Any call of walk_files in tokentui (a new source's discovery too) passes ``within``."""
    pkg = Path(common.__file__).resolve().parents[1]
    unbounded = []
    for path in pkg.rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "walk_files":
                if not any(k.arg == "within" for k in node.keywords):
                    unbounded.append(f"{path.relative_to(pkg.parent)}:{node.lineno}")
    assert not unbounded, unbounded
