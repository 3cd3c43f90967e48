"""Hostile provider servers cannot hold a poll hostage: every request has a total deadline and
a cap on its decoded size, every poll a deadline, Retry-After a cap (the source is deferred,
and its status says so), and what a poll fetched before it was cut short is kept when it is
exact without the rest. A 3xx is reported as a redirect and never followed with the key.

Each attack runs a real `tokentop sync` subprocess against the local provider server, with
the bounds patched small (module constants of tokentui.sources.api.http) so every test ends
in seconds; the child reports its peak memory."""

from __future__ import annotations

import functools
import json
import re
import sqlite3
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

from tests.api import fakes
from tests.api.server import ProviderServer, Reply
from tests.hardening.helpers import REPO, env_for

pytestmark = [pytest.mark.serial,  # deadlines in wall time
              pytest.mark.skipif(sys.platform != "linux", reason="peak memory is read from /proc")]

MESSAGES = "/v1/organizations/usage_report/messages"
COSTS = "/v1/organizations/cost_report"
CLAUDE_CODE = "/v1/organizations/usage_report/claude_code"
#: small bounds for the tests; the defaults are documented in the README
CAPS = {"REQUEST_DEADLINE": 1.5, "POLL_DEADLINE": 4.0, "MAX_BODY": 1 << 20, "MAX_RETRY_AFTER": 2.0}
LIMIT_S = 10.0  # a bounded sync ends well within this; an unbounded one runs far past it
RSS_LIMIT_MB = 250  # a sync needs well under 100 MB; a 1 GB body or bomb held in memory is far over

#: peak memory is this process image's VmHWM: getrusage's ru_maxrss survives exec, so it would
#: report the peak of the (forked) test process that started the child
CHILD = """
import json, sys
import tokentui.sources.api.http as http
for name, value in json.loads(sys.argv[1]).items():
    setattr(http, name, value)
from tokentui.cli import main
try:
    code = main(sys.argv[2:])
finally:
    with open("/proc/self/status") as fh:
        peak = next(line.split()[1] for line in fh if line.startswith("VmHWM:"))
    print("maxrss_kb", peak, file=sys.stderr, flush=True)
sys.exit(code)
"""


@pytest.fixture
def server():
    srv = fakes.install(ProviderServer()).start()
    srv._httpd.handle_error = lambda *a: None  # a client that stops reading resets the connection: expected
    yield srv
    srv.stop()


class Synced:
    def __init__(self, proc: subprocess.CompletedProcess | None, seconds: float, data_dir: Path) -> None:
        self.proc, self.seconds, self.data_dir = proc, seconds, data_dir
        out = proc.stderr if proc else ""
        found = re.search(r"maxrss_kb (\d+)", out)
        self.rss_mb = int(found.group(1)) / 1024 if found else None

    def status(self, source: str = "anthropic") -> tuple[str, str]:
        conn = sqlite3.connect(self.data_dir / "history.db")
        try:
            return conn.execute("SELECT status, message FROM source_status WHERE source = ?", (source,)).fetchone()
        finally:
            conn.close()

    def count(self, like: str, source: str = "anthropic") -> int:
        conn = sqlite3.connect(self.data_dir / "history.db")
        try:
            return conn.execute("SELECT COUNT(*) FROM ledger WHERE source = ? AND key LIKE ?",
                                (source, like)).fetchone()[0]
        finally:
            conn.close()

    def state(self, source: str = "anthropic") -> dict:
        conn = sqlite3.connect(self.data_dir / "history.db")
        try:
            return dict(conn.execute("SELECT name, value FROM sync_state WHERE source = ?", (source,)))
        finally:
            conn.close()


def sync(server, tmp_path, source: str = "anthropic", caps: dict | None = None) -> Synced:
    """`tokentop sync --source SOURCE` with the given bounds; fails the test if it runs past LIMIT_S."""
    data = tmp_path / "data"
    keys = {"anthropic": ("ANTHROPIC_ADMIN_KEY", fakes.ANTHROPIC_KEY), "openai": ("OPENAI_ADMIN_KEY", fakes.OPENAI_KEY),
            "openrouter": ("OPENROUTER_API_KEY", fakes.OPENROUTER_MGMT_KEY),
            "deepseek": ("DEEPSEEK_API_KEY", fakes.DEEPSEEK_KEY)}
    var, key = keys[source]
    env = env_for(**{var: key, f"TOKENTOP_{source.upper()}_BASE_URL": fakes.base_urls(server)[source],
                     "TOKENTOP_DATA_DIR": str(data)})
    t0 = time.monotonic()
    try:
        proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps(caps or CAPS), "sync", "--source", source],
                              env=env, cwd=str(REPO), capture_output=True, text=True, timeout=LIMIT_S * 2)
    except subprocess.TimeoutExpired:
        pytest.fail(f"sync still running after {LIMIT_S * 2:g} s: the poll is not bounded")
    run = Synced(proc, time.monotonic() - t0, data)
    assert "Traceback" not in proc.stderr and "unexpected" not in proc.stdout + proc.stderr, proc.stderr
    assert run.seconds < LIMIT_S, f"sync took {run.seconds:.1f} s"
    assert run.rss_mb is not None and run.rss_mb < RSS_LIMIT_MB, f"peak memory {run.rss_mb} MB"
    return run


def drip(total_s: float, every: float = 0.2):
    """A body that trickles in, one byte every ``every`` s (well within any read timeout), for
    ``total_s`` seconds."""
    def chunks():
        yield b'{"data": ['
        for _ in range(int(total_s / every)):
            time.sleep(every)
            yield b" "
        yield b'], "has_more": false}'
    return chunks


@functools.lru_cache(maxsize=None)
def bomb(encoding: str, mb: int = 1024) -> bytes:
    """``mb`` MB of zeros in about 1 MB of gzip or (zlib-wrapped) deflate, built in well under
    a second: 1 MB of zeros compressed with a full flush is a unit that repeats exactly."""
    block = bytes(1 << 20)
    c = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    unit = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    raw = unit * mb + c.flush()
    crc, adler = 0, 1
    for _ in range(mb):
        crc, adler = zlib.crc32(block, crc), zlib.adler32(block, adler)
    if encoding == "gzip":
        return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + raw + struct.pack("<II", crc, (mb << 20) & 0xFFFFFFFF)
    return b"\x78\xda" + raw + struct.pack(">I", adler)


def huge(total: int, chunk: int = 1 << 20):
    """A valid-looking JSON body of ``total`` bytes, generated as it is sent."""
    def chunks():
        yield b'{"data": ['
        sent = 10
        block = b"0," * (chunk // 2)
        while sent + len(block) < total - 3:
            yield block
            sent += len(block)
        yield b"0" * (total - 2 - sent) + b"]}"
    return chunks


# --- per request: total deadline ----------------------------------------------------------

def test_slow_drip_answer_ends_at_the_request_deadline(server, tmp_path) -> None:
    """Every byte arrives well within the read timeout, but the answer would take 120 s."""
    server.route(MESSAGES, Reply(200, chunks=drip(120)))
    run = sync(server, tmp_path)
    status, message = run.status()
    assert status == "error"
    assert ("did not finish answering within 1.5 s" in message or "ran out of time" in message), message
    assert run.proc.returncode == 1


def test_slow_headers_end_at_the_request_deadline(server, tmp_path) -> None:
    """The answer's status line itself is held back past the deadline (but not the read timeout)."""
    server.route(MESSAGES, Reply(200, {"data": []}, delay=30))
    run = sync(server, tmp_path, caps={**CAPS, "REQUEST_DEADLINE": 0.5})
    assert run.status()[0] == "error"


# --- per request: decoded-size cap --------------------------------------------------------

@pytest.mark.parametrize("status, encoding", [(200, "gzip"), (200, "deflate"), (500, "gzip"), (401, "gzip")],
                         ids=["gzip", "deflate", "gzip-5xx-error-body", "gzip-401-error-body"])
def test_compression_bomb_is_cut_at_the_size_cap(server, tmp_path, status, encoding) -> None:
    """1 GB of zeros in ~1 MB: never expanded in memory, in a usage answer or in an error body."""
    assert len(zlib.decompressobj(47).decompress(bomb(encoding)[:4096])) > 1 << 20  # a real, dense stream
    server.route(MESSAGES, Reply(status, bomb(encoding), headers={"Content-Encoding": encoding}))
    run = sync(server, tmp_path)
    status_, message = run.status()
    assert status_ == "error" and "more than 1 MB" in message, message


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_huge_body_is_cut_at_the_size_cap(server, tmp_path, declared) -> None:
    """A 1 GB answer, announced or not: read up to the cap, then dropped."""
    total = 1 << 30
    server.route(MESSAGES, Reply(200, chunks=huge(total), length=total if declared else None))
    run = sync(server, tmp_path)
    status, message = run.status()
    assert status == "error" and "more than 1 MB" in message, message


def test_default_size_cap_bounds_memory(server, tmp_path) -> None:
    """With the shipped defaults (only the deadlines shortened), a 1 GB body stays bounded too."""
    total = 1 << 30
    server.route(MESSAGES, Reply(200, chunks=huge(total)))
    run = sync(server, tmp_path, caps={"REQUEST_DEADLINE": 5.0, "POLL_DEADLINE": 8.0})
    status, message = run.status()
    assert status == "error" and "more than 32 MB" in message, message


# --- Retry-After: capped, deferred, said ----------------------------------------------------

@pytest.mark.parametrize("header", ["100", "http-date"])
def test_long_retry_after_defers_the_source_and_says_so(server, tmp_path, header) -> None:
    from datetime import datetime, timedelta, timezone
    from email.utils import format_datetime

    value = header if header != "http-date" else format_datetime(datetime.now(timezone.utc) + timedelta(seconds=100),
                                                                 usegmt=True)
    server.route(MESSAGES, Reply(429, {"error": {"message": "slow down"}}, retry_after=value))
    run = sync(server, tmp_path)
    status, message = run.status()
    import re

    wait = re.search(r"wait (\d+) s", message)
    # an HTTP date counts down while the sync starts: what is said is what was left of the 100 s
    assert status == "error" and "deferred to the next poll" in message and wait, message
    assert (90 if header == "http-date" else 100) <= int(wait.group(1)) <= 100, message
    assert len(server.hits(MESSAGES)) == 1  # no waiting, no retry in this poll
    assert "deferred" in run.proc.stdout


def test_retry_after_that_outlasts_the_poll_is_deferred(server, tmp_path) -> None:
    """Each wait is under the cap, but together they would run past the poll's deadline."""
    server.route(MESSAGES, Reply(429, {}, retry_after="1.9"))
    run = sync(server, tmp_path, caps={**CAPS, "POLL_DEADLINE": 3.0})
    status, message = run.status()
    assert status == "error" and "rate limiting" in message, message
    assert run.seconds < 3.0 + 2.5


# --- per poll: deadline; keep what was fetched ---------------------------------------------

def _kept_usage_and_costs(run: Synced) -> None:
    """Analytics cut short: usage and costs are kept, and, being complete, advance their window;
    the analytics keep their own progress, short of the day cut (issue 14 item 8)."""
    assert run.count("messages|%") > 0 and run.count("costs|%") > 0, "usage and cost records were thrown away"
    state = run.state()
    assert "last_ok_day" in state, "complete usage and costs must advance their window"
    assert state.get("claude_code_to", "") < state["last_ok_day"], "the analytics must not be marked fetched"


def test_endless_claude_code_pages_keep_the_rest_of_the_poll(server, tmp_path) -> None:
    counter = iter(range(10**6))
    record = fakes.fixture_json("anthropic_claude_code.json")["data"][0]
    server.route(CLAUDE_CODE, lambda req: Reply(200, {"data": [record], "has_more": True,
                                                      "next_page": f"cursor{next(counter)}"}))
    run = sync(server, tmp_path)
    status, message = run.status()
    _kept_usage_and_costs(run)
    assert run.count("claude_code|%") >= 1  # the analytics pages fetched are kept too
    assert status == "ok" and "Claude Code analytics stopped" in message and "more than 100 pages" in message, \
        message
    assert "the next poll fetches the days not fetched yet" in message


def test_poll_deadline_ends_a_slow_poll_and_keeps_the_rest(server, tmp_path) -> None:
    """Each Claude Code day answers within the request deadline, but 90 of them take 45 s."""
    server.route(CLAUDE_CODE, Reply(200, fakes.EMPTY_ANTHROPIC, delay=0.5))
    run = sync(server, tmp_path)
    status, message = run.status()
    _kept_usage_and_costs(run)
    assert status == "ok" and "Claude Code analytics stopped" in message and "ran out of time" in message, message
    assert run.seconds < CAPS["POLL_DEADLINE"] + 4


def test_a_complete_poll_after_a_cut_one_is_exact(server, tmp_path) -> None:
    """The kept records of a cut-short poll are the ones a complete poll writes: no double count."""
    server.route(CLAUDE_CODE, Reply(200, fakes.EMPTY_ANTHROPIC, delay=0.5))
    cut = sync(server, tmp_path)
    ref = tmp_path / "ref"
    ref.mkdir()
    fakes.install(server)
    full = sync(server, ref)
    assert cut.status()[0] == "ok" and "Claude Code analytics stopped" in cut.status()[1]
    assert full.status()[0] == "ok"
    again = sync(server, tmp_path)
    assert again.status()[0] == "ok"
    rows = "SELECT key, input, output, cost_pico, cost_label FROM ledger ORDER BY key"
    a, b = sqlite3.connect(tmp_path / "data" / "history.db"), sqlite3.connect(ref / "data" / "history.db")
    try:
        assert a.execute(rows).fetchall() == b.execute(rows).fetchall()
    finally:
        a.close()
        b.close()


def test_openrouter_balance_cut_short_keeps_the_activity(server, tmp_path) -> None:
    server.route("/api/v1/credits", Reply(429, {}, retry_after="100"))
    run = sync(server, tmp_path, source="openrouter")
    status, message = run.status("openrouter")
    assert run.count("activity|%", "openrouter") > 0
    assert status == "error" and "balance" in message and "deferred" in message, message


# --- redirects ------------------------------------------------------------------------------

@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_redirect_is_reported_and_never_followed(server, tmp_path, code) -> None:
    elsewhere = ProviderServer().start()
    try:
        target = f"{elsewhere.url}/collect?stolen={fakes.ANTHROPIC_KEY}"
        server.route(MESSAGES, Reply(code, {}, headers={"Location": target}))
        run = sync(server, tmp_path)
        status, message = run.status()
        assert status == "error" and f"redirected the request for v1/organizations/usage_report/messages " \
            f"(HTTP {code}) to {elsewhere.url}/collect" in message, message
        assert "never sent to another address" in message
        assert elsewhere.requests == [], "the key was forwarded across the redirect"
        assert fakes.ANTHROPIC_KEY[15:] not in message and fakes.ANTHROPIC_KEY[15:] not in run.proc.stdout
    finally:
        elsewhere.stop()


def test_redirect_without_location_and_relative(server, tmp_path) -> None:
    server.route(MESSAGES, Reply(302, {}))
    run = sync(server, tmp_path)
    assert "redirected the request" in run.status()[1] and "without saying where to" in run.status()[1]
    server.route(MESSAGES, Reply(301, {}, headers={"Location": "/v2/moved here?k=" + fakes.OPENAI_KEY}))
    run = sync(server, tmp_path)
    message = run.status()[1]
    assert f"to {server.url}/v2/moved%20here?k=…" in message, message
    assert fakes.OPENAI_KEY[9:] not in message  # another provider's key, by its shape
