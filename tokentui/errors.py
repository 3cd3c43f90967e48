"""Errors that reach the user as one clear line (plus an optional hint)."""

from __future__ import annotations


class TokentopError(Exception):
    """An error with a plain message for the user and a process exit code."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class ConfigError(TokentopError):
    """The configuration file (or a flag) is invalid."""

    exit_code = 2


class UsageError(TokentopError):
    """A command was called with invalid arguments."""

    exit_code = 2


class CredentialError(TokentopError):
    """A key could not be read or written."""


class StoreError(TokentopError):
    """The history database could not be opened or written."""


class StoreDamaged(StoreError):
    """The history database file is damaged (not a database, truncated, failed a check)."""

    def __init__(self, path, reason: str) -> None:
        super().__init__(f"cannot open the history store {path}: it is damaged ({reason})",
                         "tokentop moves it aside and rebuilds it from the logs and provider APIs")
        self.path, self.reason = path, reason


class StoreMissing(StoreError):
    """A command that reads only what is stored (``--no-sync``) found no history store."""

    def __init__(self, path) -> None:
        super().__init__(f"there is no history yet: {path} does not exist (tokentop has not synced here, "
                         "or the file was deleted)",
                         "run `tokentop sync` to read the agents' logs, or leave out --no-sync")
        self.path = path


class SourceError(TokentopError):
    """A source failed; the message says why in plain words."""


class WriteError(TokentopError):
    """A file could not be written. The message names the file the user gave (or the config
    file), never the temporary file it was being written through."""


class TargetRefused(WriteError):
    """The file to write is not a regular file (a FIFO, device, socket or directory) or is a
    symlink someone else owns: it is left exactly as it is. Exit 2, like a bad argument."""

    exit_code = 2
