"""Every test runs with its own config file, data dir, HOME and an in-memory keyring."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import keyring
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.memkeyring import MemoryKeyring  # noqa: E402

FIXTURES = Path(__file__).resolve().parent / "fixtures"
LOG_FIXTURES = FIXTURES / "logs"
PROVIDER_FIXTURES = FIXTURES / "providers"

def _source_env_vars() -> tuple[str, ...]:
    from tokentui.sources import registry

    return tuple(e for src in registry.all_sources() for e in src.env)


#: every env var that points tokentop at the developer's own data: each source's (from the
#: registry: its folders, its key) and the base directories
_SCRUB = ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "TZ", *_source_env_vars())


def pytest_addoption(parser):
    parser.addoption("--soak", action="store_true", help="run long soak variants")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--soak"):
        return
    skip = pytest.mark.skip(reason="soak variant: run with --soak")
    for item in items:
        if "soak" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("TOKENTOP_CONFIG", str(tmp_path / "config" / "config.toml"))
    monkeypatch.setenv("TOKENTOP_DATA_DIR", str(tmp_path / "data"))
    for name in _SCRUB:
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if name.startswith("TOKENTOP_") and name.endswith("_BASE_URL"):
            monkeypatch.delenv(name, raising=False)
    # the local test servers have no rate limit: no pause between Claude Code analytics calls
    # (a 90-day backfill would wait 22 s per poll; test_claude_code_calls_are_paced sets its own)
    monkeypatch.setenv("TOKENTOP_ANALYTICS_PACE", "0")
    # subprocesses (the CLI run as a user runs it) get a keyring that holds nothing, never the
    # developer's real one; this process uses the in-memory backend below
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    backend = MemoryKeyring()
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    yield tmp_path
    keyring.set_keyring(previous)


@pytest.fixture
def memkeyring() -> MemoryKeyring:
    return keyring.get_keyring()


@pytest.fixture
def fixture_price_table():
    """The LiteLLM-shaped price table the log fixtures' expected costs were computed with."""
    from tokentui.core.pricing import load_price_table

    return load_price_table(LOG_FIXTURES / "pricing" / "litellm-fixture.json")
