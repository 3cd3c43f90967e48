"""`tokentop` itself: the parser, one dispatch (every command sets ``func``), and the one
place errors become a plain line and an exit code. Never imports Textual except to run the TUI."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from tokentui import __version__
from tokentui.errors import TokentopError
from tokentui.cli.common import notice as _notice
from tokentui.cli.common import clean as _clean
from tokentui.cli.common import PrintableStream
from tokentui.cli.common import settings as _settings
from tokentui.cli.common import unfiltered as _unfiltered
from tokentui.sources import registry


def epilog() -> str:
    import textwrap

    keys = ", ".join(registry.key_env_vars().values())
    roots = ", ".join(e for s in registry.all_sources(registry.LOCAL) for e in s.env)
    lines = [("data:", "history in the user data dir (`tokentop locate data`), config in `tokentop locate config`"),
             ("keys:", f'OS keyring (service "tokentop") or env vars {keys}'),
             ("env:", f"TOKENTOP_CONFIG, TOKENTOP_DATA_DIR, {roots}")]
    return "".join(textwrap.fill(text, 79, initial_indent=f"{head:<8}", subsequent_indent=" " * 8) + "\n"
                   for head, text in lines)


class _TopParser(argparse.ArgumentParser):
    """``tokentop``'s own parser: its epilog (the registry's env vars, wrapped) is made when help
    is printed, not at every start."""

    def format_help(self) -> str:
        if self.epilog is None:
            self.epilog = epilog()
        return super().format_help()


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; for ``argv`` starting with a command (``tokentop sync -q``) only that command's
    group is imported and registered (a parser that parses and reports errors and ``--help``
    alike for it, in a fraction of the time: every command starts with this); otherwise, and
    for the top-level help, all of them."""
    p = _TopParser(
        prog="tokentop", description="top for AI tokens: live usage, history, budgets and leverage.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"tokentop {__version__}")
    p.add_argument("--demo", action="store_true", help="open the dashboard on 90 days of generated data "
                   "(temporary store; nothing of yours is read or written)")
    p.add_argument("--theme", metavar="NAME", help="TUI theme (built-in: tokentop-dark, tokentop-light, "
                   "tokentop-high-contrast, or a file name from the themes dir)")
    # the commands' parsers are plain ones: the epilog is the top-level help's only
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=argparse.ArgumentParser)

    first = argv[0] if argv else None
    for name in (COMMANDS[first],) if first in COMMANDS else COMMAND_MODULES:
        _group(name).register(sub)
    return p


def _group(name: str):
    """The command group module ``name`` (static imports: no module name is ever computed)."""
    if name == "usage":
        from tokentui.cli import usage as group
    elif name == "keys":
        from tokentui.cli import keys as group
    elif name == "budget":
        from tokentui.cli import budget as group
    elif name == "team":
        from tokentui.cli import team as group
    elif name == "export":
        from tokentui.cli import export as group
    elif name == "quota":
        from tokentui.cli import quota as group
    elif name == "statusline":
        from tokentui.cli import statusline as group
    elif name == "devices":
        from tokentui.cli import devices as group
    else:
        raise ValueError(f"no command group {name!r}")
    return group


#: each command and its group, in the order ``--help`` lists them (a test holds this to what the
#: groups register). A group is one module of this package: ``register(subparsers)`` adds its
#: commands and sets ``func`` on each. They import only the standard library and the source
#: registry at module level (fast start); a command imports what it needs when it runs.
COMMANDS = {"sync": "usage", "report": "usage", "sources": "usage", "locate": "usage", "keys": "keys",
            "budget": "budget", "team": "team", "leverage": "team", "export": "export", "verify": "export",
            "quota": "quota", "statusline": "statusline", "devices": "devices"}
COMMAND_MODULES = tuple(dict.fromkeys(COMMANDS.values()))


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


def _main(argv: Sequence[str] | None = None, *, _repaired: bool = False) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    try:
        if args.command is None:
            return _run_tui(args)
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


def _fail(exc: TokentopError) -> int:
    print(_clean(f"tokentop: error: {exc.message}"), file=sys.stderr)
    if exc.hint:
        print(_clean(f"  hint: {exc.hint}"), file=sys.stderr)
    return exc.exit_code


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


def _run_tui(args) -> int:
    settings = _settings()  # a broken config or --theme is said first, terminal or not
    if args.theme:
        _check_theme(args.theme)
    if not _is_terminal(sys.stdout) or not _is_terminal(sys.stdin):
        # piped, redirected or from cron: a full-screen app would hang there, drawing to no one
        print("tokentop: error: the dashboard needs a terminal; for a table run `tokentop report daily`",
              file=sys.stderr)
        return 2
    from tokentui.tui import run_app  # the only way from the CLI into Textual

    # the TUI draws with control sequences of its own; it shows outside text as text itself
    sys.stdout, sys.stderr = _unfiltered(sys.stdout), _unfiltered(sys.stderr)
    return run_app(settings, demo=args.demo, theme=args.theme)


def _is_terminal(stream) -> bool:
    try:
        return stream is not None and _unfiltered(stream).isatty()
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed stream
        return False


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
