"""Secrets: a key never reaches config, history, exports, logs, tracebacks, SVG screenshots
or the terminal beyond a redacted tail; every file tokentop writes is 0600 in 0700 folders;
API base URLs must be https except on loopback (config and env)."""

from __future__ import annotations

import io
import os
import stat
import sys
from pathlib import Path

import pytest

from tests.api import fakes
from tests.api.server import ProviderServer, Reply
from tests.hardening.helpers import env_for, tokentop
from tokentui.cli import main

KEYS = {"OPENAI_ADMIN_KEY": fakes.OPENAI_KEY, "ANTHROPIC_ADMIN_KEY": fakes.ANTHROPIC_KEY,
        "OPENROUTER_API_KEY": fakes.OPENROUTER_KEY, "DEEPSEEK_API_KEY": fakes.DEEPSEEK_KEY,
        "MOONSHOT_API_KEY": fakes.MOONSHOT_KEY}
#: a keyring-only key (no env var): found by its shape, not by comparing with the env
KEYRING_KEY = "sk-or-v1-TESTkeyringONLY0123456789abcdefghijklmnopqr"


def leaks(text: str, keys=(*KEYS.values(), KEYRING_KEY), width: int = 12) -> list[str]:
    """Any ``width``-character piece of a key's secret part (from its "TEST" marker on) found
    in ``text``. A redacted tail is 4 characters, so every hit is a leak, even a truncated one."""
    found = []
    for key in keys:
        body = key[key.index("TEST"):] if "TEST" in key else key
        for i in range(len(body) - width + 1):
            if body[i:i + width] in text:
                found.append(f"{key[:12]}…: {body[i:i + width]!r}")
                break
    return found


def written(*roots: Path) -> dict[Path, bytes]:
    out = {}
    for root in roots:
        for p in root.rglob("*") if root.is_dir() else [root]:
            if p.is_file():
                out[p] = p.read_bytes()
    return out


@pytest.fixture
def server():
    srv = fakes.install(ProviderServer()).start()
    yield srv
    srv.stop()


@pytest.fixture
def keyed(server, monkeypatch, memkeyring):
    for k, v in KEYS.items():
        monkeypatch.setenv(k, v)
    for name, url in fakes.base_urls(server).items():
        monkeypatch.setenv(f"TOKENTOP_{name.upper()}_BASE_URL", url)
    memkeyring.set_password("tokentop", "openrouter", KEYRING_KEY)
    return server


def _run(capsys, *argv: str, stdin: str | None = None) -> tuple[int, str]:
    if stdin is not None:
        sys.stdin = io.StringIO(stdin)
    try:
        code = main(list(argv))
    finally:
        sys.stdin = sys.__stdin__
    out = capsys.readouterr()
    return code, out.out + out.err


def test_keys_never_leave_the_keyring_or_env(keyed, tmp_path, capsys, monkeypatch) -> None:
    home = Path(os.environ["HOME"])
    exports = tmp_path / "exports"
    exports.mkdir()  # a folder named with -o must exist (tokentop creates only its own)
    terminal = []
    steps = [("sync",), ("sources",), ("sources", "--json"), ("keys", "list"), ("keys", "test", "openai"),
             ("keys", "test", "anthropic"), ("report", "daily", "--json", "--no-sync"),
             ("report", "session", "--no-sync"), ("budget", "set", "work", "--usd", "100", "--period", "year"),
             ("budget", "check", "--json"), ("leverage", "--no-sync")]
    steps += [("export", "--no-sync", "--format", f, "-o", str(exports / f"s.{f}")) for f in
              ("md", "html", "json", "toml", "csv")]
    for argv in steps:
        code, text = _run(capsys, *argv)
        assert code in (0, 1), (argv, text)
        terminal.append(text)
    code, text = _run(capsys, "keys", "add", "deepseek", stdin=fakes.DEEPSEEK_KEY + "\n")
    terminal.append(text)
    monkeypatch.setenv("OPENROUTER_API_KEY", "")  # the keyring key is the one in use now
    code, text = _run(capsys, "sync", "--source", "openrouter")
    terminal.append(text)
    blob = "\n".join(terminal)
    assert leaks(blob) == [], leaks(blob)
    assert fakes.OPENAI_KEY[-4:] in blob  # the redacted tail is shown, and only that
    files = written(Path(os.environ["TOKENTOP_DATA_DIR"]), Path(os.environ["TOKENTOP_CONFIG"]).parent, home,
                    exports)
    assert any(p.suffix == ".html" for p in files) and any(p.name == "history.db" for p in files)
    for path, data in files.items():
        assert leaks(data.decode("latin-1")) == [], path


def test_an_exception_carrying_a_key_is_scrubbed(keyed, monkeypatch, capsys) -> None:
    from tokentui.services import poll

    def boom(*a, **k):
        raise RuntimeError(f"upstream said: bad header Authorization: Bearer {fakes.OPENAI_KEY} and {KEYRING_KEY}")

    monkeypatch.setattr(poll, "poll_all", boom)
    code, text = _run(capsys, "sync")
    assert code == 70 and "unexpected RuntimeError" in text and leaks(text) == [], text
    monkeypatch.setenv("TOKENTOP_DEBUG", "1")
    code, text = _run(capsys, "sync")
    assert "Traceback" in text and "boom" in text  # the traceback is there, on request…
    assert leaks(text) == [], text  # …and scrubbed


@pytest.mark.parametrize("bad", ["\x01", "\n", "é", " \x7f"])
def test_a_key_that_breaks_the_http_layer_is_not_echoed(keyed, bad) -> None:
    """A pasted key with a control or non-ASCII character makes httpx refuse the header and
    quote it: the error the user sees is scrubbed."""
    key = fakes.OPENAI_KEY[:30] + bad + fakes.OPENAI_KEY[30:]
    env = env_for(OPENAI_ADMIN_KEY=key)
    for argv in (("keys", "test", "openai"),) + ((("sync", "--source", "openai"),) if bad == "\x01" else ()):
        proc = tokentop(*argv, env=env)
        out = proc.stdout + proc.stderr
        assert "Traceback" not in out and "unexpected" not in out, out
        assert "set it again with only the key" in out, out
        assert leaks(out, [fakes.OPENAI_KEY[:30], fakes.OPENAI_KEY[30:]], width=8) == [], out


def test_a_provider_echoing_the_key_is_scrubbed(keyed, capsys) -> None:
    keyed.route("/v1/organization/usage/completions",
                Reply(401, {"error": {"message": f"Incorrect API key provided: {fakes.OPENAI_KEY}"}}))
    keyed.route("/user/balance", Reply(400, f"bad request for key {fakes.DEEPSEEK_KEY}".encode()))
    code, text = _run(capsys, "sync")
    code2, text2 = _run(capsys, "sources")
    assert leaks(text + text2) == [], text + text2
    files = written(Path(os.environ["TOKENTOP_DATA_DIR"]))
    for path, data in files.items():
        assert leaks(data.decode("latin-1")) == [], path


def test_every_file_written_is_private(keyed, tmp_path, capsys) -> None:
    os.umask(0o022)  # a usual umask: tokentop must not rely on a strict one
    exports = tmp_path / "exports" / "new"
    exports.mkdir(parents=True, mode=0o755)  # the user's folder (-o never creates one): its files are checked
    for argv in (("sync",), ("budget", "set", "w", "--usd", "5", "--period", "month"),
                 ("export", "--no-sync", "-o", str(exports / "s.html")),
                 ("export", "--no-sync", "--format", "json", "-o", str(exports / "s.json"))):
        _run(capsys, *argv)
    roots = [Path(os.environ["TOKENTOP_DATA_DIR"]), Path(os.environ["TOKENTOP_CONFIG"]).parent, exports]
    seen = 0
    for root in roots:
        for p in [root, *root.rglob("*")] if root != exports else list(root.iterdir()):
            mode = stat.S_IMODE(p.stat().st_mode)
            assert mode == (0o700 if p.is_dir() else 0o600), f"{p}: {oct(mode)}"
            seen += 1
    assert seen >= 7


def test_wal_and_lock_files_are_private_while_in_use(keyed) -> None:
    from tokentui.store.db import connect

    db = Path(os.environ["TOKENTOP_DATA_DIR"]) / "history.db"
    conn = connect(db)
    try:
        conn.execute("INSERT INTO meta VALUES ('x', 'y')")
        with __import__("tokentui.services.poll", fromlist=["_exclusive"])._exclusive(conn):
            for p in db.parent.iterdir():
                assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
    finally:
        conn.close()


GOOD_URLS = ["https://gateway.example/v1", "http://127.0.0.1:8123/v1", "http://localhost:9/v1", "http://[::1]:9/v1",
             "http://127.8.9.10/v1"]
BAD_URLS = ["http://example.com/v1", "http://127.0.0.1.evil.example/v1", "http://localhost.evil.example/v1",
            "http://10.0.0.5/v1", "http://0x7f.1/v1", "ftp://127.0.0.1/v1", "file:///etc/passwd", "https:///nohost",
            "javascript:alert(1)", "http://user:pw@example.com/v1"]


@pytest.mark.parametrize("url", GOOD_URLS)
def test_https_or_loopback_base_urls_are_accepted(url, monkeypatch) -> None:
    from tokentui.config import load_settings
    from tokentui.sources.api import resolve_base_url

    monkeypatch.setenv("TOKENTOP_OPENAI_BASE_URL", url)
    assert resolve_base_url("openai", load_settings()) == url.rstrip("/")
    monkeypatch.delenv("TOKENTOP_OPENAI_BASE_URL")
    cfg = Path(os.environ["TOKENTOP_CONFIG"])
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(f'[sources.openai]\nbase_url = "{url}"\n')
    assert resolve_base_url("openai", load_settings()) == url.rstrip("/")


@pytest.mark.parametrize("url", BAD_URLS)
def test_other_base_urls_are_refused_before_any_key_is_sent(url, keyed, capsys, monkeypatch) -> None:
    hits = len(keyed.requests)
    monkeypatch.setenv("TOKENTOP_OPENAI_BASE_URL", url)
    code, text = _run(capsys, "sync", "--source", "openai")
    assert code == 1 and ("plain http is only allowed on loopback" in text or "not an http" in text), text
    assert "TOKENTOP_OPENAI_BASE_URL" in text
    code, text = _run(capsys, "keys", "test", "openai")
    assert code != 0 and "Traceback" not in text and ("plain http" in text or "not an http" in text), text
    monkeypatch.delenv("TOKENTOP_OPENAI_BASE_URL")
    cfg = Path(os.environ["TOKENTOP_CONFIG"])
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(f'[sources.openai]\nbase_url = "{url}"\n')
    code, text = _run(capsys, "sync", "--source", "openai")
    assert code == 2 and text.startswith("tokentop: error:") and "sources.openai.base_url" in text, text
    assert len(keyed.requests) == hits  # the key was never sent anywhere


def test_committed_svg_snapshots_hold_no_key() -> None:
    snaps = Path(__file__).resolve().parents[1] / "snapshots" / "__snapshots__"
    for svg in snaps.rglob("*.svg"):
        text = svg.read_text()
        assert leaks(text) == [] and "sk-admin-" not in text and "sk-ant-admin0" not in text, svg


async def test_sources_screen_screenshot_holds_no_key(keyed) -> None:
    """The TUI's Sources screen with every key configured, as an SVG screenshot."""
    from tokentui.tui.app import TokentopApp
    from tokentui.config import load_settings

    assert main(["sync", "-q"]) in (0, 1)
    app = TokentopApp(load_settings())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("5")
        for _ in range(20):
            await pilot.pause(0.05)
        # with many agents registered the API rows sit below the fold: select openai (its row and
        # its detail, where a key's tail is shown, are then on screen)
        from textual.widgets import DataTable

        table = app.screen.query_one(DataTable)
        names = [str(table.get_row_at(i)[1]) for i in range(table.row_count)]
        table.move_cursor(row=names.index("openai"))
        for _ in range(10):
            await pilot.pause(0.05)
        svg = app.export_screenshot()
    assert "openai" in svg.lower()
    assert leaks(svg) == [], leaks(svg)


#: a configured key of no known shape (a custom gateway's): found only because it is configured
CUSTOM_KEY = "gw-live-TESTcustomGATEWAY0123456789abcdefghij"


def _echoing(server) -> None:
    """A gateway that echoes keys (its own, other sources', a keyring-only one, a custom one)
    into the data itself: dimensions that form natural keys, model names, descriptions, raw
    fields, and the status detail."""
    from tests.api.server import fixture_json, paged

    page1 = fixture_json("openai_usage_completions_page1.json")
    first, second = page1["data"][0]["results"][:2]
    first["api_key_id"] = fakes.OPENAI_KEY  # a natural-key dimension
    first["user_id"] = f"Bearer {KEYRING_KEY}"  # raw only
    second["model"] = f"gpt-4o-2024-08-06 ({fakes.ANTHROPIC_KEY})"  # model name, by_model in exports
    second["project_id"] = f"proj for {CUSTOM_KEY}"
    server.route("/v1/organization/usage/completions",
                 paged(page1, {page1["next_page"]: "openai_usage_completions_page2.json"}))
    costs = fixture_json("anthropic_cost_report.json")
    costs["data"][0]["results"][0]["description"] = f"x-api-key: {fakes.OPENROUTER_KEY}"
    server.route("/v1/organizations/cost_report", Reply(200, costs))
    cc = fixture_json("anthropic_claude_code.json")
    cc["data"][1]["actor"]["api_key_name"] = fakes.DEEPSEEK_KEY
    server.route("/v1/organizations/usage_report/claude_code",
                 lambda req: Reply(200, cc if req.q("starting_at") == "2025-09-08" else fakes.EMPTY_ANTHROPIC))
    key = fixture_json("openrouter_key.json")
    key["data"]["limit_reset"] = f"monthly for {fakes.OPENAI_PROJECT_KEY}"  # status detail
    server.route("/api/v1/key", Reply(200, key))


def test_keys_echoed_into_api_data_never_reach_history_or_exports(keyed, tmp_path, capsys, monkeypatch) -> None:
    from tests.api.test_openai import expected_tokens

    monkeypatch.setenv("MOONSHOT_API_KEY", CUSTOM_KEY)
    _echoing(keyed)
    exports = tmp_path / "exports"
    exports.mkdir()  # a folder named with -o must exist (tokentop creates only its own)
    terminal = []
    steps = [("sync",), ("sources",), ("sources", "--json"), ("report", "daily", "--json", "--no-sync"),
             ("report", "daily", "--breakdown", "--no-sync", "--since", "20250901", "--until", "20250910"),
             ("leverage", "--no-sync")]
    steps += [("export", "--no-sync", "--include-projects", "--period", "2025-09-01..2025-09-10", "--format", f,
               "-o", str(exports / f"s.{f}")) for f in ("md", "html", "json", "toml", "csv")]
    for argv in steps:
        code, text = _run(capsys, *argv)
        assert code in (0, 1), (argv, text)
        terminal.append(text)
    keys = (*KEYS.values(), KEYRING_KEY, CUSTOM_KEY, fakes.OPENAI_PROJECT_KEY)
    blob = "\n".join(terminal)
    assert leaks(blob, keys) == [], leaks(blob, keys)
    files = written(Path(os.environ["TOKENTOP_DATA_DIR"]), exports)
    assert len([p for p in files if p.parent == exports]) == 6  # and the CSV's data file, scanned too
    # the model is still listed, its key redacted to the tail
    assert f"gpt-4o-2024-08-06 (…{fakes.ANTHROPIC_KEY[-4:]})" in files[exports / "s.md"].decode()
    for path, data in files.items():
        assert leaks(data.decode("latin-1"), keys) == [], path
    # redaction changes no figure: every bucket is still its own record, totals are exact
    code, text = _run(capsys, "report", "daily", "--json", "--no-sync", "--source", "openai", "--timezone", "UTC")
    assert __import__("json").loads(text)["totals"]["totalTokens"] == expected_tokens()


def test_a_key_in_a_natural_key_stored_before_redaction_is_replaced(keyed, capsys, monkeypatch) -> None:
    """A store written before keys were redacted holds a record whose natural key quotes the
    key; the next poll replaces it (no copy left, nothing counted twice)."""
    import sqlite3

    from tests.api.test_openai import expected_tokens
    from tokentui.core.records import UsageRecord
    from tokentui.store import ledger
    from tokentui.store.db import connect

    monkeypatch.setenv("MOONSHOT_API_KEY", CUSTOM_KEY)
    _echoing(keyed)
    old_key = (f"completions|1756684800|86400|model=gpt-4o-2024-08-06|project_id=|"
               f"api_key_id={fakes.OPENAI_KEY}")
    conn = connect(Path(os.environ["TOKENTOP_DATA_DIR"]) / "history.db")
    ledger.upsert(conn, [UsageRecord("openai", old_key, 1756684800000, "gpt-4o-2024-08-06", input=182340,
                                     output=41210, cache_read=96000, kind="api", width_s=86400, requests=412)], "dev")
    conn.close()
    code, text = _run(capsys, "sync", "--source", "openai")
    assert code == 0, text
    db = sqlite3.connect(Path(os.environ["TOKENTOP_DATA_DIR"]) / "history.db")
    try:
        keys = [k for (k,) in db.execute("SELECT key FROM ledger WHERE source = 'openai'")]
    finally:
        db.close()
    assert leaks("\n".join(keys)) == [], keys
    assert any("api_key_id=…" in k for k in keys)
    code, text = _run(capsys, "report", "daily", "--json", "--no-sync", "--source", "openai", "--timezone", "UTC")
    assert __import__("json").loads(text)["totals"]["totalTokens"] == expected_tokens()


def test_same_tail_keys_stay_apart() -> None:
    """Two keys ending alike redact to the same tail, but never to the same natural key."""
    from tokentui.core.secrets import redact_secrets

    a, b = "sk-admin-TESTaaaaaaaaaaaaaaaaaaaaaaaaWXYZ", "sk-admin-TESTbbbbbbbbbbbbbbbbbbbbbbbbWXYZ"
    assert redact_secrets(a) == redact_secrets(b) == "…WXYZ"
    ka, kb = redact_secrets(f"k|{a}", identity=True), redact_secrets(f"k|{b}", identity=True)
    assert ka != kb and leaks(ka + kb, [a, b]) == []
    for word in ("task-0123456789abcdefghijklmnopq", "risk-assessment-pipeline-v2024", "sk-learn-pipeline-2024",
                 "api_key_id=key_0123456789abcdefgh"):
        assert redact_secrets(word) == word  # ordinary names are left alone


def test_exports_redact_keys_already_in_the_store(keyed, tmp_path, capsys) -> None:
    """History written before redaction existed (or by an older tokentop) may quote a key in a
    model name; no export format carries it out."""
    from tokentui.core.records import BILLED, UsageRecord
    from tokentui.store import ledger
    from tokentui.store.db import connect

    conn = connect(Path(os.environ["TOKENTOP_DATA_DIR"]) / "history.db")
    ledger.upsert(conn, [UsageRecord("openai", "completions|1756684800|86400|m", 1756684800000,
                                     f"gpt-4o via {fakes.OPENAI_KEY}", input=1000, output=10, cost_pico=5 * 10**12,
                                     cost_label=BILLED, kind="api", width_s=86400, requests=1),
                         UsageRecord("openrouter", "activity|1756684800|m", 1756684800000,
                                     f"auth Bearer {KEYRING_KEY}", input=10, output=1, kind="api", width_s=86400,
                                     requests=1)], "dev")
    conn.close()
    exports = tmp_path / "exports"
    exports.mkdir()  # a folder named with -o must exist (tokentop creates only its own)
    for f in ("md", "html", "json", "toml", "csv"):
        code, text = _run(capsys, "export", "--no-sync", "--period", "2025-09-01..2025-09-02", "--format", f,
                          "-o", str(exports / f"s.{f}"))
        assert code == 0, text
        data = (exports / f"s.{f}").read_text()
        assert leaks(data) == [], (f, leaks(data))
        assert f == "csv" or "gpt-4o via …" in data  # (the csv is days only)
    code, text = _run(capsys, "verify", str(exports / "s.json"))
    assert code == 0, text  # the digest covers the redacted data
