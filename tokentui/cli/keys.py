"""`tokentop keys add|list|remove|test SOURCE`: API keys in the OS keyring.

Only standard-library imports at module level (the CLI starts fast); the rest is imported
when a command runs. A key is never printed: at most its last 4 characters.
"""

from __future__ import annotations

import argparse
import sys

from tokentui.sources import registry

def register(sub) -> None:
    """Add the ``keys`` subcommand and its actions."""
    k = sub.add_parser("keys", help="add, list, remove or test API keys (OS keyring)",
                       description="Manage the keys tokentop uses to read provider usage APIs. Keys live in "
                       "the OS keyring (service \"tokentop\"); the standard env vars override it.")
    ksub = k.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    sources = registry.names(registry.API)
    a = ksub.add_parser("add", help="store a key (prompted without echo, or read from stdin)",
                        description="Store a key in the OS keyring. On a terminal it is prompted for without "
                        "echo; otherwise the first line of stdin is read (e.g. from a password manager).")
    a.add_argument("source", choices=sources)
    a.set_defaults(func=cmd_add)
    ls = ksub.add_parser("list", help="which sources have a key, and where it comes from")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_list)
    r = ksub.add_parser("remove", help="delete a stored key from the keyring")
    r.add_argument("source", choices=sources)
    r.set_defaults(func=cmd_remove)
    t = ksub.add_parser("test", help="make one real call with the key and explain the result")
    t.add_argument("source", choices=sources)
    t.set_defaults(func=cmd_test)


def _read_key(source: str) -> str:
    if sys.stdin is not None and sys.stdin.isatty():
        import getpass

        return getpass.getpass(f"{source} key (input hidden): ")
    line = sys.stdin.readline() if sys.stdin is not None else ""
    return line.strip()


def cmd_add(args: argparse.Namespace) -> int:
    from tokentui.credentials import key_env, redact, set_key
    from tokentui.errors import CredentialError

    key = _read_key(args.source).strip()
    if not key:
        raise CredentialError("no key given: nothing stored")
    set_key(args.source, key)
    print(f"stored the {args.source} key {redact(key)} in the OS keyring")
    spec = registry.get(args.source)
    if spec.key_prefixes and spec.key_warning and not key.startswith(spec.key_prefixes):
        print(f"  note: this does not look like {spec.key_warning}", file=sys.stderr)
    import os

    if os.environ.get(key_env(args.source), "").strip():
        print(f"  note: {key_env(args.source)} is set and takes precedence over the keyring", file=sys.stderr)
    print(f"  check it with `tokentop keys test {args.source}`")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from tokentui.credentials import key_env, key_info

    rows = []
    for source in registry.names(registry.API):
        info = key_info(source, refresh=True)  # asks the keyring itself, and updates the index
        where = {"env": f"env {key_env(source)}", "keyring": "keyring", "none": "-"}[info.origin]
        rows.append({"source": source, "origin": info.origin, "where": where, "key": info.redacted})
    if args.json:
        import json

        json.dump(rows, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    for r in rows:
        print(f"{r['source']:<11} {r['where']:<26} {r['key'] or 'no key'}")
    if not any(r["origin"] != "none" for r in rows):
        print("no keys yet: `tokentop keys add openai` (or set the env vars above)")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    import os

    from tokentui.credentials import delete_key, key_env

    removed = delete_key(args.source)
    print(f"removed the {args.source} key from the keyring" if removed
          else f"no {args.source} key was stored in the keyring")
    if os.environ.get(key_env(args.source), "").strip():
        print(f"  note: {key_env(args.source)} is still set in this environment and will be used")
    return 0


def cmd_test(args: argparse.Namespace) -> int:
    from tokentui.config import load_settings
    from tokentui.services.poll import check_key

    ok, message = check_key(args.source, load_settings())
    print(("ok: " if ok else "failed: ") + message)
    return 0 if ok else 1
