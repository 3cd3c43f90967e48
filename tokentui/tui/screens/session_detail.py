"""One session, on Enter in the Sessions screen: its requests over time, models, cache hit
ratio, cost by token kind, sub-agents and devices. Escape goes back."""

from __future__ import annotations

from decimal import Decimal

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from tokentui.core.fmt import duration, money, percent, tokens_compact, tokens_exact
from tokentui.core.records import PICO
from tokentui.core.windows import Window
from tokentui.services.report import short_model, spark
from tokentui.services.sessions import SessionDetail, SessionRow
from tokentui.tui.screens import rows as cells
from tokentui.tui.widgets.text import lines, markup, plain


def _money(pico: int | None) -> str:
    return "unpriced" if pico is None else money(Decimal(pico) / PICO)


class SessionDetailScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape", "dismiss", "Back"), Binding("q", "dismiss", "Back", show=False)]

    def __init__(self, row: SessionRow, window: Window) -> None:
        super().__init__()
        self.row = row
        self.window = window
        self.detail: SessionDetail | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="session-box"):
            yield Static(self._head(), id="session-head")
            yield Static(markup("[dim]loading…[/]"), id="session-body")
            yield Static(markup("[dim]esc: back[/]"), id="session-foot")

    def on_mount(self) -> None:
        box = self.query_one("#session-box")
        box.border_title = "Session"
        box.border_subtitle = f"window {self.window.name}"
        self._load()

    def _head(self) -> Content:
        r = self.row
        tz = self.app.tz
        return lines([
            Content.assemble(plain(r.project_name, "b"), plain(f" · {r.source}"), plain(" · live" if r.live else "")),
            plain(f"session {r.session}", "dim"),
            plain(f"{cells.stamp(r.first_ms, tz)} → {cells.stamp(r.last_ms, tz)} ({duration(r.duration_ms)})"
                  f" · {r.totals.requests:,} requests · {tokens_compact(r.totals.total)} tokens · "
                  f"{cells.cost(r.totals).plain} ({r.cost_label})"),
        ])

    @work(thread=True, exit_on_error=False, group="session-detail")
    def _load(self) -> None:
        try:
            detail = self.app.session.session_detail(self.row, self.window)
        except Exception as exc:  # one plain line; the store stays as it was
            self.app.call_from_thread(self._failed, f"{type(exc).__name__}: {exc}")
            return
        self.app.call_from_thread(self._show, detail)

    def _failed(self, why: str) -> None:
        self.query_one("#session-body", Static).update(plain(f"could not read this session: {why}"))

    def _show(self, d: SessionDetail) -> None:
        self.detail = d
        e = d.row.efficiency
        t = d.row.totals
        step = {60_000: "minute", 300_000: "5 minutes", 900_000: "15 minutes", 3_600_000: "hour",
                21_600_000: "6 hours"}.get(d.bucket_ms, "day")
        series = [req for _, req, _ in d.timeline]
        out: list = [
            markup(f"[b]Requests per {step}[/]"),
            plain(spark(series[-60:]) or "—"),
            markup("[b]Efficiency[/] [dim](measured)[/]"),
            plain(f"cache hit {cells.ratio(e.cache_hit).plain} · output share {cells.ratio(e.output_share).plain} · "
                  f"cost per request {cells.per_request(e.cost_per_request_pico).plain}"
                  + (f" · most expensive model {short_model(e.top_model)}" if e.top_model else "")),
            markup("[b]Models[/]"),
        ]
        for model, mt in d.by_model:
            out.append(plain(f"  {short_model(model):<24} {mt.requests:>6,} req  {tokens_compact(mt.total):>7}  "
                             f"{cells.cost(mt).plain:>10}"))
        out.append(markup("[b]Cost by token kind[/] [dim](each model's cost split by its list prices)[/]"))
        kinds = {"input": t.input, "output": t.output, "cache write": t.cache_write, "cache read": t.cache_read}
        for kind, n in kinds.items():
            out.append(plain(f"  {kind:<12} {tokens_exact(n):>14} tokens  {_money(d.cost_by_kind.get(kind)):>10}"))
        if d.subagent_requests:
            share = percent(d.subagent_tokens / t.total) if t.total else "—"
            out.append(plain(f"Sub-agents: {d.subagent_requests:,} requests, {tokens_compact(d.subagent_tokens)} tokens "
                             f"({share} of the session)"))
        else:
            out.append(plain("Sub-agents: none recorded"))
        out.append(plain("Device: " + (", ".join(d.devices) or "—")))
        self.query_one("#session-body", Static).update(lines(out))

    def on_click(self, event) -> None:
        if event.widget is self:
            self.dismiss()
