"""Running tokentop as an unprivileged user, for permission tests (root ignores mode bits).

When the tests run as root, :func:`run_as_nobody` forks, drops to ``nobody`` in the child
and calls the CLI's ``main`` there. It does not exec a new interpreter: under root the
interpreter usually lives somewhere ``nobody`` cannot read (``/root/...``), so every module
the command needs is imported in the parent first (:func:`warm_up`). Not root: plain call.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

IS_ROOT = os.geteuid() == 0


def nobody_ids() -> tuple[int, int]:
    import pwd

    try:
        pw = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("running as root and there is no 'nobody' user to drop privileges to")
    return pw.pw_uid, pw.pw_gid


@contextmanager
def shared_dir():
    """A scratch directory an unprivileged user can reach (pytest's tmp dirs are root-only)."""
    base = Path(tempfile.mkdtemp(prefix="tokentop-hardening-", dir="/tmp"))
    try:
        os.chmod(base, 0o755)
        yield base
    finally:
        for root, dirs, files in os.walk(base):
            for d in dirs:
                os.chmod(os.path.join(root, d), 0o755)
        shutil.rmtree(base, ignore_errors=True)


def give(path: Path) -> None:
    """Hand ``path`` (recursively) to the unprivileged user, readable by everyone."""
    if not IS_ROOT:
        return
    uid, gid = nobody_ids()
    for root, dirs, files in os.walk(path):
        os.chown(root, uid, gid)
        for f in files:
            os.chown(os.path.join(root, f), uid, gid)


def warm_up() -> None:
    """Import everything a CLI command may import lazily (the child cannot read /root)."""
    import sqlite3  # noqa: F401
    import traceback  # noqa: F401

    import tokentui.cli  # noqa: F401
    import tokentui.core.pricing as pricing
    import tokentui.services.poll  # noqa: F401
    import tokentui.services.report  # noqa: F401
    import tokentui.services.status  # noqa: F401
    import tokentui.services.sync  # noqa: F401
    import tokentui.store.recover  # noqa: F401

    pricing.Pricer().rates("claude-sonnet-4-5-20250929")  # loads the genai-prices data
    pricing.pricing_data_version()


def run_as_nobody(argv: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """``tokentop argv`` with ``env`` as an unprivileged user: (exit code, stdout, stderr)."""
    from tokentui.cli import main

    if not IS_ROOT:
        return _call(main, argv, env)
    uid, gid = nobody_ids()
    warm_up()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never return into pytest
        code = 99
        try:
            os.close(out_r)
            os.close(err_r)
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            sys.stdout = io.TextIOWrapper(os.fdopen(out_w, "wb"), write_through=True)
            sys.stderr = io.TextIOWrapper(os.fdopen(err_w, "wb"), write_through=True)
            os.environ.clear()
            os.environ.update(env)
            code = main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException as exc:  # noqa: BLE001
            import traceback

            sys.stderr.write("".join(traceback.format_exception(exc)))
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    os.close(out_w)
    os.close(err_w)
    with os.fdopen(out_r, "rb") as o, os.fdopen(err_r, "rb") as e:
        out, err = o.read().decode(), e.read().decode()
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out, err


def _call(main, argv, env):
    import contextlib

    old = dict(os.environ)
    out, err = io.StringIO(), io.StringIO()
    try:
        os.environ.clear()
        os.environ.update(env)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    finally:
        os.environ.clear()
        os.environ.update(old)
    return code, out.getvalue(), err.getvalue()
