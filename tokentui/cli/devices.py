"""`tokentop devices [list] | folder PATH | name NAME`: all your machines in one history,
merged through a shared folder (see :mod:`tokentui.services.devices`). Only the standard
library is imported here; the rest loads on use."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone

from tokentui.errors import UsageError


def register(sub) -> None:
    p = sub.add_parser("devices", help="your machines, merged through a shared folder: list, folder, name",
                       description="List the devices in your history (each with its last export, record "
                       "count and lag), set the shared folder a sync engine (Syncthing, Dropbox, iCloud "
                       "Drive, OneDrive, git) carries between them, or name this device.")
    p.add_argument("--json", action="store_true", help="list as JSON")
    p.set_defaults(func=run_list)
    actions = p.add_subparsers(dest="devices_action", metavar="ACTION")
    ls = actions.add_parser("list", help="every device with its last export, records and lag (default)")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=run_list)
    f = actions.add_parser("folder", help="set the share folder ([share] folder in config.toml)",
                           description="Set the folder your devices share. Each sync then writes this "
                           "device's new records to its own subfolder and reads the others'.")
    f.add_argument("path", nargs="?", metavar="PATH", help="the folder (created if missing)")
    f.add_argument("--off", action="store_true", help="stop sharing (the folder and your history are kept)")
    f.set_defaults(func=run_folder)
    n = actions.add_parser("name", help="name this device (`device` in config.toml; default: the hostname)")
    n.add_argument("name", metavar="NAME")
    n.set_defaults(func=run_name)


def _ago(ms: int | None) -> str:
    from tokentui.core.fmt import ago

    return ago(ms, int(datetime.now(timezone.utc).timestamp() * 1000))


def run_list(args) -> int:
    from tokentui.cli.common import settings as _settings
    from tokentui.services.devices import device_id, devices, last_problems, share_folder
    from tokentui.services.sync import open_store

    settings = _settings()
    conn = open_store()
    rows = devices(conn, settings)
    problems = last_problems(conn)
    folder = share_folder(settings)
    if getattr(args, "json", False):
        json.dump({"folder": str(folder) if folder else None, "thisDevice": device_id(),
                   "devices": [r.as_json() for r in rows],
                   "problems": [{"file": p.file, "message": p.message} for p in problems]}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    print(f"share folder: {folder}" if folder else
          "share folder: not set (`tokentop devices folder PATH` merges your machines through it)")
    print(f"{'device':<24} {'last export':<12} {'records':>9}  {'last record':<12} segments")
    for r in rows:
        label = (r.name + (" (this one)" if r.this_device else ""))[:24]
        print(f"{label:<24} {_ago(r.last_export_ms):<12} {r.records:>9,}  {_ago(r.last_record_ms):<12} "
              f"{r.segments:,}")
        if r.missing:
            print(f"    waiting for segment(s) {', '.join(map(str, r.missing))} (not arrived yet)")
        if r.folder_present is False and not r.this_device and r.device_id:
            print("    its folder is gone from the share folder; what was imported is kept")
    for p in problems:
        print(f"problem: {p.line()}")
    return 0


def run_folder(args) -> int:
    from pathlib import Path

    from tokentui import paths
    from tokentui.cli.common import settings as _settings
    from tokentui.config import update_config

    settings = _settings()
    if args.off:
        update_config(settings.path, ["share", "folder"], None)
        print("sharing is off; the folder and your history are kept")
        return 0
    if not args.path:
        raise UsageError("give the folder to share, or --off", "e.g. tokentop devices folder ~/Sync/tokentop")
    folder = Path(args.path).expanduser().absolute()
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} is not a folder")
    try:
        paths.ensure_dir(folder)
    except OSError as exc:
        raise UsageError(f"cannot create {folder}: {exc.strerror or exc}") from None
    update_config(settings.path, ["share", "folder"], str(folder))
    print(f"share folder: {folder}\nthe next `tokentop sync` writes this device's records there and reads the others'")
    return 0


def run_name(args) -> int:
    from tokentui.cli.common import settings as _settings
    from tokentui.config import update_config

    name = args.name.strip()
    if not name or len(name) > 100 or any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in name):
        raise UsageError("a device name is 1 to 100 printable characters")
    settings = _settings()
    update_config(settings.path, ["device"], name)
    print(f"this device is now {name!r}; records already stored keep the name they were written with")
    return 0
