"""The shared HTTP client against a real local server: retries, Retry-After, timeouts,
malformed bodies, paging guards, error envelopes, and the key kept out of messages."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from tests.api.server import Reply, file_reply, fixture
from tokentui.sources.api.http import ApiClient, ApiError, Malformed, RetryPolicy, error_text, retry_after_seconds

OK = {"object": "page", "data": [], "has_more": False, "next_page": None}
SECRET = "sk-admin-SECRETvalue0123456789abcdefghijklmnop"


def call(server, policy, path="/x", params=(), secret=SECRET):
    async def go():
        async with ApiClient("Test", server.url, {"Authorization": f"Bearer {secret}"}, secret=secret,
                             retry=policy) as c:
            return await c.get_json(path, params), c.requests
    return asyncio.run(go())


def pages(server, policy, path="/p", max_pages=100):
    async def go():
        async with ApiClient("Test", server.url, {}, secret=SECRET, retry=policy) as c:
            out = [p async for p in c.pages(path, [("limit", "31")], max_pages=max_pages)]
            return out, c.notes
    return asyncio.run(go())


def test_429_waits_for_retry_after_then_succeeds(server, fast, sleeps):
    server.route("/x", [file_reply("openai_error_rate_limit_429.json", 429, retry_after="7"), Reply(200, OK)])
    body, n = call(server, fast)
    assert body == OK and n == 2
    assert sleeps == [7.0]


def test_429_retry_after_as_http_date(server, fast, sleeps):
    when = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=30), usegmt=True)
    server.route("/x", [Reply(429, {}, retry_after=when), Reply(200, OK)])
    call(server, fast)
    assert len(sleeps) == 1 and 25 <= sleeps[0] <= 31


def test_429_longer_than_allowed_fails_at_once(server, fast, sleeps):
    server.route("/x", Reply(429, fixture("openai_error_rate_limit_429.json"), retry_after="3600"))
    with pytest.raises(ApiError) as err:
        call(server, fast)
    assert err.value.kind == "rate_limited"
    assert "3600 s" in err.value.message and "rate limiting" in err.value.message
    assert len(server.hits("/x")) == 1 and sleeps == []


def test_429_without_header_backs_off_and_gives_up(server, fast, sleeps):
    server.route("/x", Reply(429, {}))
    with pytest.raises(ApiError) as err:
        call(server, fast)
    assert err.value.kind == "rate_limited"
    assert len(server.hits("/x")) == 3
    assert sleeps == [1.0, 2.0]  # exponential; jitter pinned to the top of its range


def test_5xx_retries_with_exponential_backoff(server, fast, sleeps):
    server.route("/x", [Reply(500, "oops"), Reply(503, {}), Reply(200, OK)])
    body, n = call(server, fast)
    assert body == OK and n == 3
    assert sleeps == [1.0, 2.0]


def test_5xx_gives_up_with_plain_message(server, fast):
    server.route("/x", Reply(502, "<html>bad gateway</html>"))
    with pytest.raises(ApiError) as err:
        call(server, fast)
    assert err.value.kind == "server" and "HTTP 502" in err.value.message and "3 times" in err.value.message


def test_jitter_spreads_backoff():
    p = RetryPolicy(base_delay=2, max_delay=10, jitter=lambda: 0.0)
    assert [p.backoff(i) for i in range(4)] == [1.0, 2.0, 4.0, 5.0]  # half of 2,4,8,10(capped)


def test_slow_response_times_out_then_retry_succeeds(server, fast):
    server.route("/x", [Reply(200, OK, delay=1.5), Reply(200, OK)])
    t0 = time.monotonic()
    body, n = call(server, fast)
    assert body == OK and n == 2
    assert time.monotonic() - t0 < 1.4  # did not wait for the slow answer


def test_timeouts_exhausted(server, sleeps):
    async def sleep(s):
        sleeps.append(s)
    policy = RetryPolicy(attempts=2, timeout=0.2, sleep=sleep, jitter=lambda: 1.0)
    server.route("/x", Reply(200, OK, delay=1.0))
    with pytest.raises(ApiError) as err:
        call(server, policy)
    assert err.value.kind == "timeout" and "within 0.2 s" in err.value.message
    assert sleeps == [1.0]


def test_truncated_json_is_malformed_and_not_retried(server, fast):
    data = fixture("openai_usage_completions_page1.json")
    server.route("/x", Reply(200, data[: len(data) // 2]))
    with pytest.raises(Malformed) as err:
        call(server, fast)
    assert "not valid JSON" in err.value.message and "truncated" in err.value.message
    assert len(server.hits("/x")) == 1


def test_connection_dropped_mid_body_is_retried(server, fast):
    server.route("/x", [Reply(200, b'{"object": "pa', short_by=500), Reply(200, OK)])
    body, n = call(server, fast)
    assert body == OK and n == 2


def test_paging_follows_next_page_and_resends_query(server, fast):
    def handler(req):
        page = req.q("page")
        nxt = {None: "c1", "c1": "c2", "c2": None}[page]
        return Reply(200, {"data": [page], "has_more": nxt is not None, "next_page": nxt})
    server.route("/p", handler)
    out, notes = pages(server, fast)
    assert [p["data"] for p in out] == [[None], ["c1"], ["c2"]]
    assert all(r.q("limit") == "31" for r in server.hits("/p")) and notes == []


def test_repeated_cursor_stops_paging(server, fast):
    server.route("/p", Reply(200, {"data": [], "has_more": True, "next_page": "same"}))
    out, notes = pages(server, fast)
    assert len(out) == 2 and "repeated a page cursor" in notes[0]


def test_page_cap(server, fast):
    counter = iter(range(1000))
    server.route("/p", lambda req: Reply(200, {"data": [], "has_more": True, "next_page": f"c{next(counter)}"}))
    with pytest.raises(ApiError) as err:
        pages(server, fast, max_pages=5)
    assert "more than 5 pages" in err.value.message
    assert len(server.hits("/p")) == 5


def test_has_more_without_cursor_stops(server, fast):
    server.route("/p", Reply(200, {"data": [], "has_more": True, "next_page": ""}))
    out, _ = pages(server, fast)
    assert len(out) == 1


def test_error_envelopes():
    assert error_text(fixture("openai_error_missing_scope_403_bare_string.json")).startswith("You have insufficient")
    assert "Missing scopes" in error_text(fixture("openai_error_missing_scope_401_envelope.json"))
    assert error_text(fixture("anthropic_error_401_authentication.json")) == "invalid x-api-key"
    assert error_text(fixture("openrouter_error_401.json")) == "Missing Authentication header"
    assert error_text(b"<html>\n  Bad   gateway</html>") == "<html> Bad gateway</html>"


def test_key_never_in_error_message(server, fast):
    server.route("/x", Reply(400, {"error": {"message": f"bad key {SECRET} here"}}))
    with pytest.raises(ApiError) as err:
        call(server, fast)
    assert SECRET not in str(err.value) and SECRET not in err.value.detail
    assert "…" in err.value.detail


def test_retry_after_parsing():
    now = datetime(2025, 9, 8, tzinfo=timezone.utc)
    assert retry_after_seconds("12") == 12.0
    assert retry_after_seconds("0.5") == 0.5
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90.0
    assert retry_after_seconds(format_datetime(now - timedelta(seconds=90), usegmt=True), now) == 0.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


@pytest.mark.parametrize("encoding", ["gzip", "x-gzip", "deflate", "deflate-raw", "identity"])
@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "in-small-chunks"])
def test_compressed_answers_decode(server, fast, encoding, streamed):
    """tokentop decodes gzip/deflate itself (bounded); ordinary compressed answers read as before."""
    import json
    import zlib

    body = json.dumps({"data": [{"n": i, "model": "gpt-4o"} for i in range(5000)], "has_more": False}).encode()
    wbits = {"gzip": 31, "x-gzip": 31, "deflate": 15, "deflate-raw": -15}.get(encoding)
    data = body
    if wbits is not None:
        c = zlib.compressobj(6, zlib.DEFLATED, wbits)
        data = c.compress(body) + c.flush()
    headers = {"Content-Encoding": encoding.replace("-raw", "")}
    if streamed:
        server.route("/x", Reply(200, headers=headers, chunks=lambda: (data[i:i + 333] for i in range(0, len(data), 333))))
    else:
        server.route("/x", Reply(200, data, headers=headers))
    got, n = call(server, fast)
    assert got == json.loads(body) and n == 1
    assert server.hits("/x")[0].headers["accept-encoding"] == "gzip, deflate"


def test_unasked_encoding_and_corrupt_gzip_are_malformed(server, fast):
    server.route("/x", Reply(200, b"\x00" * 100, headers={"Content-Encoding": "br"}))
    with pytest.raises(Malformed, match="did not ask for"):
        call(server, fast)
    server.route("/x", Reply(200, b"\x1f\x8b\x08\x00garbage-not-gzip", headers={"Content-Encoding": "gzip"}))
    with pytest.raises(Malformed, match="does not decompress"):
        call(server, fast)
