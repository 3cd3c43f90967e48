"""The Textual dashboard: the App (:mod:`tokentui.tui.app`), its screens and widgets, its
messages and theme handling, and the stylesheet. The only package that imports Textual or Rich;
it composes the UI-free services (:class:`tokentui.services.session.Session`). Importing this
package itself loads no Textual: :func:`run_app` does, when the dashboard runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tokentui.config import Settings


def run_app(settings: Settings, *, demo: bool = False, theme: str | None = None) -> int:
    """Run the TUI; with ``demo`` on a temporary store that is removed on exit."""
    import shutil
    import tempfile
    from pathlib import Path

    from tokentui.tui.app import TokentopApp

    tmp = Path(tempfile.mkdtemp(prefix="tokentop-demo-")) if demo else None
    try:
        app = TokentopApp(settings, db_path=tmp / "history.db" if tmp else None, demo=demo, theme=theme)
        try:
            app.run()
        finally:
            app.close_store()
        return app.return_code or 0
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
