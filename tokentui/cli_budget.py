"""`tokentop budget set|list|remove|check` (placeholder until budgets land)."""

from __future__ import annotations


def register(sub) -> None:
    """Add the ``budget`` subcommand (nothing yet: the budgets issue builds it)."""
