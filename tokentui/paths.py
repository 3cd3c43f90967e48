"""Every directory and file location tokentop uses, computed lazily.

Environment overrides: ``TOKENTOP_CONFIG`` (the config file) and ``TOKENTOP_DATA_DIR``
(the data directory holding ``history.db``). Nothing is created at import time;
``ensure_dir`` creates directories with mode 0700 when they are first needed.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "tokentop"


def _platformdirs():
    import platformdirs

    return platformdirs


def config_file() -> Path:
    """The config file: ``$TOKENTOP_CONFIG`` or ``<user config dir>/config.toml``."""
    env = os.environ.get("TOKENTOP_CONFIG")
    if env:
        return Path(env).expanduser()
    return Path(_platformdirs().user_config_dir(APP_NAME, appauthor=False)) / "config.toml"


def config_dir() -> Path:
    return config_file().parent


def data_dir() -> Path:
    """The data directory: ``$TOKENTOP_DATA_DIR`` or the platform's user data dir."""
    env = os.environ.get("TOKENTOP_DATA_DIR")
    if env:
        return Path(env).expanduser()
    return Path(_platformdirs().user_data_dir(APP_NAME, appauthor=False))


def history_db() -> Path:
    return data_dir() / "history.db"


def user_themes_dir() -> Path:
    """User themes live next to the config file, in ``themes/``."""
    return config_dir() / "themes"


def builtin_themes_dir() -> Path:
    """Themes shipped with tokentop: inside the wheel, or ``themes/`` of a source checkout."""
    here = Path(__file__).resolve().parent
    packaged = here / "themes"
    if packaged.is_dir():
        return packaged
    return here.parent / "themes"


def ensure_dir(path: Path) -> Path:
    """Create ``path`` (and parents) with mode 0700 if missing; return it."""
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            os.chmod(path, 0o700)
        except OSError:
            pass
    return path


def private_file(path: Path) -> Path:
    """Restrict a file holding user data to its owner (0600)."""
    try:
        os.chmod(path, 0o600)
    except OSError:
        pass
    return path


def write_private_text(path: Path, text: str) -> None:
    """Write ``text`` atomically to ``path`` with mode 0600."""
    ensure_dir(path.parent)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
