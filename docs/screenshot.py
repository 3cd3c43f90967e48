#!/usr/bin/env python3
"""Make the README's screenshot: the dashboard on the demo data, drawn headless.

    python docs/screenshot.py                      # docs/dashboard.svg + docs/dashboard.png
    python docs/screenshot.py --size 160x48 --screen 6

The SVG is Textual's own export of the screen; the PNG is that SVG rendered by headless
Chromium (`chromium` or `google-chrome` on PATH; without one only the SVG is written). The demo
data are generated for the current day, so a run on another day gives other numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


async def _capture(size: tuple[int, int], keys: list[str], theme: str) -> str:
    from tokentui.config import load_settings
    from tokentui.tui.app import TokentopApp

    with tempfile.TemporaryDirectory(prefix="tokentop-shot-") as tmp:
        settings = load_settings(Path(tmp) / "config.toml")
        app = TokentopApp(settings, db_path=Path(tmp) / "history.db", demo=True, theme=theme)
        async with app.run_test(size=size) as pilot:
            for _ in range(200):  # the first snapshot is built in a worker
                if app.snapshot is not None and app.budgets is not None:
                    break
                await pilot.pause(0.05)
            for key in keys:
                await pilot.press(key)
            await pilot.pause(0.3)
            app.clear_notifications()
            await pilot.pause(0.1)
            return app.export_screenshot(title="tokentop --demo")


def _browser() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if path := shutil.which(name):
            return path
    return None


def _png(svg: Path, png: Path, size: tuple[int, int]) -> bool:
    browser = _browser()
    if browser is None:
        return False
    # Textual's SVG is about 12.2 px per column and 24.4 px per row plus its window frame
    width, height = int(size[0] * 12.25) + 40, int(size[1] * 24.45) + 90
    html = svg.with_suffix(".html")
    html.write_text('<html><body style="margin:0;background:#1e1e1e">'
                    f'<img src="{svg.name}" style="display:block;width:{width}px"></body></html>',
                    encoding="utf-8")
    try:
        with tempfile.TemporaryDirectory(prefix="tokentop-chromium-") as profile:
            subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                            "--disable-background-networking", "--disable-component-update",
                            "--disable-sync", "--hide-scrollbars", f"--user-data-dir={profile}",
                            f"--window-size={width},{height}", f"--screenshot={png}",
                            html.as_uri()],
                           check=True, capture_output=True, timeout=60)
    finally:
        html.unlink(missing_ok=True)
    return png.exists()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="120x42", help="COLSxROWS (default 120x42)")
    parser.add_argument("--screen", default="1", help="the screen's key, 1-9 (default 1)")
    parser.add_argument("--theme", default="tokentop-dark")
    parser.add_argument("-o", "--output", type=Path, default=HERE / "dashboard.svg")
    args = parser.parse_args()
    cols, rows = (int(n) for n in args.size.lower().split("x"))
    keys = [] if args.screen == "1" else [args.screen]
    svg = asyncio.run(_capture((cols, rows), keys, args.theme))
    args.output.write_text(svg, encoding="utf-8")
    print(f"wrote {args.output}")
    png = args.output.with_suffix(".png")
    if _png(args.output, png, (cols, rows)):
        print(f"wrote {png}")
    else:
        print("no chromium/google-chrome on PATH: PNG not written", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
