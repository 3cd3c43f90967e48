"""History: daily / weekly / monthly tables with a bar chart, filtered by source and model (and
by device, in a history merged from several machines)."""

from __future__ import annotations

from dataclasses import replace

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import DataTable, Select, Static

from tokentui.core.fmt import tokens_compact, tokens_short, usd
from tokentui.tui.messages import HistoryQuery, HistoryRequested
from tokentui.tui.screens.base import TokentopScreen
from tokentui.services.dashboard import Snapshot
from tokentui.services.history import HistoryTable
from tokentui.tui.widgets.bar_chart import BarChart
from tokentui.tui.widgets.bars import hbar, money, short_model
from tokentui.tui.widgets.text import markup, plain, rich_plain

PERIODS = (("Daily", "day"), ("Weekly", "week"), ("Monthly", "month"))
_UNIT = {"day": "days", "week": "weeks", "month": "months"}
BAR_WIDTH = 12


def _num(text: str) -> Text:
    return Text(text, justify="right")


class HistoryScreen(TokentopScreen):
    """Asks the App for a table (``HistoryRequested``) and shows what arrives in ``app.history``."""

    MODE = "history"
    KEY = "2"
    TITLE = "History"
    BINDINGS = [
        Binding("d", "period('day')", "Daily"),
        Binding("w", "period('week')", "Weekly"),
        Binding("m", "period('month')", "Monthly"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.query_state = HistoryQuery()
        self._shown: HistoryTable | None = None
        self._choices: tuple[tuple[str, ...], ...] = ((), (), ())
        self._seen_total: int | None = None
        self._keys: list[str] = []

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="history-controls"):
            yield Select(PERIODS, value="day", allow_blank=False, id="history-period")
            yield Select((), prompt="all sources", id="history-source")
            yield Select((), prompt="all models", id="history-model")
            yield Select((), prompt="all devices", id="history-device")
        yield BarChart(id="history-chart")
        yield DataTable(id="history-table", cursor_type="row", zebra_stripes=True)
        yield Static("[dim]loading history…[/]", id="history-summary")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label, key, width in (("Period", "period", 15), ("Tokens", "tokens", 7), ("", "bar", BAR_WIDTH),
                                  ("Cost", "cost", 10), ("Input", "input", 7), ("Output", "output", 7),
                                  ("Cache rd", "cache_read", 8), ("Cache wr", "cache_write", 8),
                                  ("Unpriced", "unpriced", 8)):
            table.add_column(Text(label, justify="left" if key in ("period", "bar") else "right"), key=key,
                             width=width)
        self.query_one("#history-device", Select).display = False  # shown when there are devices to pick
        super().on_mount()
        self.watch(self.app, "history", self._history_changed, init=True)

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        self._request()

    def _request(self) -> None:
        self.post_message(HistoryRequested(self.query_state))

    def show_snapshot(self, snap: Snapshot) -> None:
        # new usage arrived while we are visible: ask again (cheap when nothing changed)
        quarter = snap.period("quarter")
        total = quarter.tokens if quarter else 0
        if self._seen_total is not None and total != self._seen_total:
            self._request()
        self._seen_total = total

    # -- controls -------------------------------------------------------------------------
    def action_period(self, period: str) -> None:
        self.query_one("#history-period", Select).value = period

    def on_select_changed(self, event: Select.Changed) -> None:
        value = None if event.value is Select.NULL else str(event.value)
        field = {"history-period": "period", "history-source": "source", "history-model": "model",
                 "history-device": "device"}[event.select.id]
        current = getattr(self.query_state, field)
        if field == "period" and value is None:
            return
        if value != current:
            self.query_state = replace(self.query_state, **{field: value})
            self._request()

    # -- data -----------------------------------------------------------------------------
    def _history_changed(self, table: HistoryTable | None) -> None:
        if table is None or table is self._shown:
            return
        self._update_choices(table)
        if (table.period, table.source, table.model, table.device) != (
                self.query_state.period, self.query_state.source, self.query_state.model, self.query_state.device):
            return  # an answer to an older question
        self._shown = table
        self._fill(table)

    def _update_choices(self, table: HistoryTable) -> None:
        if (table.sources, table.models, table.devices) == self._choices:
            return
        self._choices = (table.sources, table.models, table.devices)
        with self.prevent(Select.Changed):
            src = self.query_one("#history-source", Select)
            src.set_options((rich_plain(s), s) for s in table.sources)  # names as text, never markup
            if self.query_state.source in table.sources:
                src.value = self.query_state.source
            mdl = self.query_one("#history-model", Select)
            mdl.set_options((rich_plain(short_model(m)), m) for m in table.models)
            if self.query_state.model in table.models:
                mdl.value = self.query_state.model
            dev = self.query_one("#history-device", Select)
            dev.set_options((rich_plain(d), d) for d in table.devices)
            dev.display = len(table.devices) > 1
            if self.query_state.device in table.devices:
                dev.value = self.query_state.device

    def _fill(self, table: HistoryTable) -> None:
        dt = self.query_one(DataTable)
        keep = dt.cursor_row
        dt.clear()
        top = max((r.tokens for r in table.rows), default=0)
        dt.add_rows(
            (r.label, _num(tokens_compact(r.tokens)), hbar(r.tokens, top, BAR_WIDTH), _num(money(r.cost, r.unpriced_tokens)),
             _num(tokens_compact(r.input)), _num(tokens_compact(r.output)), _num(tokens_compact(r.cache_read)),
             _num(tokens_compact(r.cache_write)), _num(tokens_compact(r.unpriced_tokens) if r.unpriced_tokens else ""))
            for r in table.rows)
        self._keys = [r.key for r in table.rows]
        if table.rows:
            dt.move_cursor(row=min(keep, len(table.rows) - 1))
        chart = self.query_one(BarChart)
        chart.values = tuple((r.key, float(r.tokens)) for r in reversed(table.rows))
        chart.highlight = self._keys[dt.cursor_row] if table.rows else None
        what = [s for s in (table.source, short_model(table.model) if table.model else None, table.device) if s]
        scope = f" · {', '.join(what)}" if what else ""
        self.query_one("#history-summary", Static).update(Content.assemble(
            plain(f"{len(table.rows)} {_UNIT[table.period]}{scope}"),
            markup(f" · [b]{tokens_short(table.total_tokens)}[/] tokens · [b]{usd(table.total_cost, places=2)}[/] · "
                   "[dim]d w m: period[/]")))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if 0 <= event.cursor_row < len(self._keys):
            self.query_one(BarChart).highlight = self._keys[event.cursor_row]
