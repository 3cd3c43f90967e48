"""`tokentop budget set|list|remove|check`: budgets kept in config.toml, checked against history.

``check`` exit codes: 0 every budget within its thresholds, 1 one is projected to cross
100 % before its period ends, 2 one is already over, 3 whenever the answer could not be
computed (a bad config; a store locked too long, full, damaged, or missing under
``--no-sync``; any other failure). Scripts rely on 1 and 2: nothing else may exit with them.
Only the standard library is imported here; the rest loads on use.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone

from tokentui.cli.common import NoAnswer, no_answer
from tokentui.errors import TokentopError, UsageError

#: config key → the flag that sets it, for error messages
FLAGS = {"usd": "--usd", "tokens": "--tokens", "period": "--period", "start": "--start", "sources": "--source",
         "providers": "--provider", "models": "--model", "alerts": "--alert",
         "include_estimated": "--exclude-estimated"}


def register(sub) -> None:
    """Add ``budget`` with its four actions."""
    p = sub.add_parser("budget", help="budgets with projections: set, list, remove, check",
                       description="Personal budgets (USD or tokens per month, quarter or year) with a "
                       "projection of where the period lands. Stored in config.toml.")
    actions = p.add_subparsers(dest="budget_action", metavar="ACTION", required=True)

    s = actions.add_parser("set", help="add or change a budget",
                           description="Add a budget, or change an existing one (flags not given keep "
                           "their values).")
    s.add_argument("name", metavar="NAME")
    amount = s.add_mutually_exclusive_group()
    amount.add_argument("--usd", metavar="N", help="amount in US dollars")
    amount.add_argument("--tokens", metavar="N", help="amount in tokens (input + output + cache), e.g. 50M, 1.5B")
    s.add_argument("--period", choices=("month", "quarter", "year"))
    s.add_argument("--start", metavar="YYYY-MM-DD", help="its month and day begin each period (fiscal years)")
    s.add_argument("--source", action="append", metavar="S", help="count only this source (repeatable)")
    s.add_argument("--provider", action="append", metavar="P",
                   help="count this provider's sources, e.g. anthropic = claude-code + anthropic (repeatable)")
    s.add_argument("--model", action="append", metavar="M", help="count only this model (repeatable)")
    s.add_argument("--alert", metavar="LIST", help="alert thresholds, e.g. 0.5,0.8,1 or 50%%,80%%,100%% "
                   "(default 0.5,0.8,1)")
    s.add_argument("--all-usage", action="store_true", help="clear the scope (sources, providers, models)")
    est = s.add_mutually_exclusive_group()
    est.add_argument("--exclude-estimated", dest="include_estimated", action="store_false", default=None,
                     help="leave out usage whose tokens are estimates (agents that log only session totals "
                     "or character counts)")
    est.add_argument("--include-estimated", dest="include_estimated", action="store_true",
                     help="count estimated tokens too (the default)")
    s.set_defaults(func=run_set)

    ls = actions.add_parser("list", help="the budgets in config.toml")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=run_list)

    rm = actions.add_parser("remove", help="delete a budget")
    rm.add_argument("name", metavar="NAME")
    rm.set_defaults(func=run_remove)

    c = actions.add_parser("check", help="figures and projection of every budget; exit 0 / 1 / 2",
                           description="Exit 0 when every budget is within its thresholds, 1 when one is "
                           "projected to cross 100%% before its period ends, 2 when one is already over, "
                           "3 when the check could not run.")
    c.add_argument("--json", action="store_true", help="print the figures as JSON")
    c.add_argument("--timezone", "-z", metavar="TZ", help="IANA zone for day boundaries")
    c.add_argument("--no-sync", action="store_true", help="use what is stored; do not read new log lines first")
    c.set_defaults(func=run_check)


def _budget_error(name: str, exc) -> UsageError:
    key = exc.key_path[2] if len(exc.key_path) > 2 else None
    where = f"{FLAGS.get(key, key)}: " if key else ""
    return UsageError(f"budget {name!r}: {where}{exc.problem}", exc.hint)


def run_set(args: argparse.Namespace) -> int:
    from tokentui.config import load_settings, update_config
    from tokentui.sources import registry
    from tokentui.core.budgets import BudgetError, check_name, parse_budget

    settings = load_settings()
    try:
        check_name(args.name)
    except BudgetError as exc:
        raise UsageError(f"budget {args.name!r}: {exc.problem}") from None
    # start from the stored table as written (even if invalid: `set` is how to repair it)
    existing = settings.raw.get("budgets", {}).get(args.name)
    table = dict(existing) if isinstance(existing, dict) else {}
    if args.usd is not None or args.tokens is not None:
        table.pop("usd", None)
        table.pop("tokens", None)
        table["usd" if args.usd is not None else "tokens"] = args.usd if args.usd is not None else args.tokens
    elif not existing:
        raise UsageError(f"budget {args.name!r}: give an amount with --usd N or --tokens N")
    if args.period:
        table["period"] = args.period
    elif not existing:
        raise UsageError(f"budget {args.name!r}: give --period month, quarter or year")
    if args.start is not None:
        table["start"] = args.start
    if args.all_usage:
        for key in ("sources", "providers", "models"):
            table.pop(key, None)
    for key, values in (("sources", args.source), ("providers", args.provider), ("models", args.model)):
        if values:
            table[key] = values
    if args.alert is not None:
        table["alerts"] = args.alert
    if args.include_estimated is not None:
        table.pop("include_estimated", None)
        if not args.include_estimated:
            table["include_estimated"] = False
    try:
        budget = parse_budget(args.name, table, registry.catalog())
    except BudgetError as exc:
        raise _budget_error(args.name, exc) from None
    update_config(settings.path, ["budgets", budget.name], budget.to_raw())
    print(f"budget {budget.name!r} {'changed' if existing else 'added'}: {budget.describe()}")
    print(f"  saved in {settings.path}")
    _warn_if_unmatched(budget)
    return 0


def _warn_if_unmatched(budget) -> None:
    """A scope that matches nothing in the history is said now, not after a month of "$0.00"."""
    if not (budget.sources or budget.providers or budget.models):
        return
    from tokentui.cli.common import notice

    if _unmatched([budget]):  # no history yet: nothing to compare with, no warning
        notice(f"nothing in your history matches budget {budget.name!r} ({budget.scope_text()}); "
               "`tokentop report daily --breakdown` shows the names")


def run_list(args: argparse.Namespace) -> int:
    from tokentui.config import load_settings
    from tokentui.services.budgets import load_budgets

    budgets = load_budgets(load_settings())
    if args.json:
        rows = [{"name": b.name, **{k: (v.isoformat() if hasattr(v, "isoformat") else v)
                                    for k, v in b.to_raw().items()}, "alerts": list(b.alerts)}
                for b in budgets.budgets]
        json.dump({"budgets": rows, "notifyDesktop": budgets.notify_desktop}, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
        return 0
    if not budgets.budgets:
        print("No budgets yet. Add one: tokentop budget set NAME --usd 500 --period month")
        return 0
    width = max(len(b.name) for b in budgets.budgets)
    unmatched = _unmatched(budgets.budgets)
    for b in budgets.budgets:
        print(f"{b.name:<{width}}  {b.describe()}" + ("  ⚠ matches nothing in your history" if b.name in unmatched
                                                       else ""))
    return 0


def _unmatched(budgets) -> set[str]:
    """The names of the scoped budgets that match nothing in the history (none without a store)."""
    from tokentui.services.budgets import matches_nothing
    from tokentui.services.sync import open_stored

    if not any(b.sources or b.providers or b.models for b in budgets):
        return set()
    try:
        conn, _repaired = open_stored()
    except TokentopError:
        return set()
    try:
        return {b.name for b in budgets if matches_nothing(conn, b)}
    finally:
        conn.close()


def run_remove(args: argparse.Namespace) -> int:
    from tokentui.config import load_settings, update_config
    from tokentui.services.budgets import load_budgets

    settings = load_settings()
    if not isinstance(settings.raw.get("budgets", {}).get(args.name), dict):
        names = ", ".join(b.name for b in load_budgets(settings).budgets) or "none"
        raise UsageError(f"no budget named {args.name!r}", f"budgets: {names}")
    update_config(settings.path, ["budgets", args.name], None)
    print(f"budget {args.name!r} removed")
    return 0


def run_check(args: argparse.Namespace) -> int:
    try:
        settings, budgets, results = _evaluate(args)
    except Exception as exc:  # noqa: BLE001 - any failure means no answer: exit 3, never 1 or 2
        return no_answer(exc, "check budgets")
    from tokentui.services import budgets as svc

    code = svc.exit_code(results)
    if budgets.notify_desktop and results:
        try:
            from tokentui.services.sync import open_store

            svc.notify_desktop(svc.new_alerts(open_store(), results, channel="desktop"), True)
        except Exception as exc:  # noqa: BLE001 - the answer stands; only the notification failed
            why = exc.message if isinstance(exc, TokentopError) else f"{type(exc).__name__}: {exc}"
            print(f"tokentop: desktop notification skipped: {why}", file=sys.stderr)
    try:
        _print_check(args, results, code)
    except BrokenPipeError:
        # `budget check | head`: the exit code is the answer; the text is not
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return code


def _print_check(args: argparse.Namespace, results, code: int) -> None:
    import textwrap

    from tokentui.services import budgets as svc

    if args.json:
        json.dump({"generatedAt": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                   "exitCode": code, "budgets": [r.to_json() for r in results],
                   "quotas": _quotas()}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    if not results:
        print("No budgets yet. Add one: tokentop budget set NAME --usd 500 --period month")
        return
    marks = {svc.OK: "ok  ", svc.WARNING: "warn", svc.PROJECTED_OVER: "RISK", svc.OVER: "OVER"}
    for i, r in enumerate(results):
        if i:
            print()
        print(f"[{marks[r.status]}] {r.headline}")
        for line in svc.details(r):
            print(f"       {line}")
        for line in textwrap.wrap(f"how this is computed: {r.projection.method}", 100):
            print(f"       {line}")
    sys.stdout.flush()  # a closed pipe fails here, inside the check, not at exit


def _quotas() -> list:
    """The plan-limit windows, for the JSON only: budgets alone decide the exit code."""
    try:
        from tokentui.services.quota import quotas_json
        from tokentui.services.sync import open_stored

        return quotas_json(open_stored()[0])
    except Exception:  # noqa: BLE001 - no store or no quota table yet: no windows, never a failed check
        return []


def _evaluate(args: argparse.Namespace):
    from tokentui.config import load_settings, resolve_timezone
    from tokentui.services import budgets as svc
    from tokentui.services.sync import open_store, open_stored, sync_local

    settings = load_settings()
    budgets = svc.load_budgets(settings)
    tz = resolve_timezone(args.timezone or settings.timezone)
    if not budgets.budgets:
        return settings, budgets, ()
    if args.no_sync:
        conn, repaired = open_stored()
        if repaired:  # what was stored is incomplete until the logs are read again
            raise NoAnswer("cannot check budgets: the history store was damaged and has been rebuilt from "
                           "what could still be read, so its totals are incomplete",
                           "run `tokentop budget check` without --no-sync: it reads the agents' logs again")
    else:
        conn = open_store()
        sync_local(conn, settings)
    return settings, budgets, svc.evaluate_all(conn, settings, tz=tz, budgets=budgets)
