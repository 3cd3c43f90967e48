"""Command line: parses arguments and calls services. Never imports Textual except for the TUI."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime, timezone
from typing import Sequence

from tokentui import __version__
from tokentui.core.text import printable
from tokentui.errors import TokentopError, UsageError
from tokentui.sources import registry


def epilog() -> str:
    keys = ", ".join(registry.key_env_vars().values())
    roots = ", ".join(e for s in registry.all_sources(registry.LOCAL) for e in s.env)
    return (f"data:   history in the user data dir (`tokentop locate data`), config in `tokentop locate config`\n"
            f"keys:   OS keyring (service \"tokentop\") or env vars {keys}\n"
            f"env:    TOKENTOP_CONFIG, TOKENTOP_DATA_DIR, {roots}\n")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tokentop", description="top for AI tokens: live usage, history, budgets and leverage.",
        epilog=epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"tokentop {__version__}")
    p.add_argument("--demo", action="store_true", help="open the dashboard on 90 days of generated data "
                   "(temporary store; nothing of yours is read or written)")
    p.add_argument("--theme", metavar="NAME", help="TUI theme (built-in: tokentop-dark, tokentop-light, "
                   "tokentop-high-contrast, or a file name from the themes dir)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser("sync", help="ingest new local log lines and poll API sources once",
                       description="Read what is new in the agents' logs and poll every API source that has "
                       "a key, into the history store.")
    s.add_argument("--source", action="append", default=[], metavar="S",
                   help=f"only these sources ({registry.help_list()})")
    s.add_argument("--quiet", "-q", action="store_true", help="print nothing on success")

    r = sub.add_parser("report", help="daily / weekly / monthly / session tables or JSON",
                       description="Usage tables like ccusage's (JSON is ccusage-compatible). Syncs local "
                       "sources first unless --no-sync.")
    r.add_argument("kind", choices=("daily", "weekly", "monthly", "session"))
    r.add_argument("--json", "-j", action="store_true", help="print JSON (ccusage fields + sources, unpricedTokens)")
    r.add_argument("--since", "-s", metavar="DATE", help="first day, YYYY-MM-DD or YYYYMMDD (inclusive)")
    r.add_argument("--until", "-u", metavar="DATE", help="last day, YYYY-MM-DD or YYYYMMDD (inclusive)")
    r.add_argument("--timezone", "-z", metavar="TZ", help="IANA zone for day boundaries (default: config, "
                   "then the system zone)")
    r.add_argument("--source", action="append", default=[], metavar="S", help="only this source (repeatable)")
    r.add_argument("--model", action="append", default=[], metavar="M", help="only this model (repeatable)")
    r.add_argument("--breakdown", "-b", action="store_true", help="per-model rows under each period")
    r.add_argument("--order", choices=("asc", "desc"), default="asc")
    r.add_argument("--start-of-week", choices=("monday", "sunday"), default="monday")
    r.add_argument("--no-sync", action="store_true", help="report what is stored; do not read logs first")

    src = sub.add_parser("sources", help="status of every source, detected paths and errors")
    src.add_argument("--json", action="store_true")

    loc = sub.add_parser("locate", help="print where tokentop keeps a file or directory")
    loc.add_argument("what", choices=("config", "data", "db", "themes"))
    for name in COMMAND_MODULES:
        _command_module(name).register(sub)
    return p


#: modules adding subcommands: each has ``register(subparsers)`` which sets ``func`` on its
#: parsers. They must import only the standard library at module level (fast start).
COMMAND_MODULES = ("tokentui.cli_keys", "tokentui.cli_budget", "tokentui.cli_team", "tokentui.cli_export")


def _command_module(name: str):
    import importlib

    return importlib.import_module(name)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. Everything it writes to stdout and stderr goes through
    :func:`tokentui.core.text.printable`: no control character but newline ever reaches the
    terminal, whatever a log, an API, a config file or a file name held."""
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = PrintableStream.wrap(out), PrintableStream.wrap(err)
    try:
        return _main(argv)
    finally:
        sys.stdout, sys.stderr = out, err


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


def _unfiltered(stream):
    return stream.unfiltered if isinstance(stream, PrintableStream) else stream


def _main(argv: Sequence[str] | None = None, *, _repaired: bool = False) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command is None:
            return _run_tui(args)
        builtin = {"sync": cmd_sync, "report": cmd_report, "sources": cmd_sources, "locate": cmd_locate}
        if args.command in builtin:
            return builtin[args.command](args)
        return args.func(args)
    except TokentopError as exc:
        return _fail(exc)
    except KeyboardInterrupt:
        print("tokentop: interrupted (everything committed so far is kept)", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - the user gets one line, never a traceback with a key in it
        err = _store_failure(exc)
        if err is None:
            return _internal_error(exc)
        from tokentui.errors import StoreDamaged

        if isinstance(err, StoreDamaged) and not _repaired:
            from tokentui.store.recover import recover_store

            _notice(recover_store(err.path, err.reason))
            return _main(argv, _repaired=True)  # once more, on the new store
        return _fail(err)
    finally:
        db = sys.modules.get("tokentui.store.db")
        while db is not None and db.NOTICES:
            _notice(db.NOTICES.pop(0))


def _clean(text: str) -> str:
    from tokentui.credentials import scrub

    return scrub(text)


def _fail(exc: TokentopError) -> int:
    print(_clean(f"tokentop: error: {exc.message}"), file=sys.stderr)
    if exc.hint:
        print(_clean(f"  hint: {exc.hint}"), file=sys.stderr)
    return exc.exit_code


def _notice(message: str) -> None:
    print(_clean(f"tokentop: warning: {message}"), file=sys.stderr)


def _store_failure(exc: BaseException) -> TokentopError | None:
    """A SQLite error that escaped a command, as the plain store error it stands for."""
    import sqlite3

    if not isinstance(exc, sqlite3.Error):
        return None
    from tokentui import paths
    from tokentui.store.db import store_error

    return store_error(exc, paths.history_db())


def _internal_error(exc: BaseException) -> int:
    """A bug: one line (keys scrubbed); the traceback only with TOKENTOP_DEBUG=1, scrubbed too."""
    if isinstance(exc, OSError) and exc.strerror:
        where = f" ({exc.filename})" if exc.filename else ""
        print(_clean(f"tokentop: error: {exc.strerror}{where}"), file=sys.stderr)
        return 1
    print(_clean(f"tokentop: error: unexpected {type(exc).__name__}: {exc}"[:500]), file=sys.stderr)
    if os.environ.get("TOKENTOP_DEBUG"):
        import traceback

        print(_clean("".join(traceback.format_exception(exc))), file=sys.stderr)
    else:
        print("  hint: this is a bug in tokentop; TOKENTOP_DEBUG=1 shows the traceback", file=sys.stderr)
    return 70


# --- helpers -------------------------------------------------------------------------------

def _settings():
    from tokentui.config import load_settings

    return load_settings()


def _open_stored_or_empty():
    """The store for ``--no-sync`` in a command whose output still makes sense empty (export,
    leverage): a missing store is said first (deleted, or never synced), then an empty one is used."""
    from tokentui.errors import StoreMissing
    from tokentui.services.sync import open_store, open_stored

    try:
        return open_stored()[0]
    except StoreMissing as exc:
        _notice(f"{exc.message}; {exc.hint}")
        return open_store()


class _ProgressBar:
    """A one-line progress bar on stderr for long work (only on a terminal, only past 16 MB)."""

    def __init__(self, label: str, enabled: bool = True) -> None:
        self.label = label
        self.enabled = enabled and sys.stderr.isatty()
        self.shown = False
        self.last = -1

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total < (16 << 20):
            return
        pct = int(done * 100 / total) if total else 100
        if pct == self.last:
            return
        self.last, self.shown = pct, True
        width = 30
        fill = width * pct // 100
        _unfiltered(sys.stderr).write(f"\r{self.label} [{'#' * fill}{'.' * (width - fill)}] {pct:3d}% "
                                      f"{done / 1e6:,.0f}/{total / 1e6:,.0f} MB")
        _unfiltered(sys.stderr).flush()

    def close(self) -> None:
        if self.shown:
            _unfiltered(sys.stderr).write("\n")


def _sync(settings, only=()):
    from tokentui.services.sync import open_store, sync_local

    conn = open_store()
    bar = _ProgressBar("reading agent logs", enabled=True)
    try:
        results = sync_local(conn, settings, only=only, progress=bar)
    finally:
        bar.close()
    return conn, results


# --- commands ------------------------------------------------------------------------------

#: the sync summary: one row per local source, 69 columns
SYNC_HEADER = f"{'source':<12} {'status':<14} {'files':>6} {'read MB':>9} {'new records':>12} {'duplicates':>11}"


def cmd_sync(args) -> int:
    settings = _settings()
    unknown = [s for s in args.source if not registry.known(s)]
    if unknown:
        raise UsageError(f"unknown source {unknown[0]!r}", f"known: {registry.help_list()}")
    local = [s for s in args.source if registry.kind_of(s) == registry.LOCAL]
    api = [s for s in args.source if registry.kind_of(s) == registry.API]
    conn, results = None, []
    if local or not args.source:
        conn, results = _sync(settings, local)
    if not args.quiet and results:
        print(SYNC_HEADER)
        for r in results:
            print(f"{r.source:<12} {r.status:<14} {r.files:>6,} {r.bytes_read / 1e6:>9,.1f} {r.records:>12,} "
                  f"{r.duplicates:>11,}")
            if r.skipped:
                print(f"  {r.skipped:,} corrupt or invalid line(s) skipped (`tokentop sources` counts them)")
            if r.problem:
                print(f"  {r.problem}")
            for e in r.errors[:3]:
                print(f"  could not read {e}")
    polled = []
    if api or not args.source:
        from tokentui.services.sync import api_poll_needed, open_store

        conn = conn or open_store()
        if api or api_poll_needed(conn, settings):
            from tokentui.services.poll import poll_all

            polled = poll_all(conn, settings, only=api)
        if not args.quiet:
            for p in polled:
                if p.status == "not configured" and not api:
                    continue  # no key: `tokentop sources` says so
                print(f"{p.source:<12} {p.status:<15} {p.message}")
    local_failed = any(r.problem for r in results) and not any(r.files for r in results)
    failed = [f"{r.source}: {r.problem}" for r in results if local_failed and r.problem]
    failed += [f"{p.source}: {p.message}" for p in polled if p.status == "error"]
    if failed and args.quiet:  # --quiet silences success only: a failure always says why
        for line in failed:
            print(f"tokentop: error: {line}", file=sys.stderr)
    return 1 if failed else 0


def cmd_report(args) -> int:
    from tokentui.config import resolve_timezone
    from tokentui.errors import StoreMissing
    from tokentui.services import report
    from tokentui.services.sync import open_stored

    from tokentui.core.dates import DateRangeError

    settings = _settings()
    try:
        since = report.parse_date(args.since, "--since") if args.since else None
        until = report.parse_date(args.until, "--until") if args.until else None
    except DateRangeError as exc:
        raise UsageError(str(exc)) from None
    except ValueError:
        raise UsageError("dates must look like 2026-11-20 or 20261120") from None
    if since and until and since > until:
        raise UsageError("--since is after --until")
    tz = resolve_timezone(args.timezone or settings.timezone)
    if args.no_sync:
        try:
            conn, _repaired = open_stored()  # a repair is said on the way out (store.db.NOTICES)
        except StoreMissing as exc:
            if args.json:
                raise  # one error line: JSON of zeros would read as "nothing spent"
            print(f"No history yet: {exc.path} does not exist (tokentop has not synced here, or the file was "
                  "deleted).\nRun `tokentop sync` to read the agents' logs; `tokentop sources` shows what tokentop "
                  "can read.")
            return 0
    else:
        conn, _ = _sync(settings, [s for s in args.source if registry.known(s) and registry.kind_of(s) == registry.LOCAL])
    req = report.ReportRequest(args.kind, since, until, tz, tuple(args.source), tuple(args.model), args.breakdown,
                               6 if args.start_of_week == "sunday" else 0, args.order)
    data = report.build(conn, req)
    if args.json:
        json.dump(data, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    if not data[args.kind]:
        print("No usage in this range. Run `tokentop sources` to see what tokentop can read.")
        return 0
    width = max(80, min(160, _term_width()))
    print(report.render_table(data, args.kind, width, args.breakdown))
    return 0


def _term_width() -> int:
    """``shutil.get_terminal_size((80, 24)).columns`` without importing shutil."""
    try:
        cols = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        cols = 0
    if cols > 0:
        return cols
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        return 80


def _ago(ms: int | None) -> str:
    if not ms:
        return "never"
    secs = max(0, int(datetime.now(timezone.utc).timestamp() - ms / 1000))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs >= size:
            return f"{secs // size}{unit} ago"
    return f"{secs}s ago"


def cmd_sources(args) -> int:
    from tokentui.services.status import source_statuses
    from tokentui.services.sync import open_store

    settings = _settings()
    rows = source_statuses(open_store(), settings)
    if args.json:
        json.dump([r.as_json() for r in rows], sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    for r in rows:
        print(f"{r.name:<12} {r.kind:<6} {r.status:<15} last sync {_ago(r.last_sync_ms):<10} "
              f"records {r.records:>8}")
        if r.message:
            print(f"    {r.message}")
        for p in r.paths:
            print(f"    reads {p}")
        if r.skipped_lines:
            print(f"    {r.skipped_lines} corrupt or invalid line(s) skipped")
        if r.duplicates:
            print(f"    {r.duplicates} duplicate line(s) dropped")
        for b in r.balances:
            print(f"    balance: {b}")
    return 0


def cmd_locate(args) -> int:
    from tokentui import paths

    print({"config": paths.config_file, "data": paths.data_dir, "db": paths.history_db,
           "themes": paths.user_themes_dir}[args.what]())
    return 0


def _run_tui(args) -> int:
    settings = _settings()
    if args.theme:
        _check_theme(args.theme)
    from tokentui.app import run_app  # the only place the CLI imports Textual

    # the TUI draws with control sequences of its own; it shows outside text as text itself
    sys.stdout, sys.stderr = _unfiltered(sys.stdout), _unfiltered(sys.stderr)
    return run_app(settings, demo=args.demo, theme=args.theme)


def _check_theme(name: str) -> None:
    """A ``--theme`` naming a theme file that is broken is a flag error, before the TUI starts
    (a broken file merely lying in the themes folder is a notice in the TUI instead)."""
    from pathlib import Path

    from tokentui import paths
    from tokentui.errors import ConfigError
    from tokentui.theme_files import ThemeProblem, read_theme_file

    path = Path(name).expanduser()
    if path.suffix == ".toml":
        candidates = [path]
    else:
        candidates = [d / f"{name}.toml" for d in (paths.user_themes_dir(), paths.builtin_themes_dir())]
    for candidate in candidates:
        if not candidate.is_file():
            continue
        try:
            got = read_theme_file(candidate)
        except RecursionError:
            got = ThemeProblem(candidate, "invalid TOML: nested too deeply")
        if isinstance(got, ThemeProblem):
            raise ConfigError(f"--theme: {candidate}: {got.message}", "fix the file or pick another theme")
        return
    if path.suffix == ".toml":
        raise ConfigError(f"--theme: no theme file at {path}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
