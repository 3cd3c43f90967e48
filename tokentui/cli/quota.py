"""``tokentop quota``: the official plan-limit windows (5-hour, weekly, sub-limits) with pace
and run-out forecast (spec/quotas.md §3.8). The status line itself is :mod:`tokentui.cli.statusline`.

Exit codes like ``budget check``: 0 ok, 1 a window is projected to run out before its reset, 2 one
is at or over 100 %, 3 whenever the answer could not be computed."""

from __future__ import annotations

import json
import sys

from tokentui.cli.common import no_answer
from tokentui.cli.common import settings as _settings

OK, RUNS_OUT, AT_LIMIT = 0, 1, 2


def register(sub) -> None:
    p = sub.add_parser("quota", help="plan limits: 5-hour and weekly windows, pace and run-out forecast",
                       description="The vendors' own plan-limit percentages (Codex session logs, Claude Code's "
                       "status line), with pace and a run-out forecast. Syncs local sources first unless "
                       "--no-sync. Exit code: 0 ok, 1 a window is projected to run out before its reset, "
                       "2 a window is at or over 100%, 3 the answer could not be computed (a bad config, a store "
                       "locked, full or damaged, any other failure).")
    p.add_argument("--json", "-j", action="store_true", help="print JSON")
    p.add_argument("--now", type=float, metavar="EPOCH", help="evaluate at this time (Unix seconds)")
    p.add_argument("--no-sync", action="store_true", help="use only what is stored")
    p.set_defaults(func=cmd_quota)


def exit_code(states) -> int:
    active = [s for s in states if s.state == "active"]
    if any(s.used >= 100 for s in active):
        return AT_LIMIT
    if any(s.runs_out_ms or (s.win == "five_hour" and s.runs_out_recent_ms) for s in active):
        return RUNS_OUT
    return OK


def cmd_quota(args) -> int:
    from tokentui.core.quota_labels import method_note
    from tokentui.services import quota as svc
    from tokentui.store.db import now_ms

    try:
        settings = _settings()
        if args.no_sync:
            from tokentui.cli.common import open_stored_or_empty

            conn = open_stored_or_empty()
        else:
            from tokentui.cli.common import sync

            conn, _results = sync(settings)
        now = int(args.now * 1000) if args.now is not None else now_ms()
        states = svc.current(conn, now)
    except Exception as exc:  # noqa: BLE001 - any failure means no answer: exit 3, never 1 or 2
        return no_answer(exc, "read plan limits")
    code = exit_code(states)
    if args.json:
        json.dump({"generatedAt": svc.iso(now), "exitCode": code, "method": method_note(),
                   "quotas": [svc.as_json(s) for s in states]}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return code
    if not states:  # never read, or every window read has reset since: say which
        print(svc.view(conn, now, alerts=False).empty)
        return code
    for s in states:
        print(svc.describe(s, now))
    print(f"how this is computed: {method_note()}")
    return code
