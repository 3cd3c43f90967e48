"""`tokentop export` (the manager snapshot) and `tokentop verify FILE` (check its digest).

Only the standard library at module level: the CLI starts fast and never imports Textual.
"""

from __future__ import annotations

import sys
from pathlib import Path

FORMATS = ("md", "html", "json", "toml", "csv")
EXPORT_EPILOG = """\
periods: 7d, 28d (last N days up to today), month, quarter, year (the current one, to date),
         or exact days: 2026-10-01..2026-12-31
the file holds totals, breakdowns by source and model, daily usage, budgets with projection,
leverage metrics and provenance, plus a sha256 digest of its data (`tokentop verify FILE`).
It never holds keys, prompts or file paths; project names only with --include-projects.
csv is plain daily rows for a spreadsheet; its data goes beside it in FILE.csv.verify.json.
"""


def register(sub) -> None:
    """Add the ``export`` and ``verify`` subcommands."""
    import argparse

    e = sub.add_parser("export", help="write a snapshot for your manager (md, html, json, toml, csv)",
                       description="Write a snapshot of your token usage with provenance and a digest.",
                       epilog=EXPORT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    e.add_argument("--period", "-p", default="28d", metavar="PERIOD",
                   help="7d | 28d | month | quarter | year | YYYY-MM-DD..YYYY-MM-DD (default: 28d)")
    e.add_argument("--format", "-f", choices=FORMATS, default=None,
                   help="output format (default: from the -o extension, else md)")
    e.add_argument("-o", "--output", metavar="FILE",
                   help="file to write ('-' for standard output; default: a dated name in this directory)")
    e.add_argument("--name", metavar="LABEL", help="a label shown at the top, e.g. your name or team")
    e.add_argument("--include-projects", action="store_true", help="list usage by project name (never paths)")
    e.add_argument("--include-devices", action="store_true",
                   help="list usage by device name (a history merged through `tokentop devices`)")
    e.add_argument("--timezone", "-z", metavar="TZ", help="IANA zone for day boundaries (default: config, "
                   "then the system zone)")
    e.add_argument("--no-sync", action="store_true", help="export what is stored; do not read new log lines first")
    e.set_defaults(func=cmd_export)

    v = sub.add_parser("verify", help="check a snapshot's digest: exit 0 if intact, 1 if altered",
                       description="Recompute a snapshot's sha256 digest (any format) and check the file "
                       "still matches it. Exit 0 when intact, 1 when altered or unreadable.")
    v.add_argument("file", metavar="FILE", help="a snapshot written by `tokentop export`")
    v.add_argument("--quiet", "-q", action="store_true", help="print nothing; only the exit code")
    v.set_defaults(func=cmd_verify)


def _format_for(args) -> str:
    if args.format:
        return args.format
    if args.output and args.output != "-":
        ext = Path(args.output).suffix.lower().lstrip(".")
        if ext in FORMATS:
            return ext
        if ext == "markdown":
            return "md"
        if ext == "htm":
            return "html"
        if ext:  # out.xlsx would get Markdown under a spreadsheet's name: refuse instead
            from tokentui.errors import UsageError

            raise UsageError(f"-o {args.output}: tokentop cannot write .{ext} files (formats: {', '.join(FORMATS)})",
                             "name the file .md, .html, .json, .toml or .csv, or pick one with --format")
    return "md"


def cmd_export(args) -> int:
    from tokentui.cli.common import open_stored_or_empty as _open_stored_or_empty
    from tokentui.cli.common import settings as _settings
    from tokentui.cli.common import sync as _sync
    from tokentui.services.snapshot import ExportOptions, render_snapshot, write_snapshot

    fmt = _format_for(args)  # an unknown -o extension is a usage error before any work is done
    output = None if args.output in (None, "-") else Path(args.output).expanduser()
    if output is not None:
        _check_output(output)  # a FIFO, device or directory is refused before any work is done
    settings = _settings()
    _check_period(args.period)  # a bad --period is a usage error before the store is touched
    if args.no_sync:
        conn = _open_stored_or_empty()
    else:
        conn, _ = _sync(settings)
    opts = ExportOptions(period=args.period, format=fmt, output=output,
                         label=args.name, include_projects=args.include_projects,
                         include_devices=args.include_devices, timezone=args.timezone)
    if args.output == "-":
        _snap, text = render_snapshot(conn, settings, opts)
        sys.stdout.write(text)
        if fmt == "csv":  # a plain CSV: its data has no file to go beside
            print("tokentop: the CSV went to standard output without the data `tokentop verify` checks it "
                  "against; use -o FILE.csv to get FILE.csv.verify.json beside it", file=sys.stderr)
        return 0
    path = write_snapshot(conn, settings, opts)
    from tokentui.export.verify import verify_file

    verdict = verify_file(path)
    print(f"wrote {path} ({opts.format}, sha256 {verdict.digest})")
    if fmt == "csv":
        from tokentui.export.machine import sidecar_path

        print(f"wrote {sidecar_path(path)} (its data: keep it beside the CSV for `tokentop verify`)")
    return 0 if verdict.ok else 1


def _check_output(path: Path) -> None:
    from tokentui.errors import TargetRefused
    from tokentui.paths import output_target, write_target

    try:
        write_target(path)
    except TargetRefused as exc:
        raise TargetRefused(exc.message, "it was left as it is; for a pipe or a device use -o - "
                            "(standard output) and redirect it") from None
    output_target(path)  # and its folder exists: a typo there is refused, not created


def _check_period(spec: str) -> None:
    """The shape and the date range of ``--period`` (which days it means is decided later)."""
    from datetime import date

    from tokentui.errors import UsageError
    from tokentui.export.model import SnapshotError, parse_period

    try:
        parse_period(spec, date.today(), lambda _p: date.today())
    except SnapshotError as exc:
        raise UsageError(str(exc)) from None


def cmd_verify(args) -> int:
    from tokentui.export.verify import verify_file

    verdict = verify_file(Path(args.file).expanduser())
    if not args.quiet:
        print(f"{args.file}: {verdict.message}", file=sys.stdout if verdict.ok else sys.stderr)
    return verdict.exit_code
