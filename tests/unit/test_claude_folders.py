"""Claude Code's project dir names encode the folder a session started in (``/home/me/code/api``
is ``-home-me-code-api``), and every transcript line carries that ``cwd``: the parser keeps the
folder in the file's cursor, so projects are named and folded by the real folder."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from tests.unit.ingest_helpers import sync
from tokentui.core.pricing import Pricer
from tokentui.services import report, sessions
from tokentui.sources import claude_code
from tokentui.sources.common import LocalFile
from tokentui.store import sessions as store_sessions

PRICER = Pricer(use_genai=False)


def _line(n: int, cwd: str | None, msg: str) -> bytes:
    obj = {"type": "assistant", "timestamp": f"2026-11-20T10:00:{n:02d}.000Z", "requestId": f"req_{msg}",
           "sessionId": "sess", "version": "2.1.37",
           "message": {"id": msg, "model": "claude-sonnet-4-5", "role": "assistant",
                       "usage": {"input_tokens": 10, "output_tokens": 20}}}
    if cwd is not None:
        obj["cwd"] = cwd
    return json.dumps(obj, separators=(",", ":")).encode()


def _parse(project: str, lines: list[bytes], state=None):
    f = LocalFile(f"/c/projects/{project}/s.jsonl", claude_code.SOURCE, project, "s", f"{project}/s.jsonl")
    return claude_code.parse_lines(iter([(lines, 0)]), f, state, _Ctx(), lambda r, s: ("row",))


class _Ctx:
    pricer = PRICER
    mode = "auto"


def test_the_folder_the_project_dir_encodes_is_kept_in_the_cursor_state() -> None:
    got = _parse("-home-me-code-my-app", [_line(1, "/home/me/code/my.app", "m1"), _line(2, "/tmp", "m2")])
    assert got.state == {"folder": "/home/me/code/my.app"}


def test_a_cwd_the_dir_name_does_not_encode_is_not_its_folder() -> None:
    # the session moved at once (`cd /tmp`): the first line's folder is not the project's
    got = _parse("-home-me-api", [_line(1, "/tmp", "m1"), _line(2, "/home/me/api", "m2")])
    assert got.state == {"folder": "/home/me/api"}
    for bad in (None, "", 7, "/home/me/api/", "/home/me/ap"):
        assert _parse("-home-me-api", [_line(1, bad, "m1")]).state == {}, bad
    # a Claude Desktop space or any name that is no encoded path: nothing found
    assert _parse("space-1", [_line(1, "/home/me/api", "m1")]).state == {}


def test_a_windows_folder_is_found_too() -> None:
    got = _parse("C--Users-me-code-api", [_line(1, "C:\\Users\\me\\code\\api", "m1")])
    assert got.state == {"folder": "C:\\Users\\me\\code\\api"}


def test_later_reads_keep_the_folder_found_before() -> None:
    first = _parse("-home-me-api", [_line(1, "/home/me/api", "m1")])
    later = _parse("-home-me-api", [_line(2, None, "m2")], json.loads(json.dumps(first.state)))
    assert later.state == {"folder": "/home/me/api"}


def _write(root, project: str, cwd: str | None, msg: str, n: int) -> None:
    d = root / "projects" / project
    d.mkdir(parents=True, exist_ok=True)
    with open(d / f"{msg}.jsonl", "ab") as fh:
        fh.write(_line(n, cwd, msg) + b"\n")


NOW = int(datetime(2026, 11, 21, tzinfo=timezone.utc).timestamp() * 1000)


def test_projects_are_named_and_folded_by_the_folders_claude_code_recorded(tmp_path, monkeypatch) -> None:
    from tokentui.core.windows import window

    root = tmp_path / "claude"
    _write(root, "-home-me-code-api", "/home/me/code/api", "m1", 1)
    _write(root, "-home-me-code-api-web", "/home/me/code/api/web", "m2", 2)  # a subfolder of api
    _write(root, "-home-me-code-api--claude-worktrees-fix", "/home/me/code/api/.claude/worktrees/fix", "m3", 3)
    _write(root, "-home-me-code-tools", None, "m4", 4)  # older lines without a cwd
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(root))
    conn, _ = sync(tmp_path / "h.db", PRICER, sources=("claude-code",))
    assert sorted(store_sessions.project_folders(conn)) == [
        "/home/me/code/api", "/home/me/code/api/.claude/worktrees/fix", "/home/me/code/api/web"]

    view = sessions.build_projects(conn, window("all"), NOW)
    names = {r.name: r for r in view.rows}
    assert set(names) == {"api", "code-tools"}  # by folder; without one, the name less its home
    assert sorted(names["api"].recorded) == ["-home-me-code-api", "-home-me-code-api--claude-worktrees-fix",
                                             "-home-me-code-api-web"]
    data = report.build(conn, report.ReportRequest("session", window="all"))
    assert sorted(r["projectName"] for r in data["session"]) == ["api", "api", "api", "code-tools"]
    # the table shows the same names
    table = report.render_table(data, "session", 100)
    assert table.count("\napi ") == 3 and "code-api" not in table
    # and so does the snapshot a manager reads (names only, never the folder)
    from tokentui.config import load_settings
    from tokentui.services.snapshot import ExportOptions, build

    snap = build(conn, load_settings(), ExportOptions(period="2026-11-01..2026-11-30", include_projects=True,
                                                      timezone="UTC", now=datetime(2026, 11, 21, tzinfo=timezone.utc)))
    assert {p["project"]: p["total_tokens"] for p in snap.data["projects"]} == {"api": 90, "code-tools": 30}


def test_transcripts_read_before_get_their_folder_from_their_first_lines_once(tmp_path, monkeypatch) -> None:
    from tokentui.core.windows import window
    from tokentui.store import ledger

    root = tmp_path / "claude"
    _write(root, "-home-me-code-api", "/home/me/code/api", "m1", 1)
    _write(root, "-home-me-code-tools", "/home/me/code/tools", "m2", 2)
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(root))
    conn, _ = sync(tmp_path / "h.db", PRICER, sources=("claude-code",))
    rows = conn.execute("SELECT * FROM ledger ORDER BY key").fetchall()
    # the store as an older tokentop left it: no folder in the cursors (another key stays)
    conn.execute("UPDATE files SET state = '{\"implausible\":0}' WHERE source = 'claude-code'")
    conn.execute("DELETE FROM meta WHERE key = 'reader_revision:claude-code'")
    conn.commit()
    assert store_sessions.project_folders(conn) == []
    conn.close()

    conn, res = sync(tmp_path / "h.db", PRICER, sources=("claude-code",))
    assert res["claude-code"].bytes_read == 0  # only the first bytes, outside the ingest
    assert sorted(store_sessions.project_folders(conn)) == ["/home/me/code/api", "/home/me/code/tools"]
    assert {json.loads(s)["implausible"] for (s,) in conn.execute("SELECT state FROM files")} == {0}
    assert conn.execute("SELECT * FROM ledger ORDER BY key").fetchall() == rows  # no row touched
    assert ledger.read_revision(conn, "claude-code") == 2
    names = {r.name for r in sessions.build_projects(conn, window("all"), NOW).rows}
    assert names == {"api", "tools"}
    conn.execute("UPDATE files SET state = NULL")  # once: the revision is recorded
    conn.commit()
    conn.close()
    conn, _ = sync(tmp_path / "h.db", PRICER, sources=("claude-code",))
    assert store_sessions.project_folders(conn) == []


def test_head_state_reads_complete_lines_only() -> None:
    f = LocalFile("/c/projects/-home-me-api/s.jsonl", claude_code.SOURCE, "-home-me-api", "s", "-home-me-api/s.jsonl")
    first = json.dumps({"type": "user", "cwd": "/tmp"}).encode()
    good = json.dumps({"type": "user", "cwd": "/home/me/api"}).encode()
    assert claude_code.head_state(first + b"\n" + good + b"\n", f) == {"folder": "/home/me/api"}
    assert claude_code.head_state(first + b"\n" + good, f) is None  # a line cut by the head's end
    assert claude_code.head_state(b"{not json\n" + good + b"\n", f) == {"folder": "/home/me/api"}
    escaped = b'{"type":"user","c\\u0077d":"/home/me/api"}\n'  # any spelling JSON allows
    assert claude_code.head_state(escaped, f) == {"folder": "/home/me/api"}
