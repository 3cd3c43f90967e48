"""The add / edit budget modal: validates with :mod:`tokentui.core.budgets` as you save and
says what is wrong next to the form, then writes config.toml (``update_config``, which keeps
every other setting) in a worker and tells the App (:class:`BudgetSaved`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from tokentui.core.budgets import PERIODS, Budget, BudgetError, check_name, parse_budget
from tokentui.core.text import printable
from tokentui.sources import registry
from tokentui.errors import TokentopError
from tokentui.tui.messages import BudgetSaved
from tokentui.tui.widgets.text import plain

#: config key of a budget → the form field that sets it (to focus the field at fault)
FIELD_OF = {"usd": "budget-amount", "tokens": "budget-amount", "period": "budget-period", "start": "budget-start",
            "sources": "budget-sources", "providers": "budget-providers", "models": "budget-models",
            "alerts": "budget-alerts"}
LABEL_OF = {"usd": "amount", "tokens": "amount", "period": "period", "start": "start", "sources": "sources",
            "providers": "providers", "models": "models", "alerts": "alerts"}


@dataclass(frozen=True, slots=True)
class BudgetEdit:
    """What the form asks the App to write: ``budget`` under its name (replacing
    ``original`` when renamed), or the removal of ``original``."""

    budget: Budget | None
    original: str | None = None
    remove: bool = False


def _names(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def budget_from_form(name: str, amount: str, unit: str, period: str, start: str = "", sources: str = "",
                     providers: str = "", models: str = "", alerts: str = "",
                     taken: tuple[str, ...] = ()) -> Budget:
    """A validated :class:`Budget` from the form's text fields; :class:`BudgetError` names
    the key at fault (``key_path[2]``) when one is invalid."""
    name = name.strip()
    check_name(name)
    if name in taken:
        raise BudgetError(["budgets", name], f"a budget named {name!r} exists already",
                          "pick another name, or edit that budget")
    if not amount.strip():
        raise BudgetError(["budgets", name, unit], "missing: how many dollars or tokens per period?")
    table: dict = {unit: amount.strip(), "period": period}
    if start.strip():
        table["start"] = start.strip()
    for key, text in (("sources", sources), ("providers", providers), ("models", models)):
        if _names(text):
            table[key] = _names(text)
    if alerts.strip():
        table["alerts"] = alerts
    return parse_budget(name, table, registry.catalog())


def explain(exc: BudgetError) -> tuple[str, str | None]:
    """(the message to show, the id of the field at fault)."""
    key = exc.key_path[2] if len(exc.key_path) > 2 else None
    what = f"{LABEL_OF.get(key, key)}: " if key else ""
    text = f"{what}{exc.problem}" + (f" ({exc.hint})" if exc.hint else "")
    return text, FIELD_OF.get(key or "", "budget-name" if key is None else None)


class BudgetFormScreen(ModalScreen[BudgetEdit | None]):
    """Add a budget (``budget`` None) or edit one in the config file at ``config``.
    ``taken``: the other budgets' names. Dismissed with what was written."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "save", "Save")]

    def __init__(self, config: Path, budget: Budget | None = None, taken: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.config = config
        self.budget = budget
        self.taken = tuple(n for n in taken if budget is None or n != budget.name)
        self._confirm_remove = False
        self._raw: dict[str, str] = {}  # input id → the exact text a field shows escaped

    def compose(self) -> ComposeResult:
        b = self.budget
        amount = "" if b is None else (f"{b.amount}" if b.unit == "usd" else f"{b.amount:,}")
        alerts = "" if b is None else ", ".join(f"{a * 100:g}%" for a in b.alerts)
        with Vertical(id="budget-form"):
            with Horizontal(classes="form-row"):
                yield Label("Name", classes="form-label")
                yield Input(b.name if b else "", placeholder="e.g. work-monthly", id="budget-name", compact=True)
            with Horizontal(classes="form-row"):
                yield Label("Amount", classes="form-label")
                yield Input(amount, placeholder="e.g. 500", id="budget-amount", compact=True)
                yield Select((("USD", "usd"), ("tokens", "tokens")), value=b.unit if b else "usd",
                             allow_blank=False, id="budget-unit", compact=True)
            with Horizontal(classes="form-row"):
                yield Label("Period", classes="form-label")
                yield Select(((p, p) for p in PERIODS), value=b.period if b else "month", allow_blank=False,
                             id="budget-period", compact=True)
                yield Input(b.start.isoformat() if b and b.start else "", placeholder="start: YYYY-MM-DD (optional)",
                            id="budget-start", compact=True)
            for field, label, value, hint in (
                    ("sources", "Sources", b.sources if b else (), "all (or: " + ", ".join(registry.names()[:2]) + ", …)"),
                    ("providers", "Providers", b.providers if b else (), "e.g. " + ", ".join(list(registry.provider_sources())[:2])),
                    ("models", "Models", b.models if b else (), "all models")):
                with Horizontal(classes="form-row"):
                    yield Label(label, classes="form-label")
                    self._raw[f"budget-{field}"] = raw = ", ".join(value)  # names from config: shown escaped
                    yield Input(printable(raw), placeholder=hint, id=f"budget-{field}", compact=True)
            with Horizontal(classes="form-row"):
                yield Label("Alerts", classes="form-label")
                yield Input(alerts, placeholder="50%, 80%, 100%", id="budget-alerts", compact=True)
            yield Static("", id="budget-error")
            with Horizontal(id="budget-buttons"):
                yield Button("Save", id="budget-save", variant="primary", compact=True)
                if b is not None:
                    yield Button("Remove", id="budget-remove", variant="error", compact=True)
                yield Button("Cancel", id="budget-cancel", compact=True)

    def on_mount(self) -> None:
        box = self.query_one("#budget-form")
        box.border_title = plain(f"Edit budget {self.budget.name!r}") if self.budget else "Add a budget"
        box.border_subtitle = "enter / ctrl+s: save · esc: cancel"
        self.query_one("#budget-amount" if self.budget else "#budget-name", Input).focus()

    @property
    def error(self) -> str:
        return str(self.query_one("#budget-error", Static).render())

    def show_error(self, text: str, field: str | None = None) -> None:
        self.query_one("#budget-error", Static).update(plain(f"⚠ {text}", "$error", newlines=True) if text else "")
        self.query_one("#budget-form").set_class(bool(text), "-invalid")
        if field:
            self.query_one(f"#{field}").focus()

    def _value(self, id_: str) -> str:
        value = self.query_one(f"#{id_}", Input).value
        raw = self._raw.get(id_)  # left as shown, a field keeps the exact names it showed escaped
        return raw if raw is not None and value == printable(raw) else value

    def action_save(self) -> None:
        unit = str(self.query_one("#budget-unit", Select).value)
        period = str(self.query_one("#budget-period", Select).value)
        try:
            budget = budget_from_form(self._value("budget-name"), self._value("budget-amount"), unit, period,
                                      self._value("budget-start"), self._value("budget-sources"),
                                      self._value("budget-providers"), self._value("budget-models"),
                                      self._value("budget-alerts"), self.taken)
        except BudgetError as exc:
            self.show_error(*explain(exc))
            return
        self.show_error("")
        if self.budget is not None and not self.budget.include_estimated:  # a setting the form does not show
            from dataclasses import replace

            budget = replace(budget, include_estimated=False)
        self._write(BudgetEdit(budget, self.budget.name if self.budget else None))

    @work(thread=True, exclusive=True, group="budget-save", exit_on_error=False)
    def _write(self, edit: BudgetEdit) -> None:
        """Write ``edit`` to the config file; the form stays open with the error if it fails."""
        from tokentui.config import update_config

        name = edit.budget.name if edit.budget is not None else edit.original
        try:
            new = None
            if edit.original and (edit.remove or edit.original != name):
                new = update_config(self.config, ["budgets", edit.original], None)
            if edit.budget is not None:
                new = update_config(self.config, ["budgets", name], edit.budget.to_raw())
        except (TokentopError, OSError) as exc:
            self.app.call_from_thread(self.show_error, f"not saved: {exc}")
            return
        self.app.call_from_thread(self._written, edit, BudgetSaved(name, edit.remove, str(self.config), new.raw))

    def _written(self, edit: BudgetEdit, saved: BudgetSaved) -> None:
        self.app.post_message(saved)
        self.dismiss(edit)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "budget-save":
            self.action_save()
        elif event.button.id == "budget-remove" and self.budget is not None:
            if not self._confirm_remove:  # one more press: removing cannot be undone from here
                self._confirm_remove = True
                event.button.label = "Really remove?"
                self.show_error(f"press again to remove {self.budget.name!r} from config.toml")
                return
            self._write(BudgetEdit(None, self.budget.name, remove=True))
        else:
            self.dismiss(None)
