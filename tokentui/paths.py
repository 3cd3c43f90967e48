"""Every directory and file location tokentop uses, computed lazily.

Environment overrides: ``TOKENTOP_CONFIG`` (the config file) and ``TOKENTOP_DATA_DIR``
(the data directory holding ``history.db``). Nothing is created at import time;
``ensure_dir`` creates directories with mode 0700 when they are first needed.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from tokentui.errors import TargetRefused, WriteError

APP_NAME = "tokentop"
#: symlinks followed from a file to write before giving up (the kernel's limit is 40)
MAX_LINKS = 40


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


_NOT_REGULAR = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def write_target(path: Path) -> Path:
    """The regular file that writing ``path`` replaces.

    ``path`` itself, or, when it is a symlink you (or root) own, the file it points to,
    followed link by link, so the link survives the write (a ``config.toml`` kept in a
    dotfiles repository). Refused (:class:`TargetRefused`, nothing touched): a FIFO, device,
    socket or directory, and a symlink owned by another user (planted in a shared folder
    such as /tmp). A missing file is fine: it is created."""
    current = Path(os.path.abspath(path))
    for _ in range(MAX_LINKS):
        try:
            st = os.lstat(current)
        except FileNotFoundError:
            return current
        except OSError as exc:
            raise _write_error(path, exc, current.parent) from None
        if stat.S_ISLNK(st.st_mode):
            if hasattr(os, "geteuid") and st.st_uid not in (os.geteuid(), 0):  # no owners on Windows
                raise TargetRefused(f"cannot write {path}: it is a symlink owned by another user (uid {st.st_uid})",
                                    "tokentop does not follow it; remove it or write to another file")
            try:
                current = Path(os.path.join(current.parent, os.readlink(current)))
            except OSError as exc:  # replaced while we looked
                raise _write_error(path, exc, current.parent) from None
            continue
        for test, kind in _NOT_REGULAR:
            if test(st.st_mode):
                raise TargetRefused(f"cannot write {path}: it is {kind}, not a regular file",
                                    "it was left as it is; give the name of a regular file")
        return current
    raise TargetRefused(f"cannot write {path}: more than {MAX_LINKS} symlinks lead from it",
                        "point it at a regular file")


def _write_error(path: Path, exc: OSError, folder: Path) -> WriteError:
    """``exc`` as one line naming ``path`` (what the user gave), never a temporary file."""
    code = exc.errno
    if code in (errno.ENOSPC, errno.EDQUOT):
        return WriteError(f"cannot write {path}: the disk is full (no space left on device)",
                          "free some space, or write the file somewhere else")
    if code == errno.EROFS:
        return WriteError(f"cannot write {path}: the file system is read-only", "write the file somewhere else")
    if code in (errno.EACCES, errno.EPERM):
        return WriteError(f"cannot write {path}: permission denied",
                          f"you may not write in {folder}: choose another folder or fix its permissions")
    if code in (errno.ENOTDIR, errno.EEXIST) and not folder.is_dir():
        return WriteError(f"cannot write {path}: {folder} is not a folder", "give a path inside a folder")
    return WriteError(f"cannot write {path}: {(exc.strerror or type(exc).__name__).lower()}")


def output_target(path: Path) -> Path:
    """:func:`write_target` for a file the user named (``export -o``, ``team build -o``), whose
    folder must exist: a typo in it is refused (:class:`TargetRefused`), never created."""
    target = write_target(path)
    folder = target.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise TargetRefused(f"cannot write {path}: {folder} {what}",
                            "create that folder first, or give a path in an existing one")
    return target


def write_private_text(path: Path, text: str, make_folder: bool = True) -> Path:
    """Write ``text`` atomically to ``path`` with mode 0600; returns the file written.

    The text goes to a new temporary file with an unpredictable name in the target's folder
    (``mkstemp``: created with ``O_EXCL``, so a symlink planted at any name is never
    followed), is synced, and replaces the target in one rename. The target is
    :func:`write_target` (a symlink you own keeps pointing at the new file; a FIFO, device
    or directory is refused). A missing folder is created (mode 0700) for tokentop's own
    files; with ``make_folder=False`` (a file the user named) it is refused, see
    :func:`output_target`. Errors are a :class:`WriteError` naming ``path``."""
    import tempfile

    target = write_target(path) if make_folder else output_target(path)
    try:
        if make_folder:
            ensure_dir(target.parent)
        fd, tmp = tempfile.mkstemp(prefix=".tokentop-", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise _write_error(path, exc, target.parent) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise _write_error(path, exc, target.parent) from None
        raise
    _sync_folder(target.parent)
    return target


def _sync_folder(folder: Path) -> None:
    """Make the rename durable (best effort: not every file system allows it)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
