"""The key modal (``k`` on the Sources screen): a masked input that stores an API key in the
OS keyring (in a worker). The key goes from the input straight to ``set_key``: it is never
shown, logged, kept or put in a message; only its redacted tail ever appears on screen."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from tokentui.errors import TokentopError
from tokentui.tui.messages import KeyStored
from tokentui.sources import registry
from tokentui.tui.widgets.text import markup, plain


class KeyScreen(ModalScreen[None]):
    """Stores the key in the keyring; on success posts :class:`KeyStored` (with the redacted
    tail) and closes, on failure shows the reason (e.g. no keyring backend: which env var
    to set instead) and stays open. ``current``: the redacted tail and origin of the key in
    use, if any."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    error: reactive[str] = reactive("")
    busy: reactive[bool] = reactive(False)

    def __init__(self, source: str, current: str | None = None, demo: bool = False) -> None:
        super().__init__()
        self.source = source
        self.current = current
        self.demo = demo

    def compose(self) -> ComposeResult:
        spec = registry.get(self.source)
        env = spec.key_env or ""
        now = plain(f"in use: key {self.current}" if self.current else "no key stored yet", "dim")
        if self.demo:
            now = markup("[dim][$warning]demo mode: nothing is stored[/][/]")
        with Vertical(id="key-form"):
            yield Static(Content.assemble(
                plain(f"{self.source} wants {spec.key_hint or 'an API key'}.\n"), now,
                plain(f" · the environment variable {env} overrides the keyring", "dim")), id="key-about")
            yield Input(placeholder="paste the key (hidden)", password=True, id="key-input", compact=True)
            yield Static("", id="key-error")
            with Horizontal(id="key-buttons"):
                yield Button("Store in keyring", id="key-save", variant="primary", compact=True)
                yield Button("Cancel", id="key-cancel", compact=True)

    def on_mount(self) -> None:
        box = self.query_one("#key-form")
        box.border_title = f"{self.source} key"
        box.border_subtitle = "enter: store · esc: cancel · x on Sources: test"
        self.query_one("#key-input", Input).focus()

    def watch_error(self, error: str) -> None:
        self.query_one("#key-error", Static).update(plain(f"⚠ {error}", "$error", newlines=True) if error else "")

    def watch_busy(self, busy: bool) -> None:
        self.query_one("#key-save", Button).disabled = busy
        if busy:
            self.query_one("#key-error", Static).update("[dim]storing…[/]")

    def action_save(self) -> None:
        field = self.query_one("#key-input", Input)
        key = field.value.strip()
        if not key:
            self.error = "paste a key first (it stays hidden)"
            return
        if self.demo:
            field.value = ""
            self.error = "demo mode: keys are not stored. Run tokentop without --demo to add one."
            return
        field.value = ""  # the key leaves the screen now; only the worker sees it
        self.error = ""
        self.busy = True
        self._store(key)

    # an explicit description: the default one would repr the arguments, the key among them
    @work(thread=True, exclusive=True, group="key-store", exit_on_error=False, description="store a key")
    def _store(self, key: str) -> None:
        from tokentui.credentials import redact, set_key

        try:
            set_key(self.source, key)
        except TokentopError as exc:
            text = str(exc)
            if registry.key_env(self.source) not in text:
                text += f" For {self.source}, set {registry.key_env(self.source)}."
            self.app.call_from_thread(self._failed, text)
            return
        self.app.call_from_thread(self._stored, redact(key.strip()))

    def _failed(self, text: str) -> None:
        self.busy = False
        self.error = text

    def _stored(self, hint: str) -> None:
        self.app.post_message(KeyStored(self.source, hint))
        self.dismiss(None)

    def action_cancel(self) -> None:
        self.query_one("#key-input", Input).value = ""
        self.dismiss(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "key-save":
            self.action_save()
        else:
            self.action_cancel()
