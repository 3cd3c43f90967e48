"""What the commands share: settings, the store, a progress bar, the terminal's width."""

from __future__ import annotations

import math
import sys

from tokentui.core.text import printable
from tokentui.errors import TokentopError


class PrintableStream:
    """A text stream that writes ``printable(text, newlines=True)`` to ``stream``."""

    def __init__(self, stream) -> None:
        self.unfiltered = stream  # for tokentop's own control characters (the progress bar's \r)

    @classmethod
    def wrap(cls, stream):
        return stream if stream is None or isinstance(stream, cls) else cls(stream)

    def write(self, text: str) -> int:
        self.unfiltered.write(printable(text, newlines=True))
        return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str):
        return getattr(self.unfiltered, name)


def unfiltered(stream):
    return stream.unfiltered if isinstance(stream, PrintableStream) else stream


def clean(text: str) -> str:
    from tokentui.credentials import scrub

    return scrub(text)


def notice(message: str) -> None:
    print(clean(f"tokentop: warning: {message}"), file=sys.stderr)


def settings():
    from tokentui.config import load_settings

    return load_settings()


def open_stored_or_empty():
    """The store for ``--no-sync`` in a command whose output still makes sense empty (export,
    leverage): a missing store is said first (deleted, or never synced), then an empty one is used."""
    from tokentui.errors import StoreMissing
    from tokentui.services.sync import open_store, open_stored

    try:
        return open_stored()[0]
    except StoreMissing as exc:
        notice(f"{exc.message}; {exc.hint}")
        return open_store()


class ProgressBar:
    """A one-line progress bar on stderr for long work (only on a terminal, only from ``min_bytes``);
    after a second, also the speed so far and the time left at that speed (a first sync of a
    few GB takes half a minute)."""

    def __init__(self, label: str, min_bytes: int, enabled: bool = True, clock=None) -> None:
        import time

        self.label = label
        self.min_bytes = min_bytes
        self.enabled = enabled and sys.stderr.isatty()
        self.shown = False
        self.last = -1
        self._clock = clock or time.monotonic
        self._start = self._clock()
        self._width = 0  # of the line drawn last: a shorter one pads it out

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total < self.min_bytes:
            return
        pct = int(done * 100 / total) if total else 100
        if pct == self.last:
            return
        self.last, self.shown = pct, True
        width = 30
        fill = width * pct // 100
        line = f"{self.label} [{'#' * fill}{'.' * (width - fill)}] {pct:3d}% {done / 1e6:,.0f}/{total / 1e6:,.0f} MB"
        elapsed = self._clock() - self._start
        if elapsed >= 1 and 0 < done < total:
            rate = done / elapsed
            line += f" · {rate / 1e6:,.0f} MB/s · {math.ceil((total - done) / rate):,} s left"
        unfiltered(sys.stderr).write(f"\r{line}{' ' * max(0, self._width - len(line))}")
        unfiltered(sys.stderr).flush()
        self._width = len(line)

    def close(self) -> None:
        if self.shown:
            unfiltered(sys.stderr).write("\n")


def sync(settings, only=()):
    from tokentui.services.sync import PROGRESS_FROM, open_store, sync_local

    conn = open_store()
    bar = ProgressBar("reading agent logs", PROGRESS_FROM)
    try:
        results = sync_local(conn, settings, only=only, progress=bar)
    finally:
        bar.close()
    return conn, results


def share(conn, settings, quiet: bool = False) -> None:
    """Export to and import from the share folder, when one is set (``[share] folder``): one
    line of news, and each new problem (a bad segment, a conflict copy) as a warning naming
    the file; a problem never fails the command."""
    if not settings.share_folder:
        return
    from tokentui.services.devices import sync_share

    res = sync_share(conn, settings)
    if res is None:
        return
    if not quiet and (res.exported or res.imported):
        print(f"share: exported {res.exported:,} record(s) in {len(res.segments_written)} segment(s); "
              f"imported {res.imported:,} from {res.segments_read} segment(s)")
    for p in res.new_problems:
        notice(f"share folder: {p.line()}")


#: ``budget check`` and ``quota`` answer with their exit code (1 and 2 are answers: projected
#: to run out, over); whenever the answer could not be computed they exit 3 instead
NO_ANSWER = 3


class NoAnswer(TokentopError):
    """A check command could not compute its answer: exit 3, so a script never takes a failure
    (a bad config, a locked, full, damaged or missing store, a bug) for 1 or 2."""

    exit_code = NO_ANSWER


def no_answer(exc: BaseException, what: str) -> int:
    """Turn any failure of a check command into exit 3 with one plain line; ``what`` names the
    check ("check budgets"). A damaged store is repaired on the way, as any command would."""
    if isinstance(exc, NoAnswer):
        raise exc
    if isinstance(exc, TokentopError):
        raise NoAnswer(exc.message, exc.hint) from None
    from tokentui.cli.main import _internal_error, _store_failure

    err = _store_failure(exc)  # a SQLite error, as the plain store error it stands for
    if err is not None:
        from tokentui.errors import StoreDamaged

        if isinstance(err, StoreDamaged):
            from tokentui.store import db
            from tokentui.store.recover import recover_store

            try:  # what any other command would do; the warning is printed on the way out
                db.NOTICES.append(recover_store(err.path, err.reason))
            except Exception:  # noqa: BLE001 - the next command repairs it
                pass
            raise NoAnswer(f"cannot {what}: the history store is damaged ({err.reason})",
                           "check again: the store is rebuilt and the logs are read again") from None
        raise NoAnswer(err.message, err.hint) from None
    _internal_error(exc)  # OSError: its plain line; anything else: the bug line (traceback with TOKENTOP_DEBUG)
    return NO_ANSWER
