"""A SIGKILL during a share-folder export never leaves a segment another device imports half:
a real `tokentop sync` is killed between writing a segment's temporary file and renaming it,
and at random moments of its export; the other device's imports stay exact."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.hardening.helpers import REPO, env_for, make_corpus, stored, tokentop, truth
from tokentui.core import segment
from tokentui.store.db import connect


def _device(tmp: Path, name: str, share: Path, corpus: Path) -> dict:
    cfg = tmp / name / "config.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text(f'device = "{name}"\n[share]\nfolder = "{share}"\n')
    return env_for(TOKENTOP_CONFIG=str(cfg), TOKENTOP_DATA_DIR=str(tmp / name / "data"),
                   CLAUDE_CONFIG_DIR=str(corpus / "claude"), CODEX_HOME=str(corpus / "codex"))


def _stored(env: dict) -> dict:
    conn = connect(Path(env["TOKENTOP_DATA_DIR"]) / "history.db")
    try:
        return stored(conn)
    finally:
        conn.close()


def _spawn(env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tokentui", "sync", "-q"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=str(REPO))


def _sum(*ts: dict) -> dict:
    out: dict = {}
    for t in ts:
        for k, v in t.items():
            out[k] = tuple(a + b for a, b in zip(out[k], v)) if k in out else v
    return out


def test_kill_between_temp_write_and_rename_leaves_nothing_to_import(tmp_path) -> None:
    share = tmp_path / "share"
    share.mkdir()
    ca, cb = make_corpus(tmp_path / "ca", 0.4, 201, days=5), make_corpus(tmp_path / "cb", 0.4, 202, days=5)
    a, b = _device(tmp_path, "a", share, ca), _device(tmp_path, "b", share, cb)
    proc = _spawn({**a, "TOKENTOP_SHARE_PAUSE_BEFORE_RENAME": "30"})
    deadline = time.monotonic() + 60
    temps: list[Path] = []
    while time.monotonic() < deadline and not temps:
        temps = [p for p in share.rglob(".tokentop-*.tmp")]
        time.sleep(0.02)
    assert temps, "the export never started"
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert not [p for p in share.rglob("*") if segment.parse_name(p.name)]  # no segment, only the temp
    r = tokentop("sync", "-q", env=b)
    assert r.returncode == 0, r.stderr
    assert "tokentop" not in r.stderr  # the temp file is no problem: it is still being written
    assert _stored(b) == truth(cb)
    # the killed device syncs again: its records go out whole, and b imports them exactly
    assert tokentop("sync", "-q", env=a).returncode == 0
    assert tokentop("sync", "-q", env=b).returncode == 0
    assert _stored(b) == _sum(truth(ca), truth(cb))


@pytest.mark.parametrize("kills", [6, pytest.param(60, marks=pytest.mark.soak)])
def test_kills_at_random_moments_of_an_export_never_count_half_or_twice(tmp_path, kills) -> None:
    share = tmp_path / "share"
    share.mkdir()
    ca, cb = make_corpus(tmp_path / "ca", 0.4, 203, days=5), make_corpus(tmp_path / "cb", 0.4, 204, days=5)
    a, b = _device(tmp_path, "a", share, ca), _device(tmp_path, "b", share, cb)
    rng = random.Random(18 + kills)
    for i in range(kills):
        proc = _spawn({**a, "TOKENTOP_SHARE_PAUSE_BEFORE_RENAME": str(rng.choice([0, 0.05, 0.2]))})
        time.sleep(rng.uniform(0.2, 1.2))
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        r = tokentop("sync", "-q", env=b)
        assert r.returncode == 0, r.stderr
        # a's first export is one segment: b holds all of a's records or none, never part
        assert _stored(b) in (truth(cb), _sum(truth(ca), truth(cb))), f"half an export imported after kill {i}"
    assert tokentop("sync", "-q", env=a).returncode == 0
    assert tokentop("sync", "-q", env=b).returncode == 0
    assert _stored(b) == _sum(truth(ca), truth(cb))
