"""A ranked list with bars: the models (or sources) that used the most tokens."""

from __future__ import annotations

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

from tokentui.core.figures import Share
from tokentui.core.fmt import tokens_compact
from tokentui.core.text import printable
from tokentui.tui.widgets.bars import clip, hbar, money, rate, short_model
from tokentui.tui.widgets.text import plain


class TopList(Widget):
    """``items`` ranked by tokens, each with a bar, its share, tokens and cost."""

    items: reactive[tuple[Share, ...]] = reactive(())
    empty_text: reactive[str] = reactive("no usage in this window")
    #: tokens per minute right now by name (shown when there is room)
    rates: reactive[dict[str, float]] = reactive(dict)

    def render(self) -> Content:
        if not self.items:
            return plain(self.empty_text, "dim")
        width = self.content_size.width
        rows = max(1, self.content_size.height)
        items = self.items[:rows]
        names = [printable(short_model(s.name)) for s in items]  # names come from logs and APIs
        cost_w = 10 if width >= 48 else 0
        rate_w = 12 if width >= 80 else 0
        longest = max(len(n) for n in names)
        name_w = max(8, min(longest, 26, width - 6 - 5 - cost_w - rate_w - 6))
        bar_w = max(0, width - name_w - 6 - 5 - cost_w - rate_w - 2)
        top = items[0].tokens
        lines = []
        for s, name in zip(items, names):
            parts = [clip(name, name_w).ljust(name_w), " ", Content.styled(hbar(s.tokens, top, bar_w), "$primary"),
                     f" {tokens_compact(s.tokens):>6}", Content.styled(f"{s.share:>5.0%}", "dim")]
            if cost_w:
                parts.append(f"{money(s.cost, s.unpriced_tokens):>{cost_w}}")
            if rate_w:
                now = self.rates.get(s.name, 0)
                parts.append(Content.styled(f"{rate(now) + '/min':>{rate_w}}", "$burn-color") if now
                             else " " * rate_w)
            lines.append(Content.assemble(*parts))
        return Content("\n").join(lines)
