"""tokentop: `top` for AI tokens."""

__version__ = "0.1.0"
