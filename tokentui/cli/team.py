"""`tokentop team build|pull|use` (team benchmark files) and `tokentop leverage` (your figures).

Only the standard library is imported here; the rest loads on use.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tokentui.errors import TokentopError, UsageError
from tokentui.sources import registry

NOT_A_RANKING = """\
What these numbers are not: a ranking of people, or a measure of value or
performance. Tokens are a signal of leverage, read next to spend and budget.
A team file holds only aggregates (n and p10-p90 per metric, rounded to 2
significant figures); no one's raw data leaves their machine, and `team build`
refuses fewer than 5 members."""

BAR = 30  # width of a log-scale axis


def register(sub) -> None:
    """Add ``team`` (build, pull, use) and ``leverage``."""
    fmt = argparse.RawDescriptionHelpFormatter
    t = sub.add_parser("team", help="team benchmark files: build from snapshots, pull from an admin API, use",
                       description="Team benchmark files (team.toml): per metric n, p10, p25, p50, p75, p90 "
                       "and nothing else.\n\n" + NOT_A_RANKING, formatter_class=fmt)
    actions = t.add_subparsers(dest="team_action", metavar="ACTION", required=True)

    b = actions.add_parser("build", help="make team.toml from members' JSON/TOML snapshots",
                           description="Verify each snapshot's digest (an altered one is refused) and write the "
                           "team's percentiles. Refuses fewer than --min-members members and snapshots of "
                           "different windows.\n\n" + NOT_A_RANKING, formatter_class=fmt)
    b.add_argument("snapshots", nargs="+", metavar="SNAPSHOT", help="snapshot files from `tokentop export "
                   "--format json` (or toml), one per member")
    b.add_argument("-o", "--output", required=True, metavar="FILE", help="the team file to write")
    b.add_argument("--name", metavar="TEAM", default="team", help="the team's name (default: team)")
    b.add_argument("--min-members", type=int, default=5, metavar="N", help="refuse fewer members (default 5, "
                   "at least 3)")
    b.add_argument("--allow-mixed-windows", action="store_true",
                   help="combine snapshots of different windows (per-week figures compared across them)")
    b.set_defaults(func=run_build)

    p = actions.add_parser("pull", help="make team.toml from an admin key (Anthropic Claude Code analytics, "
                           "OpenAI usage by user)",
                           description="Read per-person usage of the last --days whole UTC days with an admin "
                           "key and write only the team's percentiles (nothing per person is kept). "
                           "anthropic: Claude Code analytics per user; openai: completions usage grouped by "
                           "user_id.\n\n" + NOT_A_RANKING, formatter_class=fmt)
    p.add_argument("provider", choices=[s.name for s in registry.all_sources(registry.API) if s.team_pull])
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="the team file to write")
    p.add_argument("--days", type=int, default=28, metavar="N", help="days to read (default 28)")
    p.add_argument("--name", metavar="TEAM", help="the team's name (default: the organization)")
    p.add_argument("--min-members", type=int, default=5, metavar="N", help="refuse fewer people (default 5)")
    p.set_defaults(func=run_pull)

    u = actions.add_parser("use", help="compare yourself against this team file (sets [team] file in config)")
    u.add_argument("file", metavar="FILE")
    u.set_defaults(func=run_use)

    lv = sub.add_parser("leverage", help="your tokens per week, cost, cache and active hours vs your team",
                        description="Your own leverage figures over a window (default the last 28 days, per "
                        "week), with your percentile and multiple of the median in the team file set by "
                        "`tokentop team use`, and public reference points for scale.\n\n" + NOT_A_RANKING,
                        formatter_class=fmt)
    lv.add_argument("--json", action="store_true", help="print the figures as JSON")
    lv.add_argument("--window", type=int, default=28, metavar="DAYS", help="days to average over (default 28)")
    lv.add_argument("--no-sync", action="store_true", help="use what is stored; do not read new log lines first")
    lv.set_defaults(func=run_leverage)


def _write(path: Path, text: str) -> None:
    from tokentui.paths import write_private_text

    try:
        write_private_text(path, text, make_folder=False)  # atomic, 0600: a team file is nobody else's business
    except OSError as exc:
        raise TokentopError(f"cannot write {path}: {exc.strerror or exc}") from None


def _print_team(team, path: Path, notes) -> None:
    print(f"wrote {path}: team {team.name!r}, {team.members} members, {team.window_days}-day window, "
          f"{len(team.metrics)} metrics ({', '.join(team.metrics)})")
    for n in notes:
        print(f"  note: {n}")


def run_build(args: argparse.Namespace) -> int:
    from tokentui.core import benchmarks as bm
    from tokentui.paths import output_target

    out = Path(args.output).expanduser()
    output_target(out)  # a bad -o is refused before any work
    figures = []
    for name in args.snapshots:
        path = Path(name).expanduser()
        if path.resolve() == out.resolve():
            raise UsageError(f"-o {out} is one of the snapshots; choose another output file")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise bm.BenchmarkError(f"cannot read snapshot {path}: {getattr(exc, 'strerror', None) or exc}") \
                from None
        figures.append(bm.parse_snapshot(text, str(path), toml=True if path.suffix.lower() == ".toml" else None))
    team, notes = bm.team_from_snapshots(figures, name=args.name, min_members=args.min_members,
                                         allow_mixed_windows=args.allow_mixed_windows)
    _write(out, team.to_toml())
    _print_team(team, out, notes)
    return 0


def run_pull(args: argparse.Namespace) -> int:
    from tokentui.config import load_settings
    from tokentui.paths import output_target
    from tokentui.services.leverage import pull_team

    out = Path(args.output).expanduser()
    output_target(out)  # refused before any request is made
    team, notes = pull_team(args.provider, load_settings(), days=args.days, name=args.name,
                            min_members=args.min_members)
    _write(out, team.to_toml())
    _print_team(team, out, notes)
    return 0


def run_use(args: argparse.Namespace) -> int:
    from tokentui.config import load_settings, update_config
    from tokentui.services.leverage import load_team

    path = Path(args.file).expanduser().resolve()
    team = load_team(path)
    settings = load_settings()
    update_config(settings.path, ["team", "file"], str(path))
    print(f"team file set: {path} (team {team.name!r}, {team.members} members, {team.window_days}-day window, "
          f"generated {team.generated})")
    return 0


def run_leverage(args: argparse.Namespace) -> int:
    from tokentui.config import load_settings
    from tokentui.services import leverage as svc
    from tokentui.services.sync import open_store, sync_local

    if not 1 <= args.window <= 3660:
        raise UsageError("--window must be between 1 and 3660 days")
    settings = load_settings()
    if args.no_sync:
        from tokentui.cli.common import open_stored_or_empty as _open_stored_or_empty

        conn = _open_stored_or_empty()
    else:
        conn = open_store()
        sync_local(conn, settings)
    report = svc.build_report(conn, settings, window_days=args.window)
    if args.json:
        json.dump(report.to_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    print(render(report))
    return 0


# --- text output ---------------------------------------------------------------------------

def render(report) -> str:
    """The leverage report as text that reads at 80 columns."""
    import textwrap

    from tokentui.core import benchmarks as bm
    from tokentui.core import leverage as lv

    lev = report.leverage
    j = report.to_json()
    out = [f"Your leverage: last {lev.window_days} days ({j['since'][:10]} .. {j['until'][:10]} UTC), per week"]
    team = report.team
    if team is not None:
        out.append(f"Team: {team.name} - {team.members} members, {team.window_days}-day window, from {team.source}, "
                   f"generated {team.generated}")
    elif report.team_problem:
        out.extend(textwrap.wrap(f"Team file not used: {report.team_problem}", 79, subsequent_indent="  "))
    else:
        out.append("No team file set: `tokentop team use FILE` (made by `team build` or `team pull`)")
    out.append("")
    out.append(f"{'metric':<42}{'you':>10}{'team p50':>10}  where you sit")
    for r in report.rows:
        p50 = lv.format_value(r.metric, r.team.p50) if r.team is not None else "-"
        where = f"{r.placement.text}, {r.placement.median_text}" if r.placement is not None else ""
        out.append(f"{r.label[:41]:<42}{r.text:>10}{p50:>10}  {where}".rstrip())
    if lev.model_mix:
        mix = ", ".join(f"{m.model} {m.share:.0%}" for m in lev.model_mix[:5])
        more = f", {len(lev.model_mix) - 5} more" if len(lev.model_mix) > 5 else ""
        out.append("")
        out.extend(textwrap.wrap(f"Model mix: {mix}{more}", 79, subsequent_indent="  "))
    for n in report.notes:
        out.extend(textwrap.wrap(f"note: {n}", 79, subsequent_indent="  "))
    for metric in ("tokens_per_week", "cost_per_week", "spend_to_comp"):
        refs = bm.references_for(metric)
        mine = lev.value(metric)
        if not refs or (metric == "spend_to_comp" and mine is None):
            continue
        lo, hi = bm.log_axis([v for r in refs for v in (r.low, r.high)] + ([float(mine)] if mine else []))
        out.append(f"\nPublic reference points, {lv.LABELS[metric]} (log scale, {_axis(metric, lo)} .. "
                   f"{_axis(metric, hi)}):")
        points = [(r.low, r.high, r.label, r.source) for r in refs]
        if mine:
            points.append((float(mine), float(mine), "you", None))
        for low, high, label, source in sorted(points, key=lambda p: p[0]):
            a, b = (round(bm.log_fraction(x, lo, hi) * (BAR - 1)) for x in (low, high))
            axis = "".join("o" if i in (a, b) else "=" if a < i < b else "." for i in range(BAR))
            value = lv.format_value(metric, low) + ("" if high == low else f"-{lv.format_value(metric, high)}")
            out.append(f"  {axis} {value:>11}  {label}")
            if source:
                out.extend(textwrap.wrap(f'source: "{source}"', 79, initial_indent=" " * 8,
                                         subsequent_indent=" " * 10))
    out.append("")
    out.append(NOT_A_RANKING)
    return "\n".join(out)


def _axis(metric: str, x: float) -> str:
    from tokentui.core.fmt import tokens_short

    if metric == "spend_to_comp":
        return f"{x:.0%}"
    return ("$" if metric == "cost_per_week" else "") + tokens_short(round(x))
