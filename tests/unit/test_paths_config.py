"""paths.py and config.py: locations, permissions, round-trip, clear errors."""

from __future__ import annotations

import stat
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from tokentui import config, paths
from tokentui.errors import ConfigError


def test_env_overrides_locations(isolated: Path) -> None:
    assert paths.config_file() == isolated / "config" / "config.toml"
    assert paths.data_dir() == isolated / "data"
    assert paths.history_db() == isolated / "data" / "history.db"
    assert paths.user_themes_dir() == isolated / "config" / "themes"
    assert (paths.builtin_themes_dir() / "tokentop-dark.toml").is_file()


def test_nothing_created_at_import_and_private_modes(isolated: Path) -> None:
    code = "import tokentui.paths, tokentui.config, tokentui.cli"
    subprocess.run([sys.executable, "-c", code], check=True)
    assert not (isolated / "data").exists() and not (isolated / "config").exists()
    d = paths.ensure_dir(isolated / "data" / "sub")
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    f = d / "x.txt"
    paths.write_private_text(f, "hello")
    assert f.read_text() == "hello" and stat.S_IMODE(f.stat().st_mode) == 0o600


def test_defaults_when_no_file(isolated: Path) -> None:
    s = config.load_settings()
    assert s.pricing_mode == "auto" and s.theme == "tokentop-dark" and s.sources == {}
    assert s.device  # hostname


def test_round_trip_keeps_user_settings(isolated: Path) -> None:
    path = paths.config_file()
    path.parent.mkdir(parents=True)
    path.write_text('timezone = "Europe/Berlin"\n[pricing.overrides."my-model"]\ninput = 2.5\noutput = 10\n'
                    '[budgets.annual]\nusd = 1200\nperiod = "year"\n[sources.codex]\npaths = ["~/x"]\n')
    s = config.update_config(path, ["theme"], "tokentop-light")
    assert s.theme == "tokentop-light"
    assert s.timezone == "Europe/Berlin"
    assert s.price_overrides["my-model"].input == Decimal("2.5")
    assert s.raw["budgets"]["annual"] == {"usd": 1200, "period": "year"}
    assert s.source("codex").paths == ("~/x",)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    s = config.update_config(path, ["theme"], None)
    assert "theme" not in s.raw and s.raw["budgets"]["annual"]["usd"] == 1200


@pytest.mark.parametrize("text, line, key", [
    ('timezone = "Mars/Olympus"\n', 1, "timezone"),
    ('theme = "x"\nrefresh_seconds = "fast"\n', 2, "refresh_seconds"),
    ('[pricing]\nmode = "guess"\n', 2, "pricing.mode"),
    ('[sources.codex]\nenabled = true\npoll_interval = 5\n', 3, "sources.codex.poll_interval"),
    ('[sources.nope]\nenabled = true\n', 1, "sources.nope"),
    ('[pricing.overrides."m"]\ninput = -1\noutput = 2\n', 2, "pricing.overrides.m.input"),
    ('[sources.openai]\nbase_url = "http://example.com/v1"\n', 2, "sources.openai.base_url"),
    ('tmezone = "UTC"\n', 1, "tmezone"),
])
def test_invalid_config_names_file_line_and_key(isolated: Path, text: str, line: int, key: str) -> None:
    path = isolated / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        config.load_settings(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}:{line}: {key}:"), msg
    assert "\n" not in msg


def test_toml_syntax_error_names_line(isolated: Path) -> None:
    path = isolated / "c.toml"
    path.write_text('timezone = "UTC"\ntheme = \n')
    with pytest.raises(ConfigError, match=r"c\.toml: invalid TOML: .*line 2"):
        config.load_settings(path)


def test_cli_invalid_config_is_one_line_exit_2(isolated: Path) -> None:
    path = paths.config_file()
    path.parent.mkdir(parents=True)
    path.write_text("[pricing]\nmode = 3\n")
    proc = subprocess.run([sys.executable, "-m", "tokentui", "report", "daily", "--no-sync"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert f"{path}:2: pricing.mode:" in proc.stderr
    assert "Traceback" not in proc.stderr
