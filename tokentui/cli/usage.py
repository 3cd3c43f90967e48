"""`tokentop sync`, `report`, `sources` and `locate`: reading usage and saying where it is."""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime, timezone

from tokentui.cli.common import settings as _settings
from tokentui.cli.common import sync as _sync
from tokentui.core.text import printable
from tokentui.core.windows import WINDOWS
from tokentui.errors import UsageError
from tokentui.sources import registry


def register(sub) -> None:
    s = sub.add_parser("sync", help="ingest new local log lines and poll API sources once",
                       description="Read what is new in the agents' logs and poll every API source that has "
                       "a key, into the history store.")
    s.add_argument("--source", action="append", default=[], metavar="S",
                   help=f"only these sources ({registry.help_list()})")
    s.add_argument("--quiet", "-q", action="store_true", help="print nothing on success")

    r = sub.add_parser("report", help="daily / weekly / monthly / session / project tables or JSON",
                       description="Usage tables like ccusage's (JSON is ccusage-compatible). Syncs local "
                       "sources first unless --no-sync.")
    r.add_argument("kind", choices=("daily", "weekly", "monthly", "session", "project"))
    r.add_argument("--json", "-j", action="store_true", help="print JSON (ccusage fields + sources, unpricedTokens)")
    r.add_argument("--since", "-s", metavar="DATE", help="first day, YYYY-MM-DD or YYYYMMDD (inclusive)")
    r.add_argument("--until", "-u", metavar="DATE", help="last day, YYYY-MM-DD or YYYYMMDD (inclusive)")
    r.add_argument("--timezone", "-z", metavar="TZ", help="IANA zone for day boundaries (default: config, "
                   "then the system zone)")
    r.add_argument("--source", action="append", default=[], metavar="S", help="only this source (repeatable)")
    r.add_argument("--model", action="append", default=[], metavar="M",
                   help="only this model (repeatable); claude-sonnet-4-5 also matches its dated ids")
    r.add_argument("--device", action="append", default=[], metavar="NAME",
                   help="only records of this device (repeatable; `tokentop devices` lists them)")
    r.add_argument("--breakdown", "-b", action="store_true", help="per-model rows under each period")
    r.add_argument("--order", choices=("asc", "desc"), default="asc")
    r.add_argument("--start-of-week", choices=("monday", "sunday"), default="monday")
    r.add_argument("--no-sync", action="store_true", help="report what is stored; do not read logs first")
    r.add_argument("--window", "-w", choices=tuple(w.name for w in WINDOWS), metavar="W",
                   help="session/project: only the last 5m, 1h, 24h, 7d, 30d or all (the TUI's window)")

    src = sub.add_parser("sources", help="status of every source, detected paths and errors")
    src.add_argument("--json", action="store_true")

    loc = sub.add_parser("locate", help="print where tokentop keeps a file or directory")
    loc.add_argument("what", choices=("config", "data", "db", "themes"))
    s.set_defaults(func=cmd_sync)
    r.set_defaults(func=cmd_report)
    src.set_defaults(func=cmd_sources)
    loc.set_defaults(func=cmd_locate)


#: the sync summary: one row per local source, 69 columns
SYNC_HEADER = f"{'source':<12} {'status':<14} {'files':>6} {'read MB':>9} {'new records':>12} {'duplicates':>11}"


def check_sources(names) -> None:
    """An unknown ``--source`` is a usage error (exit 2) with the likeliest meant name, never an
    empty report: ``claude`` → ``claude-code``, ``gemini`` → ``gemini-cli``."""
    for name in names:
        if registry.known(name):
            continue
        import difflib  # only for the hint: a known name never needs it

        known = registry.names()
        close = [k for k in known if k.startswith(name.lower()) or name.lower().startswith(k)]
        close += [k for k in difflib.get_close_matches(name.lower(), known, n=2, cutoff=0.6) if k not in close]
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise UsageError(f"unknown source {name!r}", f"{hint}known: {registry.help_list()}")


def cmd_sync(args) -> int:
    settings = _settings()
    check_sources(args.source)
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
    if not args.source and settings.share_folder:
        from tokentui.cli.common import share
        from tokentui.services.sync import open_store

        conn = conn or open_store()
        share(conn, settings, args.quiet)
    if not args.source:  # opted-in plan-limit endpoints ([quota.oauth]); at most every 5 minutes
        # asked without importing services.quota: most syncs have no plan-limit work
        from tokentui.services.quota_gates import oauth_enabled, statusline_in_use

        if oauth_enabled(settings):
            from tokentui.services.quota import poll_oauth
            from tokentui.services.sync import open_store

            conn = conn or open_store()
            for source, status, message in poll_oauth(conn, settings):
                if not args.quiet or status == "error":
                    print(f"quota:{source:<14} {status:<9} {message}", file=sys.stderr if args.quiet else sys.stdout)
        if conn is not None and statusline_in_use():
            from tokentui.services.quota import refresh_summary

            refresh_summary(conn, settings)  # today, burn and a budget for `tokentop statusline`
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

    check_sources(args.source)
    settings = _settings()
    dates = []
    for flag, text in (("--since", args.since), ("--until", args.until)):
        try:
            dates.append(report.parse_date(text, flag) if text else None)
        except DateRangeError as exc:
            raise UsageError(str(exc)) from None
        except ValueError:
            raise UsageError(f"{flag} {text!r} is not a date: dates look like 2026-11-20 or 20261120") from None
    since, until = dates
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
        if settings.share_folder:
            from tokentui.cli.common import share

            share(conn, settings, quiet=True)
    if args.device:
        from tokentui.store.queries import device_names

        known = device_names(conn)
        for name in args.device:
            if name not in known:
                raise UsageError(f"no records of a device named {name!r}",
                                 f"known: {', '.join(known) or 'none yet'} (`tokentop devices` lists them)")
    req = report.ReportRequest(args.kind, since, until, tz, tuple(args.source), tuple(args.model), args.breakdown,
                               6 if args.start_of_week == "sunday" else 0, args.order, tuple(args.device),
                               args.window if args.kind in ("session", "project") else None)
    data = report.build(conn, req)
    if args.json:
        json.dump(data, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    if not data["projects" if args.kind == "project" else args.kind]:
        print("No usage in this range. Run `tokentop sources` to see what tokentop can read.")
        return 0
    width = max(80, min(160, _term_width()))
    print(report.render_table(data, args.kind, width, args.breakdown, tz=tz))
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
    from tokentui.core.fmt import ago

    return ago(ms, int(datetime.now(timezone.utc).timestamp() * 1000))


def cmd_sources(args) -> int:
    from tokentui.services.status import source_statuses
    from tokentui.services.sync import open_store

    from tokentui.services.quota import source_rows as quota_rows

    settings = _settings()
    conn = open_store()
    rows = source_statuses(conn, settings)
    quotas = quota_rows(conn)
    share_problems = None
    if settings.share_folder:  # the other devices' segments: what could not be read, by file
        from tokentui.services.devices import last_problems

        share_problems = last_problems(conn)
    if args.json:
        extra = []
        if share_problems is not None:
            extra.append({"name": "share", "kind": "folder", "status": "problems" if share_problems else "ok",
                          "path": str(settings.share_folder), "problems": [p.line() for p in share_problems]})
        plugins = registry.plugin_problems()
        if plugins:
            extra.append({"name": "plugins", "kind": "plugins", "status": "problems", "problems": list(plugins)})
        json.dump([r.as_json() for r in rows] + quotas + extra, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    now = int(datetime.now(timezone.utc).timestamp() * 1000)
    for r in rows:
        print(f"{r.name:<12} {r.kind:<6} {r.status:<15} {r.checked(now):<20} records {r.records:>8,}")
        origin = registry.plugin_origin(r.name)
        if origin:
            print(f"    from the plugin package {printable(origin)}")
        if r.message:
            print(f"    {r.message}")
        for p in r.paths:
            print(f"    reads {p}")
        for p in r.looked:
            print(f"    looked in {p} (not found)")
        if r.skipped_lines:
            print(f"    {r.skipped_lines:,} corrupt or invalid line(s) skipped")
        if r.implausible_lines:
            print(f"    {r.implausible_lines:,} of them quarantined: more tokens in one line than any request has")
        if r.duplicates:
            print(f"    {r.duplicates:,} duplicate line(s) dropped")
        for b in r.balances:
            print(f"    balance: {b}")
    for qr in quotas:  # plan limits: the vendors' own percentages (`tokentop quota`)
        print(printable(f"{qr['name']:<25} {qr['status']:<15} last sample {_ago(qr['last_sample_ms'])}"))
        if qr["message"]:
            print(printable(f"    {qr['message']}"))
    for problem in registry.plugin_problems():
        print(printable(problem))
    if share_problems is not None:
        print(printable(f"{'share':<12} {'folder':<6} {'problems' if share_problems else 'ok':<15} "
                        f"{settings.share_folder}"))
        for p in share_problems:
            print(printable(f"    {p.line()}"))
    return 0


def cmd_locate(args) -> int:
    from tokentui import paths

    print({"config": paths.config_file, "data": paths.data_dir, "db": paths.history_db,
           "themes": paths.user_themes_dir}[args.what]())
    return 0


