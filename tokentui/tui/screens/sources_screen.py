"""Sources: every source's status, where it reads from, and what went wrong in plain words."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import DataTable, Static

from tokentui.errors import TokentopError
from tokentui.tui.screens.base import TokentopScreen
from tokentui.tui.screens.key_screen import KeyScreen
from tokentui.core.source_status import IDLE_STATUSES, SourceStatus, set_up_first
from tokentui.services.dashboard import Snapshot
from tokentui.core.fmt import ago
from tokentui.tui.widgets.source_status_list import STATUS_COLORS, status_dot
from tokentui.tui.widgets.text import lines as lines_of, markup, plain, rich_plain

_PLAIN = {
    "ok": "working",
    "stale": "not up to date",
    "error": "failing",
    "not configured": "not set up",
    "disabled": "turned off in config",
}


def _in(seconds: float) -> str:
    """``in 45 s``, ``in 4 min``, ``in 2 h 5 min`` (a poll that is due shows as ``now``)."""
    s = int(seconds + 0.5)
    if s < 1:
        return "now"
    if s < 60:
        return f"in {s} s"
    m = (s + 30) // 60
    return f"in {m} min" if m < 60 else f"in {m // 60} h {m % 60} min"


class SourcesScreen(TokentopScreen):
    """A table of sources and the details of the highlighted one. ``k`` opens the key modal
    for an API source, ``x`` tests its key with one real call (in a worker)."""

    MODE = "sources"
    KEY = "5"
    TITLE = "Sources"
    BINDINGS = [
        Binding("k", "key('add')", "Add key"),
        Binding("x", "key('test')", "Test key"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._rows: tuple[SourceStatus, ...] = ()
        self._now_ms = 0

    def compose_body(self) -> ComposeResult:
        yield DataTable(id="sources-table", cursor_type="row")
        with VerticalScroll(id="source-detail-box"):
            yield Static("[dim]checking sources…[/]", id="source-detail")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label, key, width in (("", "dot", 1), ("Source", "name", 12), ("Kind", "kind", 5),
                                  ("Status", "status", 14), ("Last sync", "sync", 9), ("Records", "records", 9)):
            table.add_column(Text(label, justify="right" if key == "records" else "left"), key=key, width=width)
        self.query_one("#source-detail-box").border_title = "Details"
        super().on_mount()
        self.watch(self.app, "theme", self._theme_changed, init=False)

    def _theme_changed(self) -> None:
        self._rows = ()  # repaint the dots in the new theme's colours
        self.mark_stale("snapshot")

    def show_snapshot(self, snap: Snapshot) -> None:
        self._now_ms = snap.now_ms
        if set_up_first(snap.sources) == list(self._rows):
            self._show_detail()
            return
        was = self._selected()  # the cursor stays on its source when the order changes
        self._rows = tuple(set_up_first(snap.sources))
        table = self.query_one(DataTable)
        keep = table.cursor_row
        if was is not None:
            keep = next((i for i, r in enumerate(self._rows) if r.name == was.name), keep)
        table.clear()
        for r in self._rows:
            table.add_row(self._dot(r.status), rich_plain(r.name), rich_plain(r.kind), rich_plain(r.status),
                          "" if r.status in IDLE_STATUSES else ago(r.last_sync_ms, snap.now_ms),
                          Text(f"{r.records:,}" if r.records else "", justify="right"), key=r.name)
        if snap.sources:
            table.move_cursor(row=min(keep, len(snap.sources) - 1))
        self._show_detail()

    def _dot(self, status: str) -> Text:
        # DataTable cells are Rich renderables: resolve the theme variable to its colour here
        var = STATUS_COLORS.get(status)
        color = self.app.theme_variables.get(var[1:]) if var else None
        return Text("●", style=color) if color else Text("○", style="dim")

    def _selected(self) -> SourceStatus | None:
        row = self.query_one(DataTable).cursor_row
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        r = self._selected()
        if r is None:
            return
        # names, paths, messages and balances come from config, the filesystem and providers:
        # each is plain() text; markup() is for this screen's own words only
        lines = [Content.assemble(status_dot(r.status), " ", plain(r.name, "b"),
                                  plain(f" ({r.kind}): {_PLAIN.get(r.status, r.status)}"))]
        if r.message:
            lines.append(plain(r.message, newlines=True))
        if r.last_sync_ms and r.status in IDLE_STATUSES:
            lines.append(markup(f"[dim]{r.checked(self._now_ms)}[/]"))
        elif r.last_sync_ms:
            lines.append(markup(f"[dim]last sync[/] {ago(r.last_sync_ms, self._now_ms)} · "
                                f"[dim]records stored[/] {r.records:,}"))
        for p in r.paths:
            lines.append(Content.assemble(markup("[dim]reads[/] "), plain(p)))
        for p in r.looked:
            lines.append(Content.assemble(markup("[dim]looked in[/] "), plain(p), markup(" [dim](not found)[/]")))
        if r.skipped_lines:
            lines.append(markup(f"[$warning]{r.skipped_lines:,} corrupt or invalid line(s) skipped[/]"))
        if r.implausible_lines:
            lines.append(markup(f"[$warning]{r.implausible_lines:,} of them quarantined: more tokens than a request has[/]"))
        if r.duplicates:
            lines.append(markup(f"[dim]{r.duplicates:,} duplicate line(s) dropped (streaming repeats, resumed "
                                "sessions)[/]"))
        if r.kind == "api":
            if r.key_hint:
                lines.append(Content.assemble(markup("[dim]key[/] "), plain(r.key_hint)))
                wait = getattr(self.app, "next_poll_in", lambda _s: None)(r.name)
                if wait is not None:
                    lines.append(markup(f"[dim]next poll[/] {_in(wait)}"))
            for b in r.balances:
                lines.append(Content.assemble(markup("[dim]balance[/] "), plain(b)))
            lines.append(markup("[dim]k: add a key · x: test the key[/]"))
        self.query_one("#source-detail", Static).update(lines_of(lines))

    def action_key(self, action: str) -> None:
        r = self._selected()
        if r is None:
            return
        if r.kind != "api":
            self.notify(f"{r.name} reads local logs and needs no key.", timeout=4)
        elif action == "add":
            self.app.push_screen(KeyScreen(r.name, r.key_hint, demo=self.app.demo))
        elif self.app.demo:
            self.notify("demo mode: keys are not read or tested. Run tokentop without --demo.", timeout=5)
        else:
            self.notify(f"testing the {r.name} key (one request)…", title=f"{r.name} key", timeout=4)
            self._test_key(r.name)

    @work(thread=True, group="key-test", exit_on_error=False)
    def _test_key(self, source: str) -> None:
        """One real call with the key (``check_key``); its answer names only the key's tail."""
        from tokentui.services.poll import check_key

        try:
            ok, text = check_key(source, self.app.settings)
        except Exception as exc:  # a bad base URL or a network stack error: say it, never crash
            ok, text = False, str(exc) if isinstance(exc, TokentopError) else f"{type(exc).__name__}: {exc}"
        self.app.call_from_thread(self.notify, text, title=f"{source} key {'works' if ok else 'failed'}",
                                  severity="information" if ok else "error", timeout=12)
