"""The command line: ``tokentop`` and its commands (:mod:`tokentui.cli.main`), one module per
command group. Never imports Textual except to run the dashboard."""

from tokentui.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
