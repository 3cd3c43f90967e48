"""Start `tokentop --demo` in a real terminal (tmux), switch screens, quit, check it exited cleanly."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.tmux, pytest.mark.serial, pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed")]

REPO = Path(__file__).resolve().parents[2]


class Tmux:
    """A private tmux server (its own socket) holding one session."""

    def __init__(self, socket: Path) -> None:
        self.base = ["tmux", "-S", str(socket), "-f", "/dev/null"]

    def run(self, *args: str) -> str:
        return subprocess.run(self.base + list(args), check=True, capture_output=True, text=True).stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "t")

    def wait_for_gone(self, needle: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while needle in self.screen():
            if time.monotonic() > deadline:
                raise AssertionError(f"{needle!r} still on screen after {timeout}s")
            time.sleep(0.1)

    def wait_for(self, *needles: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            try:
                text = self.screen()
            except subprocess.CalledProcessError:  # the session ended
                break
            if all(n in text for n in needles):
                return text
            time.sleep(0.2)
        raise AssertionError(f"{needles} not on screen after {timeout}s:\n{text}")


def test_demo_in_a_real_terminal(tmp_path):
    socket = tmp_path / "tmux.sock"
    rc_file = tmp_path / "rc"
    tmp_dir = tmp_path / "tmp"
    tmp_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TMUX")}
    env.update(TMPDIR=str(tmp_dir), TERM="xterm-256color", COLORTERM="truecolor", PYTHONPATH=str(REPO))
    cmd = f"{shlex.quote(sys.executable)} -m tokentui --demo; echo $? > {shlex.quote(str(rc_file))}"
    tmux = Tmux(socket)
    subprocess.run(tmux.base + ["new-session", "-d", "-x", "100", "-y", "30", "-s", "t", cmd], check=True, env=env)
    try:
        tmux.run("set-option", "-t", "t", "remain-on-exit", "off")
        tmux.wait_for("Burn", "Totals", "today", "Top models", "/min")
        demo_dirs = [p for p in tmp_dir.iterdir() if p.name.startswith("tokentop-demo-")]
        assert len(demo_dirs) == 1 and (demo_dirs[0] / "history.db").exists()

        tmux.run("send-keys", "-t", "t", "2")
        tmux.wait_for("Period", "Tokens", "Cost")
        tmux.run("send-keys", "-t", "t", "5")
        tmux.wait_for("Source", "Last sync", "claude-code")
        tmux.run("send-keys", "-t", "t", "3")
        tmux.wait_for("Burn-up", "api-monthly", "tokens-fy", "budget")
        tmux.run("send-keys", "-t", "t", "4")
        tmux.wait_for("Platform team (demo)", "tokens / week", "p50")
        tmux.run("send-keys", "-t", "t", "e")
        tmux.wait_for("Export a snapshot", "Format")
        tmux.run("send-keys", "-t", "t", "Escape")
        tmux.wait_for_gone("Export a snapshot")  # a key pressed while the form is open is the form's
        tmux.run("send-keys", "-t", "t", "1")
        tmux.wait_for("Burn", "Top models")
        tmux.run("send-keys", "-t", "t", "q")
        deadline = time.monotonic() + 15
        while not rc_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert rc_file.exists(), "tokentop did not exit after q"
        assert rc_file.read_text().strip() == "0"
        assert list(tmp_dir.iterdir()) == [], "the demo's temporary store was not removed"
    finally:
        subprocess.run(tmux.base + ["kill-server"], capture_output=True)
