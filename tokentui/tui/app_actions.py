"""The App's actions that write files: the theme choice saved to config.toml, a snapshot
export, and the command palette's screenshot. A mixin of :class:`~tokentui.tui.app.TokentopApp`
(it uses the App's ``session``, ``settings`` and ``demo``); every write runs in a worker."""

from __future__ import annotations

import time
from pathlib import Path

from textual import work
from textual.worker import get_current_worker

from tokentui import paths
from tokentui.errors import TokentopError
from tokentui.tui.messages import ExportFinished
from tokentui.tui.screens.export_screen import ExportChoice, ExportScreen
from tokentui.tui.screens.help_screen import HelpScreen
from tokentui.tui.theming import THEME_SAVE_DELAY


def describe(error: BaseException | None) -> str:
    """One plain line for a failed worker."""
    if isinstance(error, TokentopError):
        return str(error)
    return f"{type(error).__name__}: {error}" if error else "unknown error"


class FileActions:
    """Theme saving, exports and screenshots for the App (see the module doc)."""

    # --- themes -------------------------------------------------------------------------------
    def action_cycle_theme(self) -> None:
        """The next theme, remembered in config.toml off the UI thread, once per burst of presses."""
        names = self.theme_names or [self.theme]
        nxt = names[(names.index(self.theme) + 1) % len(names)] if self.theme in names else names[0]
        self.theme = nxt
        self.notify(f"theme: {nxt}", timeout=2)
        self._save_theme(nxt)

    @work(thread=True, name="save-theme", group="save-theme", exclusive=True, exit_on_error=False)
    def _save_theme(self, name: str) -> None:
        time.sleep(THEME_SAVE_DELAY)
        if get_current_worker().is_cancelled:
            return

        from tokentui.config import update_config

        try:
            update_config(self.settings.path, ["theme"], name)
            self.settings = self.settings.replace(theme=name)
        except (TokentopError, OSError) as exc:
            why = exc.message if isinstance(exc, TokentopError) else (exc.strerror or str(exc))
            self.call_from_thread(self.notify, f"the theme is used now but not saved: {why}",
                                  title="Theme", severity="warning", timeout=8)

    # --- export -------------------------------------------------------------------------------
    def action_export(self) -> None:
        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss()
        try:
            folder = str(Path.cwd())
        except OSError:  # the directory tokentop started in was removed
            folder = "the current directory (which no longer exists)"
        self.push_screen(ExportScreen(folder, self.demo), self._export_chosen)

    def _export_chosen(self, choice: ExportChoice | None) -> None:
        if choice is not None:
            self.notify(f"writing the {choice.format} snapshot…", title="Export", timeout=3)
            self._export(choice)

    @work(thread=True, name="export", group="export", exit_on_error=False)
    def _export(self, choice: ExportChoice) -> None:
        try:
            path = self.session.export(period=choice.period, format=choice.format, label=choice.label,
                                       include_projects=choice.include_projects)
        except (TokentopError, OSError) as exc:
            self.post_message(ExportFinished(None, describe(exc)))
            return
        self.post_message(ExportFinished(str(path)))

    def on_export_finished(self, message: ExportFinished) -> None:
        if message.error:
            self.notify(message.error, title="Export failed", severity="error", timeout=10)
        else:
            self.notify(f"snapshot written to {message.path}\ncheck it with: tokentop verify FILE",
                        title="Export", timeout=12)

    def deliver_screenshot(self, filename: str | None = None, path: str | None = None,
                           time_format: str | None = None) -> str | None:
        """The palette's Screenshot: an SVG in ``path``, else the Downloads folder if there is one,
        else the current directory, else the data dir; the notice names the file or says why not
        (Textual's own delivery fails with a bare "Failed" when ~/Downloads does not exist)."""
        import platformdirs

        downloads = Path(platformdirs.user_downloads_dir())
        folders = [Path(path).expanduser()] if path else [d for d in (downloads,) if d.is_dir()]
        folders += [Path.cwd(), paths.data_dir()] if not path else []
        problem = ""
        for folder in folders:
            try:
                saved = self.save_screenshot(filename, str(folder), time_format)
            except OSError as exc:
                problem = f"{folder}: {exc.strerror or exc}"
                continue
            self.notify(f"screenshot saved to {saved}", title="Screenshot", timeout=10)
            return None
        self.notify(f"screenshot not saved ({problem})", title="Screenshot", severity="error", timeout=10)
        return None

