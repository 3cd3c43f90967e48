#!/usr/bin/env python3
"""Cold sync side by side with ccusage's native binary: same corpus, same run, A B A B.

    python bench/bench_vs_ccusage.py --corpus /path/to/corpus      # DIR/claude, DIR/codex, DIR/truth.json
    python bench/bench_vs_ccusage.py --mb 200                        # generates one (gen_agent_logs.py)

A is a cold ``tokentop sync -q`` (parse, dedupe, price, store into an empty history), B is
``ccusage daily --json --offline`` (parse, dedupe, price, print) on the same logs, run as
new processes in turn, A B A B…, so drift on a shared machine hits both alike. Printed: per
tool the median wall time, spread (min–max), CPU (user + system) and peak RSS (the largest
single process, as ``/usr/bin/time`` reports it; tokentop's parse workers are forked and
share pages with it), the ratio of the medians and the median of the per-round ratios.
Both answers are checked against the corpus's truth.json, so a fast wrong answer cannot pass.

ccusage is pinned to CCUSAGE_VERSION, and its native binary (``@ccusage/ccusage-<os>-<cpu>``)
is run directly, without its Node launcher. It is found with ``--ccusage`` (the native
binary, or an npm prefix holding ``node_modules``), in the cache folder, or next to a
``ccusage`` on PATH; else, when npm is present, installed into the cache folder
(``--cache``, default ``~/.cache/tokentop-bench``). Without npm only tokentop's figures
are printed. Both tools get the same empty ``HOME``, so neither reads anything else.

``--parts`` adds a third command to each round, C: the same cold sync with the ledger's row
writes and pricing left out (everything else as in A: discovery, the parse workers, the
dedupe, the cursors). Its ratio to B says how far parsing alone is from ccusage's whole run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_ingest import check_truth, tokentop_cmd

#: 20.0.26 ships no linux-x64 native package; 20.0.24 does, for every OS this bench runs on
CCUSAGE_VERSION = "20.0.24"
NPM_TIMEOUT = 300  # seconds an install may take
RUN_TIMEOUT = 600  # seconds one measured run may take


def native_package() -> str | None:
    """The npm package holding ccusage's native binary for this machine, or None."""
    system = {"Linux": "linux", "Darwin": "darwin", "Windows": "win32"}.get(platform.system())
    machine = platform.machine().lower()
    cpu = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(machine)
    return f"@ccusage/ccusage-{system}-{cpu}" if system and cpu else None


def native_in(prefix: Path, version: str = CCUSAGE_VERSION) -> Path | None:
    """The pinned native binary under npm prefix ``prefix`` (``prefix/node_modules/...``), or None."""
    pkg = native_package()
    if pkg is None:
        return None
    root = prefix / "node_modules" / pkg
    try:
        if json.loads((root / "package.json").read_text()).get("version") != version:
            return None
    except (OSError, ValueError):
        return None
    for name in ("ccusage", "ccusage.exe"):
        exe = root / "bin" / name
        if exe.is_file():
            if not os.access(exe, os.X_OK):  # npm leaves the mode to ccusage's launcher, which sets it on first run
                try:
                    exe.chmod(exe.stat().st_mode | 0o111)
                except OSError:
                    return None
            return exe
    return None


def find_ccusage(given: Path | None, cache: Path, install: bool = True) -> tuple[Path | None, str]:
    """The pinned ccusage native binary and how it was found (or why there is none)."""
    if given is not None:
        if given.is_file():
            return given, "given"
        found = native_in(given)
        return (found, "given") if found else (None, f"no ccusage {CCUSAGE_VERSION} native binary under {given}")
    found = native_in(cache)
    if found:
        return found, f"cache {cache}"
    on_path = shutil.which("ccusage")
    if on_path:  # .../node_modules/.bin/ccusage -> .../node_modules/ccusage/src/cli.js
        real = Path(os.path.realpath(on_path))
        for parent in real.parents:
            if parent.name == "node_modules":
                found = native_in(parent.parent)
                if found:
                    return found, f"next to {on_path}"
                break
    npm = shutil.which("npm")
    if npm is None:
        return None, "npm not found: tokentop's figures alone"
    if not install:
        return None, "not installed"
    pkg = native_package()
    if pkg is None:
        return None, f"no ccusage native package for {platform.system()} {platform.machine()}"
    cache.mkdir(parents=True, exist_ok=True)
    print(f"installing ccusage {CCUSAGE_VERSION} into {cache} …", file=sys.stderr)
    try:
        subprocess.run([npm, "install", "--prefix", str(cache), "--no-save", "--no-audit", "--no-fund",
                        f"ccusage@{CCUSAGE_VERSION}", f"{pkg}@{CCUSAGE_VERSION}"],
                       check=True, timeout=NPM_TIMEOUT, stdout=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"npm install failed ({exc}): tokentop's figures alone"
    found = native_in(cache)
    return (found, f"installed into {cache}") if found else (None, "npm installed no native binary")


#: C of ``--parts``: ``tokentop sync -q`` with ``ledger.upsert_rows`` and ``ledger.price_rows``
#: replaced by no-ops in the main process (the writer's work); the parse workers are untouched
WITHOUT_STORE = """
import sys
from tokentui.store import ledger
ledger.upsert_rows = lambda conn, rows, device: None
ledger.price_rows = lambda rows, price: rows
from tokentui.cli.main import main
sys.exit(main(["sync", "-q"]))
"""


def timed(cmd: list[str], env: dict, stdout=subprocess.DEVNULL) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MB) of ``cmd`` run to its end as a new process."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=stdout)
    if hasattr(os, "wait4"):
        _pid, status, ru = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        cpu, rss = ru.ru_utime + ru.ru_stime, ru.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
    else:  # Windows: wall time only
        proc.wait(RUN_TIMEOUT)
        wall, cpu, rss = time.perf_counter() - t, float("nan"), float("nan")
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[0]} exited {proc.returncode}")
    return wall, cpu, rss


def ccusage_check(corpus: Path, out: Path) -> str:
    """ccusage's totals against truth.json: the same tokens tokentop must store."""
    truth = json.loads((corpus / "truth.json").read_text())["totals"]
    try:
        got = json.loads(out.read_text())["totals"]
    except (OSError, ValueError, KeyError) as exc:
        return f"no totals in its output ({exc})"
    t = lambda k: truth.get(k, 0)
    want = {"inputTokens": t("claude.input") + t("codex.input") - t("codex.cached_input"),
            "outputTokens": t("claude.output") + t("codex.output"),
            "cacheCreationTokens": t("claude.cache_write"),
            "cacheReadTokens": t("claude.cache_read") + t("codex.cached_input")}
    bad = {k: (got.get(k), v) for k, v in want.items() if got.get(k) != v}
    return "exact" if not bad else f"MISMATCH (got, want): {bad}"


def summary(name: str, runs: list[tuple[float, float, float]]) -> str:
    walls = [r[0] for r in runs]
    return (f"{name:9} wall {statistics.median(walls):6.3f} s median ({min(walls):.3f}–{max(walls):.3f}), "
            f"CPU {statistics.median(r[1] for r in runs):6.3f} s, peak RSS {max(r[2] for r in runs):5.0f} MB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, help="DIR with claude/, codex/ and truth.json (gen_agent_logs.py)")
    ap.add_argument("--mb", type=float, default=200, help="size of the corpus to generate without --corpus")
    ap.add_argument("--runs", type=int, default=5, help="rounds of A B (default 5)")
    ap.add_argument("--ccusage", type=Path, help="ccusage's native binary, or an npm prefix holding it")
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "tokentop-bench",
                    help="where ccusage is installed when npm is present (default ~/.cache/tokentop-bench)")
    ap.add_argument("--no-install", action="store_true", help="never run npm")
    ap.add_argument("--parts", action="store_true",
                    help="also time C, a cold sync without its ledger writes and pricing (parsing alone)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tokentop-vs-ccusage-"))
    try:
        corpus = args.corpus
        if corpus is None:
            corpus = work / "corpus"
            subprocess.run([sys.executable, str(HERE / "gen_agent_logs.py"), str(corpus), "--mb", str(args.mb),
                            "--days", "120", "--seed", "7"], check=True)
        files = sorted(corpus.rglob("*.jsonl"))
        size = sum(p.stat().st_size for p in files)
        ccu, how = find_ccusage(args.ccusage, args.cache, install=not args.no_install)
        home = work / "home"
        home.mkdir()
        base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        base.update(HOME=str(home), USERPROFILE=str(home), CLAUDE_CONFIG_DIR=str(corpus / "claude"),
                    CODEX_HOME=str(corpus / "codex"), TOKENTOP_CONFIG=str(work / "config.toml"))
        for k in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "GEMINI_DATA_DIR", "OPENCODE_DATA_DIR", "AMP_DATA_DIR",
                  "COPILOT_HOME", "QWEN_DATA_DIR", "OPENCLAW_STATE_DIR"):
            base.pop(k, None)

        def tokentop_env(n: int) -> dict:
            env = dict(base, TOKENTOP_DATA_DIR=str(work / f"data{n}"))
            # tokentop has run here before (it knows the keyring holds no key): the history is empty
            subprocess.run([*tokentop_cmd(), "keys", "list"], env=env, check=True, capture_output=True)
            return env

        a_cmd = [*tokentop_cmd(), "sync", "-q"]
        b_cmd = [str(ccu), "daily", "--json", "--offline"] if ccu else None
        b_out = work / "ccusage.json"
        # warm-up, not counted: the page cache holds the corpus, bytecode is cached
        timed(a_cmd, tokentop_env(-1))
        if b_cmd:
            with open(b_out, "wb") as fh:
                timed(b_cmd, base, fh)
        c_cmd = [sys.executable, "-c", WITHOUT_STORE] if args.parts else None
        a_runs, b_runs, c_runs = [], [], []
        for n in range(args.runs):
            a_runs.append(timed(a_cmd, tokentop_env(n)))
            if c_cmd:
                c_runs.append(timed(c_cmd, tokentop_env(args.runs + n)))
            if b_cmd:
                with open(b_out, "wb") as fh:
                    b_runs.append(timed(b_cmd, base, fh))
        print(f"corpus    {size / 1e6:.1f} MB in {len(files)} files; {args.runs} rounds A B; "
              f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg")
              else f"corpus    {size / 1e6:.1f} MB in {len(files)} files; {args.runs} rounds A B")
        print(summary("tokentop", a_runs) + f"  sync -q, totals {check_truth(corpus, work / 'data0')}")
        if c_runs:
            print(summary("parsing", c_runs) + "  the same sync without ledger writes and pricing (C)")
        if not b_cmd:
            print(f"ccusage   not run: {how}")
            return
        print(summary("ccusage", b_runs) + f"  {CCUSAGE_VERSION} native ({how}), totals {ccusage_check(corpus, b_out)}")
        ratio = statistics.median(r[0] for r in a_runs) / statistics.median(r[0] for r in b_runs)
        per_round = sorted(a[0] / b[0] for a, b in zip(a_runs, b_runs))
        print(f"ratio     tokentop / ccusage wall = {ratio:.2f}x (medians); per round median "
              f"{statistics.median(per_round):.2f}x ({per_round[0]:.2f}–{per_round[-1]:.2f})")
        # CPU time drifts less than wall time on a shared machine, and on few cores it is what decides
        cpu = statistics.median(r[1] for r in a_runs) / statistics.median(r[1] for r in b_runs)
        print(f"ratio     tokentop / ccusage CPU  = {cpu:.2f}x (medians)")
        if c_runs:
            part = statistics.median(r[0] for r in c_runs) / statistics.median(r[0] for r in b_runs)
            print(f"ratio     parsing alone (C) / ccusage wall = {part:.2f}x (medians)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
