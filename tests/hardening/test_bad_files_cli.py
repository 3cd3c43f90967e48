"""Malformed config.toml, theme files, team.toml and snapshots, through the command line:
a non-zero exit, one error line on stderr (plus at most one hint line), never a traceback.
Nothing in them is evaluated or imported: they are parsed as data only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.hardening.helpers import tokentop
from tokentui.cli import main

GOOD_TEAM = """format = "tokentop-team/1"
name = "T"
window_days = 28
members = 5
[metrics.tokens_per_week]
n = 5
p10 = 1
p25 = 2
p50 = 3
p75 = 4
p90 = 5
"""
DEEP_TOML = "a = " + "[" * 5000 + "]" * 5000
DEEP_TABLE = "a = " + "{b = " * 3000 + "1" + "}" * 3000
CONFIGS = {
    "syntax": "timezone = \n",
    "deep-array": DEEP_TOML,
    "deep-inline-table": DEEP_TABLE,
    "binary": b"\x00\xff\xfe\x01" * 50,
    "invalid-utf8": b'device = "\xff"\n',
    "nul-in-path": '[sources.codex]\npaths = ["/tmp/a\\u0000b"]\n',
    "nul-in-team-file": '[team]\nfile = "/tmp/t\\u0000.toml"\n',
    "huge-price": '[pricing.overrides."m"]\ninput = "1e999999999"\noutput = 1\n',
    "negative-price": '[pricing.overrides."m"]\ninput = -1\noutput = 1\n',
    "nan-price": '[pricing.overrides."m"]\ninput = nan\noutput = 1\n',
    "inf-refresh": "refresh_seconds = inf\n",
    "huge-int": "[sources.openai]\npoll_interval = 99999999999999999999\n",
    "timezone-path": 'timezone = "../../../etc/passwd"\n',
    "http-base-url": '[sources.openai]\nbase_url = "http://example.com/v1"\n',
    "broken-base-url": '[sources.openai]\nbase_url = "https://[::1"\n',
    "wrong-type": 'theme = 5\n',
    "unknown-key": 'foo = 1\n',
    "duplicate-key": 'device = "a"\ndevice = "b"\n',
    "table-missing": '[pricing]\ntable = "/nonexistent/prices.json"\n',
    "python-code": '__import__ = "os"\n[pricing]\nmode = "__import__(\'os\').system(\'touch /tmp/pwned\')"\n',
    "is-a-directory": None,
}


def _cfg(tmp_path: Path, text) -> Path:
    path = Path(os.environ["TOKENTOP_CONFIG"])
    path.parent.mkdir(parents=True, exist_ok=True)
    if text is None:
        path.mkdir()
    elif isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def one_error(capsys, code: int) -> str:
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code not in (0, 70), (code, err)  # 70: an unexpected exception reached the top
    assert "Traceback" not in err and lines, err
    assert lines[0].startswith("tokentop: error:"), err
    assert len(lines) <= 2 and all(ln.startswith("  hint:") for ln in lines[1:]), err
    return lines[0]


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_malformed_config(name, tmp_path, capsys) -> None:
    path = _cfg(tmp_path, CONFIGS[name])
    if name == "table-missing":
        code = main(["sync", "-q"])
    else:
        code = main(["report", "daily", "--no-sync"])
    line = one_error(capsys, code)
    assert str(path) in line or "pricing.table" in line
    assert not Path("/tmp/pwned").exists()


def test_malformed_config_through_a_real_process(tmp_path) -> None:
    _cfg(tmp_path, DEEP_TABLE)
    proc = tokentop("sources")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("tokentop: error:") and len(proc.stderr.strip().splitlines()) == 1
    assert "nested too deeply" in proc.stderr


def test_price_table_nested_too_deeply(tmp_path, capsys) -> None:
    table = tmp_path / "prices.json"
    table.write_text("[" * 100_000 + "]" * 100_000)
    _cfg(tmp_path, f'[pricing]\ntable = "{table}"\n')
    one_error(capsys, main(["sync", "-q"]))


@pytest.mark.parametrize("amount", ['usd = "1e999999999"', "tokens = 1e300", 'usd = "NaN"', "usd = -3"])
def test_malformed_budget(amount, tmp_path, capsys) -> None:
    _cfg(tmp_path, f'[budgets.x]\n{amount}\nperiod = "year"\n')
    one_error(capsys, main(["budget", "list"]))


THEMES = {
    "syntax": 'name = "x"\nprimary = \n',
    "deep": 'name = "x"\nprimary = "#fff"\n' + DEEP_TOML,
    "bad-colour": 'name = "x"\nprimary = "#zz"\n',
    "no-primary": 'name = "x"\n',
    "bad-name": 'name = "../../etc"\nprimary = "#fff"\n',
    "binary": b"\x00\xff" * 40,
    "css-injection": 'name = "x"\nprimary = "#fff; } * { display: none"\n',
}


@pytest.mark.parametrize("name", sorted(THEMES))
def test_malformed_theme_file(name, tmp_path, capsys) -> None:
    path = tmp_path / f"{name}.toml"
    text = THEMES[name]
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    line = one_error(capsys, main(["--theme", str(path)]))  # fails before the TUI would start
    assert str(path) in line
    themes = Path(os.environ["TOKENTOP_CONFIG"]).parent / "themes"
    themes.mkdir(parents=True, exist_ok=True)
    (themes / f"mine-{name}.toml").write_bytes(path.read_bytes())
    one_error(capsys, main(["--theme", f"mine-{name}"]))


TEAMS = {
    "deep": DEEP_TOML,
    "binary": b"\x00\xff" * 100,
    "invalid-utf8": b'name = "\xff"',
    "empty": "",
    "huge-percentile": GOOD_TEAM.replace("p90 = 5", "p90 = 1e999999999"),
    "nan": GOOD_TEAM.replace("p90 = 5", "p90 = nan"),
    "negative-n": GOOD_TEAM.replace("n = 5", "n = -5"),
    "text-percentile": GOOD_TEAM.replace("p50 = 3", 'p50 = "x"'),
    "decreasing": GOOD_TEAM.replace("p10 = 1", "p10 = 9"),
    "huge-window": GOOD_TEAM.replace("window_days = 28", "window_days = 99999999999999999"),
    "wrong-format": GOOD_TEAM.replace("tokentop-team/1", "other/9"),
    "metrics-array": GOOD_TEAM.replace("[metrics.tokens_per_week]", "[[metrics]]"),
    "a-directory": None,
    "missing": "MISSING",
}


@pytest.mark.parametrize("name", sorted(TEAMS))
def test_malformed_team_file(name, tmp_path, capsys) -> None:
    path = tmp_path / "team.toml"
    text = TEAMS[name]
    if text is None:
        path.mkdir()
    elif isinstance(text, bytes):
        path.write_bytes(text)
    elif text != "MISSING":
        path.write_text(text)
    one_error(capsys, main(["team", "use", str(path)]))
    assert not Path(os.environ["TOKENTOP_CONFIG"]).exists()  # a refused file is not put in config


SNAPSHOTS = {
    "deep-array": "[" * 100_000 + "]" * 100_000,
    "deep-object": '{"a":' * 100_000 + "1" + "}" * 100_000,
    "deep-toml": DEEP_TOML,
    "binary": b"\x00\xff" * 100,
    "empty": "",
    "huge-number": '{"digest": "x", "data": ' + "9" * 5000 + "}",
    "nan": '{"digest": "x", "data": {"leverage": NaN}}',
    "lone-surrogate": '{"digest": "x", "data": {"a": "\\ud800"}}',
    "a-string": '"hello"',
    "no-digest": '{"data": {"leverage": {"window_days": 28}}}',
    "wrong-digest": '{"digest": "' + "0" * 64 + '", "data": {"leverage": {"window_days": 28}}}',
}


@pytest.mark.parametrize("ext", ["json", "toml", "md"])
@pytest.mark.parametrize("name", sorted(SNAPSHOTS))
def test_malformed_snapshot(name, ext, tmp_path, capsys) -> None:
    path = tmp_path / f"snap.{ext}"
    text = SNAPSHOTS[name]
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    code = main(["verify", str(path)])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "ALTERED" in err or "not a tokentop snapshot" in err, err
    others = [tmp_path / f"s{i}.json" for i in range(4)]
    for o in others:
        o.write_text('{"digest": "x", "data": {}}')
    one_error(capsys, main(["team", "build", str(path), *map(str, others), "-o", str(tmp_path / "t.toml")]))
    assert not (tmp_path / "t.toml").exists()


def test_nothing_evaluates_or_imports_user_content() -> None:
    """No eval/exec/compile, no pickle/marshal/shelve, no yaml.load; the one dynamic import is
    the source registry's, which only accepts modules of tokentop's own."""
    import ast

    import tokentui
    from tokentui.sources import registry

    banned_calls = {"eval", "exec", "compile", "__import__"}
    banned_modules = {"pickle", "marshal", "shelve", "dill", "yaml"}
    root = Path(tokentui.__file__).parent
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in banned_calls, f"{path}:{node.lineno}"
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + ([node.module] if getattr(node, "module", None) else [])
                assert not any(n.split(".")[0] in banned_modules for n in names), f"{path}:{node.lineno}"
            if isinstance(node, ast.Attribute) and node.attr == "import_module":
                assert path.name == "registry.py", f"{path}:{node.lineno}"
    assert all(s.reader.startswith("tokentui.sources.") for s in registry.all_sources())
    with pytest.raises(ValueError):
        registry.register(registry.Source("evil", registry.LOCAL, "Evil", "os:system"))
    assert not registry.known("evil")
