"""Budgets: a gauge per budget, the burn-up chart and projection of the selected one, and
the add / edit form (``a`` / enter)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Label, ListItem, ListView, Static

from tokentui.core.fmt import tokens_short
from tokentui.tui.screens.base import TokentopScreen
from tokentui.tui.screens.budget_form import BudgetEdit, BudgetFormScreen
from tokentui.services.budgets import BudgetResult, details
from tokentui.services.dashboard import BudgetsView
from tokentui.tui.widgets.budget_gauge import STATUS_WORDS, BudgetGauge, status_color
from tokentui.tui.widgets.burnup_chart import LEGEND, BurnupChart
from tokentui.tui.widgets.quota_gauge import QuotaCurves
from tokentui.tui.widgets.text import lines, markup, plain

EMPTY = ("No budgets yet. Press [b]a[/b] to add one: an amount in dollars or tokens per month, quarter or "
         "year, with a projection of where the period lands and an alert when a threshold is crossed.\n"
         "[dim]From a shell: [b]tokentop budget set NAME --usd 500 --period month[/b][/]")


def short_amount(r: BudgetResult) -> str:
    """'$560' or '12B': the budget line's label on the chart."""
    amount = r.budget.amount
    if r.budget.unit == "usd":
        return "$" + (tokens_short(int(amount)) if amount >= 1000 else f"{amount:g}")
    return tokens_short(int(amount))


def title_line(r: BudgetResult) -> Content:
    """'work  $417.68 / $560.00 a month · 65% gone · projected over'."""
    b = r.budget
    words = STATUS_WORDS.get(r.status, r.status)
    return Content.assemble(
        plain(b.name, "b"), plain(f"  {b.format_amount(r.spent)} "), Content.styled("/", "dim"),
        plain(f" {b.format_amount()} "), plain(f"a {b.period} · {r.elapsed_fraction:.0%} gone ·", "dim"), " ",
        plain(words, status_color(r.status)))


class BudgetItem(ListItem):
    """One budget in the list: its name and figures, and the gauge."""

    def __init__(self, result: BudgetResult) -> None:
        super().__init__()
        self.result = result

    def compose(self) -> ComposeResult:
        yield Label("", classes="budget-title")
        yield BudgetGauge()

    def on_mount(self) -> None:
        self.show(self.result)

    def show(self, r: BudgetResult) -> None:
        self.result = r
        titles = self.query(".budget-title")
        if not titles:
            return  # not composed yet: on_mount shows the latest result
        titles.first(Label).update(title_line(r))
        gauge = self.query_one(BudgetGauge)
        gauge.used, gauge.elapsed, gauge.status = r.used_fraction, r.elapsed_fraction, r.status


class BudgetList(ListView):
    """The budgets; enter edits the highlighted one (shown in the footer)."""

    BINDINGS = [Binding("enter", "select_cursor", "Edit")]


class BudgetsScreen(TokentopScreen):
    """Shows ``app.budgets``; asks the App to save a budget by dismissing the form with a
    :class:`BudgetEdit` (the App writes config.toml in a worker)."""

    MODE = "budgets"
    HELP_WIDGETS = (BudgetList,)
    KEY = "3"
    TITLE = "Budgets"
    DATA = ("budgets", "snapshot")
    BINDINGS = [Binding("a", "add", "Add budget")]

    def __init__(self) -> None:
        super().__init__()
        self._view: BudgetsView | None = None
        self._selected: str | None = None
        self._names: tuple[str, ...] = ()

    def compose_body(self) -> ComposeResult:
        yield Static("[dim]evaluating budgets…[/]", id="budgets-empty")
        yield BudgetList(id="budget-list")
        yield BurnupChart(id="burnup")
        with VerticalScroll(id="budget-detail-box"):
            yield Static("", id="budget-detail")
        yield QuotaCurves(id="budget-quotas")

    def on_mount(self) -> None:
        self.query_one("#budget-list").border_title = "Budgets · used vs ┃ period gone"
        chart = self.query_one(BurnupChart)
        chart.border_subtitle = LEGEND
        self.query_one("#budget-detail-box").border_title = "Projection"
        curves = self.query_one("#budget-quotas", QuotaCurves)
        curves.border_title = "Plan limits · official · each window's curve"
        curves.display = False
        self._show_parts(False)
        super().on_mount()

    def _show_parts(self, any_budget: bool) -> None:
        for id_ in ("#budget-list", "#burnup", "#budget-detail-box"):
            self.query_one(id_).display = any_budget
        self.query_one("#budgets-empty").display = not any_budget

    # -- data -------------------------------------------------------------------------------
    def show_snapshot(self, snap) -> None:
        """Plan limits (official windows) under the budgets: shown once any was recorded."""
        view = snap.quotas
        if view is None:
            return
        curves = self.query_one("#budget-quotas", QuotaCurves)
        curves.display = bool(view) or view.seen  # a window read once: the panel says why it is empty
        curves.compact = not self.has_class("-tall")  # 80×24: the most urgent window's gauge only
        curves.tz = self.app.tz
        curves.empty = view.empty
        curves.now_ms, curves.curves, curves.states = view.now_ms, tuple(view.curves), tuple(view.states)

    def show_budgets(self, view: BudgetsView) -> None:
        self._view = view
        empty = self.query_one("#budgets-empty", Static)
        if view.problem:
            empty.update(Content.assemble(
                markup("[$error]⚠ The budgets in the config cannot be read:[/]\n"), plain(view.problem, newlines=True),
                markup("\n\n[dim]Fix the file, or press [b]a[/b] to write a budget over the broken one.[/]")))
        else:
            empty.update(EMPTY)
        self._show_parts(bool(view.results) and not view.problem)
        if not view.results:
            return
        names = tuple(r.budget.name for r in view.results)
        if self._selected not in names:
            self._selected = names[0]
        if names == self._names:
            for item in self.query_one("#budget-list", ListView).query(BudgetItem):
                r = view.get(item.result.budget.name)
                if r is not None:
                    item.show(r)
        else:
            self._names = names
            self.run_worker(self._rebuild(view.results), group="budget-list", exclusive=True)
        self._show_selected()

    async def _rebuild(self, results: tuple[BudgetResult, ...]) -> None:
        """New list items when budgets were added, removed or renamed (no I/O here)."""
        lv = self.query_one("#budget-list", ListView)
        await lv.clear()
        await lv.extend(BudgetItem(r) for r in results)
        names = [r.budget.name for r in results]
        lv.index = names.index(self._selected) if self._selected in names else 0

    def _show_selected(self) -> None:
        r = self._view.get(self._selected) if self._view and self._selected else None
        if r is None:
            return
        chart = self.query_one(BurnupChart)
        chart.border_title = plain(f"Burn-up · {r.budget.name} · {r.period_start.isoformat()} … "
                                   f"{r.projection.burnup[-1].day.isoformat() if r.projection.burnup else ''}")
        chart.budget_label = short_amount(r)
        chart.unit_prefix = "$" if r.budget.unit == "usd" else ""
        chart.budget = float(r.budget.amount)
        chart.points = r.projection.burnup
        parts = [plain(r.headline, f"b {status_color(r.status)}")]
        parts += [plain(line) for line in details(r)]
        parts.append(plain(f"how this is computed: {r.projection.method}", "dim"))
        self.query_one("#budget-detail", Static).update(lines(parts))

    def on_list_view_highlighted(self, event: ListView.Highlighted) -> None:
        if isinstance(event.item, BudgetItem) and event.item.result.budget.name != self._selected:
            self._selected = event.item.result.budget.name
            self._show_selected()

    def on_list_view_selected(self, event: ListView.Selected) -> None:
        event.stop()
        self.action_edit()

    # -- the form ---------------------------------------------------------------------------
    def _taken(self) -> tuple[str, ...]:
        return tuple(r.budget.name for r in self._view.results) if self._view else ()

    def action_add(self) -> None:
        self.app.push_screen(BudgetFormScreen(self.app.settings.path, None, self._taken()), self._form_done)

    def action_edit(self) -> None:
        r = self._view.get(self._selected) if self._view and self._selected else None
        if r is None:
            self.action_add()
            return
        self.app.push_screen(BudgetFormScreen(self.app.settings.path, r.budget, self._taken()), self._form_done)

    def _form_done(self, edit: BudgetEdit | None) -> None:
        if edit is not None and edit.budget is not None:
            self._selected = edit.budget.name  # show the new or changed budget when it arrives
