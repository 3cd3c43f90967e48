"""`tokentop export ...` (placeholder until its issue lands)."""

from __future__ import annotations


def register(sub) -> None:
    """Add the ``export`` subcommands (none yet)."""
