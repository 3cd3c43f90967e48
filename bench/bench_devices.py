#!/usr/bin/env python3
"""Share-folder device merge benchmark (issue 18).

    python bench/bench_devices.py                   # 1,000,000 records, 20 MB corpus, 5 runs
    python bench/bench_devices.py --records 200000 --mb 5 --runs 3

1. **Import**: a store holding ``--records`` ledger rows of another device exports them to a
   share folder (timed), and an empty store imports them (timed, in-process: the import alone);
   the imported totals are checked against the exporter's.
2. **Warm sync with nothing new**: `tokentop sync -q` as a user runs it (a new process, so
   start-up counts) on a generated corpus already synced, median of ``--runs``: without a share
   folder, and with one holding another device's already-imported segments.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))


def make_store(path: Path, n: int, device: str) -> None:
    from tokentui.store import ledger
    from tokentui.store.db import connect, transaction

    rng = random.Random(1)
    conn = connect(path)
    models = ["claude-sonnet-4-5-20250929", "claude-opus-4-5-20251101", "gpt-5-codex"]
    start = 1_756_684_800_000
    with transaction(conn):
        for base in range(0, n, 50_000):
            rows = []
            for i in range(base, min(n, base + 50_000)):
                src = "claude-code" if i % 3 else "codex"
                rows.append((src, f"msg_{i:09d}|req_{i}", "local", start + i * 9_000, 0, models[i % 3], 0,
                             rng.randint(1, 5000), rng.randint(1, 3000), rng.randint(0, 20000), 0,
                             rng.randint(0, 90000), 0, 1, f"-home-dev-proj{i % 8}", f"sess-{i // 200}",
                             rng.randint(1, 10**9), "estimated", None, f"msg_{i:09d}", 0, 0, None, "exact"))
            ledger.upsert_rows(conn, rows, device)
    conn.close()


def sums(path: Path) -> tuple:
    from tokentui.store.db import connect

    conn = connect(path)
    try:
        return conn.execute("SELECT COUNT(*), SUM(input), SUM(output), SUM(cache_write_5m), SUM(cache_read), "
                            "SUM(cost_pico) FROM ledger").fetchone()
    finally:
        conn.close()


def bench_import(tmp: Path, n: int) -> None:
    from tokentui.services import devices, share_export
    from tokentui.services.share_scan import ShareResult
    from tokentui.store.db import connect

    share = tmp / "share"
    share.mkdir()
    a, b = tmp / "a.db", tmp / "b.db"
    t = time.perf_counter()
    make_store(a, n, "laptop")
    print(f"made a store of {n:,} records in {time.perf_counter() - t:.1f} s")
    conn = connect(a)
    res = ShareResult()
    t, cpu = time.perf_counter(), time.process_time()
    share_export.export(conn, share, "a" * 32, "laptop", res)
    t_exp, cpu_exp = time.perf_counter() - t, time.process_time() - cpu
    conn.close()
    size = sum(p.stat().st_size for p in (share / ("a" * 32)).iterdir())
    print(f"export: {res.exported:,} records in {len(res.segments_written)} segments, {size / 1e6:.1f} MB, "
          f"{t_exp:.2f} s ({cpu_exp:.2f} s of CPU)")
    conn = connect(b)
    res = ShareResult()
    t, cpu = time.perf_counter(), time.process_time()
    devices.import_all(conn, share, "b" * 32, res)
    t_imp, cpu_imp = time.perf_counter() - t, time.process_time() - cpu
    conn.close()
    assert not res.problems, res.problems
    assert sums(a) == sums(b), (sums(a), sums(b))
    print(f"import: {res.imported:,} records from {res.segments_read} segments in {t_imp:.2f} s "
          f"({res.imported / t_imp:,.0f} records/s; {cpu_imp:.2f} s of CPU); totals equal the exporter's")
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    conn = connect(b)
    res = ShareResult()
    t = time.perf_counter()
    devices.import_all(conn, share, "b" * 32, res)
    print(f"import again (nothing new): {(time.perf_counter() - t) * 1000:.1f} ms")
    conn.close()


def cli_sync(env: dict) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "tokentui", "sync", "-q"], env=env, check=True, cwd=str(REPO))
    return time.perf_counter() - t


def fake_segments(share: Path, n: int) -> None:
    """``n`` small segments (10 rows each) of another device, as a year of syncs leaves them."""
    from tokentui.core import segment

    folder = share / ("f" * 32)
    folder.mkdir()
    for seq in range(1, n + 1):
        rows = [("claude-code", f"old_{seq}_{i}", "local", 1_735_000_000_000 + seq * 3_600_000 + i, 0, "m", 0, 10, 1, 0,
                 0, 0, 0, 1, None, None, None, "unpriced", None, None, 0, 0, "exact", "old-laptop", 1_735_000_000_000 + seq)
                for i in range(10)]
        data, name = segment.encode("f" * 32, "old-laptop", seq, 1_735_000_000_000 + seq, rows, [], level=1)
        (folder / name).write_bytes(data)


def bench_warm(tmp: Path, mb: float, runs: int, peer_segments: int) -> None:
    corpus = tmp / "corpus"
    subprocess.run([sys.executable, str(HERE / "gen_agent_logs.py"), str(corpus), "--mb", str(mb), "--days", "60",
                    "--seed", "3"], check=True, capture_output=True)
    other = tmp / "other"
    subprocess.run([sys.executable, str(HERE / "gen_agent_logs.py"), str(other), "--mb", str(mb / 4),
                    "--days", "60", "--seed", "4"], check=True, capture_output=True)
    share = tmp / "wshare"
    share.mkdir()
    base = dict(os.environ, PYTHONPATH=str(REPO), PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring")
    envs = {}
    for name, corp, shared in (("plain", corpus, False), ("shared", corpus, True), ("peer", other, True)):
        cfg = tmp / name / "config.toml"
        cfg.parent.mkdir()
        cfg.write_text(f'device = "{name}"\n' + (f'[share]\nfolder = "{share}"\n' if shared else ""))
        envs[name] = dict(base, TOKENTOP_CONFIG=str(cfg), TOKENTOP_DATA_DIR=str(tmp / name / "data"),
                          CLAUDE_CONFIG_DIR=str(corp / "claude"), CODEX_HOME=str(corp / "codex"), HOME=str(tmp))
    cli_sync(envs["peer"])  # the other device exports its history
    fake_segments(share, peer_segments)  # and a long-lived third device: a year of small segments
    for name in ("plain", "shared"):
        cli_sync(envs[name])  # cold (and for "shared": export + import)
        cli_sync(envs[name])
    for env in (envs["plain"], envs["shared"]):
        cli_sync(env)  # warm the page cache
    times = {"plain": [], "shared": []}
    for _ in range(runs):
        for name in ("plain", "shared"):
            times[name].append(cli_sync(envs[name]))
    code = ("import time\n"
            "from tokentui.config import load_settings\n"
            "from tokentui.services.devices import sync_share\n"
            "from tokentui.services.sync import open_store\n"
            "conn, s = open_store(), load_settings()\n"
            "sync_share(conn, s)\n"
            "ts = []\n"
            "for _ in range(20):\n"
            "    t = time.perf_counter(); sync_share(conn, s); ts.append(time.perf_counter() - t)\n"
            "print(sorted(ts)[10] * 1000)\n")
    out = subprocess.run([sys.executable, "-c", code], env=envs["shared"], capture_output=True, text=True, check=True)
    print(f"the share step alone (export + import, nothing new), in-process: median {float(out.stdout):.2f} ms")
    segs = sum(1 for _ in share.rglob("seg-*"))
    for name, label in (("plain", "no share folder"), ("shared", f"share folder, {segs} segments, nothing new")):
        ts = sorted(times[name])
        print(f"warm sync, {label}: median {statistics.median(ts) * 1000:.0f} ms "
              f"({ts[0] * 1000:.0f}-{ts[-1] * 1000:.0f}) over {runs} runs")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--mb", type=float, default=20)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--peer-segments", type=int, default=3000, help="small segments of a third device")
    ap.add_argument("--skip-import", action="store_true")
    ap.add_argument("--skip-warm", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        os.environ["TOKENTOP_DATA_DIR"] = str(tmp / "bench-data")
        if not args.skip_import:
            bench_import(tmp, args.records)
        if not args.skip_warm:
            bench_warm(tmp, args.mb, args.runs, args.peer_segments)


if __name__ == "__main__":
    main()
