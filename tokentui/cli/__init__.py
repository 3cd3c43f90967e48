"""The command line: ``tokentop`` and its commands (:mod:`tokentui.cli.main`), one module per
command group. Never imports Textual except to run the dashboard.

``tokentop statusline`` runs on every Claude Code refresh, so it is dispatched here, before
the full CLI (argparse, the source registry, every command group) is even imported."""

from __future__ import annotations

import sys
import types


def main(argv: "Sequence[str] | None" = None) -> int:  # noqa: F821 - no typing import (start time)
    args = sys.argv[1:] if argv is None else list(argv)
    if args[:1] == ["statusline"]:
        from tokentui.cli.statusline import run

        return run(args[1:])
    if "tokentui.cli.main" not in sys.modules:
        _import_cli()
    from tokentui.cli.main import main as run_cli

    return run_cli(argv)


def _import_cli() -> None:
    """Import the full CLI with the cyclic garbage collector paused. The import makes ~16k
    objects (modules, classes, functions) that live as long as the process and frees almost
    none: the dozen collections it would trigger find nothing (~3 ms), and its objects are
    then frozen (:func:`gc.freeze`), so later collections do not walk them again either.
    Every command runs with the collector on, as before."""
    import gc

    enabled = gc.isenabled()
    gc.disable()
    try:
        import tokentui.cli.main  # noqa: F401
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def build_parser():
    from tokentui.cli.main import build_parser as build

    return build()


class _Package(types.ModuleType):
    """Keeps ``tokentui.cli.main`` (the attribute) the function above once the submodule of the
    same name is imported (it stays in ``sys.modules``)."""

    def __setattr__(self, name, value):
        if name == "main" and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

__all__ = ["build_parser", "main"]
