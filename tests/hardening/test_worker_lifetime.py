"""Parse workers die with their `sync`: a SIGKILLed, SIGTERMed or SIGHUPed sync must not leave
worker processes behind holding the store and the caller's output pipe (`$(tokentop sync)`
would never return; CI log collectors hang).

Each test runs a real `tokentop sync` on a generated corpus big enough for worker processes,
inside a shell's command substitution, holds the writer after its first commit batch (the
workers are running then), signals it, and asserts that the substitution returns and every
worker is gone within a few seconds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.hardening.helpers import REPO, env_for

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="worker processes are forked on Linux only")

#: `tokentop sync` that says "holding <pid>" on stderr after its first commit batch and then
#: waits ``argv[1]`` seconds (workers forked, tasks queued); argv[2] "fallback" makes the
#: workers' parent-death signal unavailable, so the parent-alive check must do the work;
#: "threaded" runs another thread beside the sync, as the dashboard does: workers are spawned
#: (with multiprocessing's resource tracker, a third child)
CHILD = """
import os, sys, threading, time
import tokentui.services.ingest as ing
import tokentui.services.parse_pool as pool
hold = float(sys.argv[1])
if sys.argv[2] == "fallback":
    pool._arm_parent_death_signal = lambda: False
if sys.argv[2] == "threaded":
    threading.Thread(target=threading.Event().wait, daemon=True).start()
    pool.SPAWN_MIN = 0
_batches = ing.Ingestor._batches
def batches(self, *a, **k):
    first = True
    for b in _batches(self, *a, **k):
        if first:
            first = False
            print("holding", os.getpid(), file=sys.stderr, flush=True)
            time.sleep(hold)
        yield b
ing.Ingestor._batches = batches
from tokentui.cli import main
sys.exit(main(sys.argv[3:]))
"""
#: the caller: a shell that captures the sync's output the way scripts and CI steps do
SHELL = 'out=$("$@"); echo "exit=$? bytes=${#out}"'


def _children(pid: int) -> list[int]:
    """Live processes whose parent is ``pid`` (from /proc; zombies count as gone)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == pid and state not in "ZX":
            out.append(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in "ZX"


class Run:
    """``sh -c 'out=$(tokentop sync); echo exit=…'`` with the sync held after its first batch."""

    def __init__(self, corpus: Path, hold: float, mode: str = "normal", preexec=None) -> None:
        env = env_for(CLAUDE_CONFIG_DIR=str(corpus / "claude"), CODEX_HOME=str(corpus / "codex"),
                      TOKENTOP_INGEST_WORKERS="2")
        self.shell = subprocess.Popen(["sh", "-c", SHELL, "sh", sys.executable, "-c", CHILD, str(hold), mode, "sync"],
                                      env=env, cwd=str(REPO), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      preexec_fn=preexec)
        self.lines: list[str] = []
        self.stdout_eof = threading.Event()
        threading.Thread(target=self._read_stdout, daemon=True).start()
        line = self.shell.stderr.readline().decode()
        assert line.startswith("holding"), line + self.shell.stderr.read().decode()
        self.sync = int(line.split()[1])
        threading.Thread(target=self.shell.stderr.read, daemon=True).start()  # drain, never block the sync
        expected = 3 if mode == "threaded" else 2
        deadline = time.monotonic() + 10
        self.workers: list[int] = []
        while time.monotonic() < deadline and len(self.workers) < expected:
            self.workers = _children(self.sync)
            time.sleep(0.05)
        assert len(self.workers) == expected, "the sync did not start its worker processes"

    def _read_stdout(self) -> None:
        for raw in self.shell.stdout:
            self.lines.append(raw.decode().strip())
        self.stdout_eof.set()

    def wait_gone(self, pids: list[int], seconds: float) -> list[int]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if not any(_alive(p) for p in pids):
                return []
            time.sleep(0.05)
        return [p for p in pids if _alive(p)]

    def cleanup(self) -> None:
        for pid in [self.sync, *self.workers]:  # a failed run must not leave processes behind
            if _alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.shell.wait(10)
        self.shell.stdout.close()
        self.shell.stderr.close()


@pytest.mark.parametrize("mode, sig", [("normal", signal.SIGKILL), ("normal", signal.SIGTERM),
                                       ("normal", signal.SIGHUP), ("fallback", signal.SIGKILL),
                                       ("threaded", signal.SIGKILL), ("threaded", signal.SIGTERM)],
                         ids=["SIGKILL", "SIGTERM", "SIGHUP", "SIGKILL-no-pdeathsig", "SIGKILL-spawned",
                              "SIGTERM-spawned"])
def test_workers_die_with_a_signalled_sync(corpus, mode, sig) -> None:
    """``fallback``: no parent-death signal (as where prctl is unavailable): the workers' own
    check that their parent is alive must end them."""
    run = Run(corpus(20.0, 31), hold=120, mode=mode)
    try:
        os.kill(run.sync, sig)
        left = run.wait_gone([run.sync, *run.workers], 5)
        assert left == [], f"processes still running 5 s after {sig.name}: {left}"
        assert run.stdout_eof.wait(5), "the caller's $(…) never returned: a worker holds its pipe"
        status = run.lines[0].split()[0]
        assert status == f"exit={128 + sig}", run.lines  # the sync died of the signal it was sent
    finally:
        run.cleanup()


def test_an_ignored_sighup_is_still_ignored(corpus) -> None:
    """Under `nohup` (SIGHUP ignored) a hangup neither stops the sync nor its workers."""
    run = Run(corpus(20.0, 31), hold=1.5, preexec=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    try:
        os.kill(run.sync, signal.SIGHUP)
        assert run.stdout_eof.wait(60), "the sync did not finish"
        assert run.lines[0].startswith("exit=0 "), run.lines
        assert run.wait_gone(run.workers, 5) == []
    finally:
        run.cleanup()
