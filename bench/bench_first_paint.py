#!/usr/bin/env python3
"""Time from starting the TUI to the first full dashboard paint, on a year of history.

    python bench/bench_first_paint.py                 # 365 days, one heavy user (~115k records)
    python bench/bench_first_paint.py --seeds 4       # four times the records (~460k)
    python bench/bench_first_paint.py --screen sessions   # the Sessions screen instead (or projects)

Builds a store of generated history (tokentui.services.demo) in a temporary directory, then
starts the real app (not demo mode: the path a user's store takes) headless at the given size,
with every local source pointed at empty directories so nothing of yours is read. Reports:

- figures painted: the dashboard shows totals, top models and burn from the stored history
  (the App paints what is stored before it reads any log);
- full paint: also the source statuses, after the first sync of the (empty) local sources;
- headlines: the leverage headline and the most urgent of two budgets (a monthly dollar and a
  yearly token budget), evaluated in the same worker right after the figures;
- the snapshot build time inside the worker.

With ``--screen sessions`` (or ``projects``) the app opens on that screen and the figure is the
time to its first painted table of the default window (7 days), rows and all.

The store is synced once before timing, as it would be on any machine where tokentop ran before.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _isolate(tmp: Path) -> None:
    for name in ("home", "claude", "codex", "data", "config"):
        (tmp / name).mkdir(exist_ok=True)
    os.environ.update(HOME=str(tmp / "home"), CLAUDE_CONFIG_DIR=str(tmp / "claude"), CODEX_HOME=str(tmp / "codex"),
                      TOKENTOP_DATA_DIR=str(tmp / "data"), TOKENTOP_CONFIG=str(tmp / "config" / "config.toml"),
                      GEMINI_DATA_DIR=str(tmp / "home" / "gemini"), OPENCODE_DATA_DIR=str(tmp / "home" / "oc"),
                      PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring")  # never your keyring
    for key in ("OPENAI_ADMIN_KEY", "ANTHROPIC_ADMIN_KEY", "OPENROUTER_API_KEY", "DEEPSEEK_API_KEY",
                "MOONSHOT_API_KEY"):
        os.environ.pop(key, None)


BUDGETS = {"monthly": {"usd": 800, "period": "month"},
           "yearly": {"tokens": 20_000_000_000, "period": "year", "start": "2026-04-01"}}


async def _one_run(db: Path, size: tuple[int, int]) -> dict[str, float]:
    from tokentui.tui.app import TokentopApp
    from tokentui.config import Settings
    from tokentui.tui.screens.dashboard_screen import DashboardScreen
    from tokentui.tui.widgets.source_status_list import SourceStatusList
    from tokentui.tui.widgets.top_list import TopList
    from tokentui.tui.widgets.totals_panel import TotalsPanel

    marks: dict[str, float] = {}
    t0 = time.perf_counter()

    def mark_render(cls, attr, name):
        original = cls.render

        def render(self):
            if getattr(self, attr) and name not in marks:
                marks[name] = time.perf_counter() - t0
            return original(self)

        cls.render = render
        return original

    def mark_show(name):
        original = getattr(DashboardScreen, f"show_{name}")

        def show(self, value):
            original(self, value)
            marks.setdefault(name, time.perf_counter() - t0)

        setattr(DashboardScreen, f"show_{name}", show)
        return original

    saved = [(TotalsPanel, mark_render(TotalsPanel, "periods", "totals")),
             (TopList, mark_render(TopList, "items", "top")),
             (SourceStatusList, mark_render(SourceStatusList, "rows", "sources"))]
    shows = [(name, mark_show(name)) for name in ("leverage", "budgets")]
    try:
        app = TokentopApp(Settings(path=Path(os.environ["TOKENTOP_CONFIG"]), timezone="UTC",
                                   refresh_seconds=3600, raw={"budgets": BUDGETS}), db_path=db)
        async with app.run_test(size=size) as pilot:
            deadline = time.monotonic() + 60
            while not {"totals", "top", "sources", "leverage", "budgets"} <= marks.keys():
                if time.monotonic() > deadline:
                    raise SystemExit(f"dashboard not painted after 60 s (got {sorted(marks)})")
                await pilot.pause(0.005)
            build = app.snapshot.build_ms if app.snapshot else float("nan")
        app.close_store()
    finally:
        for cls, original in saved:
            cls.render = original
        for name, original in shows:
            setattr(DashboardScreen, f"show_{name}", original)
    return {"figures": max(marks["totals"], marks["top"]), "full": max(marks["totals"], marks["top"], marks["sources"]),
            "headlines": max(marks["leverage"], marks["budgets"]), "build_ms": build}


async def _one_screen_run(db: Path, size: tuple[int, int], screen: str) -> dict[str, float]:
    from tokentui.config import Settings
    from tokentui.tui.app import TokentopApp
    from tokentui.tui.screens.projects_screen import ProjectsScreen
    from tokentui.tui.screens.sessions_screen import SessionsScreen

    from textual.widgets import DataTable

    cls = {"sessions": SessionsScreen, "projects": ProjectsScreen}[screen]
    table_id = f"{screen}-table"
    marks: dict[str, float] = {}
    t0 = time.perf_counter()
    original = DataTable.render_line

    def render_line(self, y):
        # as the dashboard's figures are timed: the first time the table draws itself with rows
        if self.id == table_id and self.row_count and "painted" not in marks:
            marks["painted"] = time.perf_counter() - t0
        return original(self, y)

    DataTable.render_line = render_line
    try:
        app = TokentopApp(Settings(path=Path(os.environ["TOKENTOP_CONFIG"]), timezone="UTC", refresh_seconds=3600,
                                   raw={"budgets": BUDGETS}), db_path=db, screen=screen)
        async with app.run_test(size=size) as pilot:
            deadline = time.monotonic() + 60
            while "painted" not in marks or not isinstance(app.screen, cls):
                if time.monotonic() > deadline:
                    raise SystemExit(f"{screen} not painted after 60 s")
                await pilot.pause(0.005)
            build = app.views.build_ms if app.views else float("nan")
        app.close_store()
    finally:
        DataTable.render_line = original
    return {"full": marks["painted"], "build_ms": build}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--seeds", type=int, default=1, help="independent users' worth of history (more records)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--size", default="100x30", help="terminal size, COLSxROWS")
    p.add_argument("--screen", choices=("dashboard", "sessions", "projects"), default="dashboard",
                   help="the screen to time (sessions, projects: its first painted table)")
    args = p.parse_args()
    size = tuple(int(v) for v in args.size.lower().split("x"))

    with tempfile.TemporaryDirectory(prefix="tokentop-bench-") as d:
        tmp = Path(d)
        _isolate(tmp)
        from tokentui.services.demo import write_demo_store
        from tokentui.store.db import connect

        db = tmp / "data" / "history.db"
        now = datetime.now(timezone.utc)
        t = time.perf_counter()
        for seed in range(7, 7 + args.seeds):
            write_demo_store(db, now=now, days=args.days, seed=seed)
        conn = connect(db)
        records = conn.execute("SELECT COUNT(*) FROM ledger").fetchone()[0]
        # one sync first, as on any machine where tokentop has run before (the demo store records
        # the fingerprint of its prices, so this sync re-prices nothing)
        from tokentui.config import load_settings
        from tokentui.services.sync import sync_local

        t_sync = time.perf_counter()
        sync_local(conn, load_settings())
        first_sync = time.perf_counter() - t_sync
        conn.close()
        print(f"store: {records:,} records over {args.days} days, {db.stat().st_size / 1e6:.0f} MB "
              f"(generated in {time.perf_counter() - t:.1f} s; first-ever sync {first_sync:.1f} s)")
        if args.screen != "dashboard":
            runs = [asyncio.run(_one_screen_run(db, size, args.screen)) for _ in range(args.repeat)]
            for n, r in enumerate(runs, 1):
                print(f"run {n}: {args.screen} painted {r['full'] * 1000:6.0f} ms · views build {r['build_ms']:5.1f} ms")
            print(f"median: first {args.screen} paint {statistics.median(r['full'] for r in runs) * 1000:.0f} ms "
                  f"(views build {statistics.median(r['build_ms'] for r in runs):.1f} ms) at {args.size}")
            return 0
        runs = [asyncio.run(_one_run(db, size)) for _ in range(args.repeat)]
        for n, r in enumerate(runs, 1):
            print(f"run {n}: figures painted {r['figures'] * 1000:6.0f} ms · full paint {r['full'] * 1000:6.0f} ms "
                  f"· headlines {r['headlines'] * 1000:6.0f} ms · snapshot build {r['build_ms']:5.1f} ms")
        med = {k: statistics.median(r[k] for r in runs) for k in ("figures", "full", "headlines", "build_ms")}
        print(f"median: first full dashboard paint {med['full'] * 1000:.0f} ms "
              f"(figures {med['figures'] * 1000:.0f} ms, leverage and budget headlines {med['headlines'] * 1000:.0f} ms, "
              f"snapshot build {med['build_ms']:.1f} ms) at {args.size}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
