"""The first-sync progress bar: percent and megabytes, then the speed so far and the time left."""

from __future__ import annotations

import io
import sys

from tokentui.cli import common as cli
from tokentui.services.sync import PROGRESS_FROM


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _bar(monkeypatch, times):
    term = Terminal()
    monkeypatch.setattr(sys, "stderr", cli.PrintableStream.wrap(term))
    clock = iter(times)
    return term, cli.ProgressBar("reading agent logs", PROGRESS_FROM, clock=lambda: next(clock))


def test_after_a_second_the_bar_says_the_speed_and_the_time_left(monkeypatch) -> None:
    term, bar = _bar(monkeypatch, [0.0, 0.4, 2.0, 2.5])
    bar(20 << 20, 1000 << 20)  # 0.4 s in: too early to tell a speed
    bar(200 << 20, 1000 << 20)  # 2 s in: 100 MiB/s so far, 800 MiB to go
    bar(1000 << 20, 1000 << 20)  # done: no time left to show
    bar.close()
    frames = term.getvalue().split("\r")[1:]
    assert frames[0].rstrip() == "reading agent logs [..............................]   2% 21/1,049 MB"
    assert frames[1].rstrip() == ("reading agent logs [######........................]  20% 210/1,049 MB"
                                  " · 105 MB/s · 8 s left")
    # the last frame is shorter than the one before: padded so that nothing of it is left
    assert frames[2].rstrip() == "reading agent logs [##############################] 100% 1,049/1,049 MB"
    assert len(frames[2].rstrip("\n")) == len(frames[1])


def test_small_work_shows_no_bar(monkeypatch) -> None:
    term, bar = _bar(monkeypatch, [0.0, 5.0])
    bar(1 << 20, 8 << 20)
    bar.close()
    assert term.getvalue() == ""
