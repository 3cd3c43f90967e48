"""Fault-suite fixtures: generated corpora (made once per run) and the soak switch."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.hardening.helpers import make_corpus


def pytest_configure(config) -> None:
    # read by strategies.examples() when the property tests are defined
    if config.getoption("--soak", default=False):
        os.environ["TOKENTOP_HARDENING_SOAK"] = "1"


@pytest.fixture(scope="session")
def corpus_cache(tmp_path_factory) -> dict:
    return {"root": tmp_path_factory.mktemp("corpora")}


@pytest.fixture
def corpus(corpus_cache, tmp_path):
    """``corpus(mb, seed)`` → a private copy of a generated corpus (with truth.json)."""
    def make(mb: float = 3.0, seed: int = 21) -> Path:
        key = f"c{mb}-{seed}"
        src = corpus_cache["root"] / key
        if not src.exists():
            make_corpus(src, mb, seed)
        dst = tmp_path / key
        shutil.copytree(src, dst)
        return dst

    return make
