"""Budgets: placeholder until the budgets screen lands (another engineer builds it)."""

from __future__ import annotations

from tokentui.screens.placeholder import PlaceholderScreen


class BudgetsScreen(PlaceholderScreen):
    MODE = "budgets"
    TITLE_TEXT = "Budgets"
    TEXT = (
        "This screen will list your budgets (month, quarter, year; dollars or tokens) with a gauge "
        "each, the pace against the period, a burn-up chart with a P10–P90 projection band, and the "
        "runway in quarters at your current pace. You will add and edit budgets here too.\n\n"
        "[dim]Meanwhile, from a shell:[/]\n"
        "  [b]tokentop budget set NAME --usd 500 --period month[/]\n"
        "  [b]tokentop budget list[/]   ·   [b]tokentop budget check[/]\n\n"
        "[dim]Press [b]1[/b] for the dashboard.[/]")
