"""`tokentop keys add|list|remove|test SOURCE` (placeholder until the API sources land)."""

from __future__ import annotations


def register(sub) -> None:
    """Add the ``keys`` subcommand (nothing yet: the API sources issue builds it)."""
