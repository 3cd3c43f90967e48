"""The one HTTP client every provider uses: retries, Retry-After, paging, plain errors, bounds.

Fault policy (providers.md §0, §1.6, §2.5):

* ``429`` waits for ``Retry-After`` (seconds or an HTTP date) and tries again; a wait
  longer than :attr:`RetryPolicy.max_retry_after` (default :data:`MAX_RETRY_AFTER`), or
  past the poll's deadline, defers the source to the next poll at once instead of blocking.
* ``5xx``/``529``, timeouts and dropped connections retry with exponential backoff and
  jitter, a bounded number of times.
* A ``3xx`` is reported as a redirect, naming where to; it is never followed, so a key is
  never sent to another address.
* Any other status raises :class:`ApiError` at once; each provider turns it into plain words.
* A body that is not JSON, or not the expected shape, raises :class:`Malformed`: never
  retried (the same bytes would come back) and never half-used.

Bounds (module constants, read at each use): every request must end within
:data:`REQUEST_DEADLINE` seconds however slowly its answer drips in; no answer is read past
:data:`MAX_BODY` bytes after decompression (tokentop decompresses gzip/deflate itself, a
bounded piece at a time, so a compression bomb never expands in memory); and a client made
with a ``deadline`` (one poll) stops every request, retry and wait at that moment.

Delays go through :attr:`RetryPolicy.sleep` so tests run without waiting. The key never
appears in an error message: :meth:`ApiClient.scrub` replaces it with a short redacted tail.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, AsyncIterator, Awaitable, Callable, Sequence
from urllib.parse import quote

if "httpx" not in sys.modules:
    # httpx's package import pulls in its command-line tool (click, pygments, rich) whenever
    # rich is installed, which it is, for the TUI: ~40 ms at every start, and rich in the core
    # tier. Hiding ``httpx._main`` makes httpx skip it (its own ImportError fallback); the
    # entry is removed again at once so an explicit ``import httpx._main`` still works.
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    try:
        import httpx
    finally:
        if "httpx._main" in sys.modules and sys.modules["httpx._main"] is None:
            del sys.modules["httpx._main"]
else:
    import httpx

from tokentui.core.secrets import redact_secrets
from tokentui.credentials import redact
from tokentui.errors import SourceError

Params = Sequence[tuple[str, str]]

#: statuses worth retrying: the provider is overloaded or briefly broken
RETRY_STATUSES = frozenset({500, 502, 503, 504, 529})
MAX_PAGES = 100  # CodexBar's cap; a loop past it means the server misbehaves
REQUEST_DEADLINE = 60.0  # s: one request, from sending it to the last byte of the answer
POLL_DEADLINE = 180.0  # s: one poll of one source, every request, retry and wait included
MAX_BODY = 32 << 20  # bytes of one answer after decompression (a 90-day usage page is far smaller)
MAX_RETRY_AFTER = 30.0  # s: a longer Retry-After defers the source to the next poll


class ApiError(SourceError):
    """A provider call failed. ``kind`` says how, for the provider's explanation.

    kinds: auth (401), forbidden (403), not_found (404), bad_request (400), billing (402),
    http (other 4xx), redirect (3xx), rate_limited (also when deferred), server, timeout,
    deadline (the poll's time is up), too_large, network, malformed.
    """

    def __init__(self, message: str, *, kind: str, status: int | None = None, detail: str = "",
                 path: str = "", hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.kind, self.status, self.detail, self.path = kind, status, detail, path
        self.retry_after: float | None = None  # seconds a 429 asked to wait (Retry-After)


class Malformed(ApiError):
    """The provider answered, but not with the documented shape."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(message, kind="malformed", path=path)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. ``attempts`` counts every try of one request (1 = no retry).

    ``timeout`` bounds each network step (connect, each read); ``deadline`` a whole request
    (default :data:`REQUEST_DEADLINE`); ``max_retry_after`` the longest Retry-After waited
    for (default :data:`MAX_RETRY_AFTER`)."""

    attempts: int = 4
    base_delay: float = 1.0
    max_delay: float = 30.0
    max_retry_after: float | None = None
    timeout: float = 30.0
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, compare=False)
    jitter: Callable[[], float] = field(default=random.random, compare=False)
    deadline: float | None = None

    @property
    def retry_after_cap(self) -> float:
        return MAX_RETRY_AFTER if self.max_retry_after is None else self.max_retry_after

    @property
    def request_deadline(self) -> float:
        return REQUEST_DEADLINE if self.deadline is None else self.deadline

    def backoff(self, attempt: int) -> float:
        """Delay before retry ``attempt`` (0-based): exponential, "equal jitter" (½–1×)."""
        cap = min(self.max_delay, self.base_delay * (2 ** attempt))
        return cap * (0.5 + self.jitter() / 2)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: an integer/decimal, or an HTTP date. None if absent/invalid."""
    if not value:
        return None
    value = value.strip()
    try:
        secs = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        secs = (when - (now or datetime.now(timezone.utc))).total_seconds()
    return max(0.0, secs) if secs == secs else None  # NaN guard


def error_text(body: bytes) -> str:
    """The provider's own error message from a body in any of the known envelopes.

    OpenAI sometimes sends ``{"error": "text"}`` (a bare string), usually
    ``{"error": {"message": …}}``; Anthropic and OpenRouter nest the same way.
    """
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        text = body.decode("utf-8", "replace").strip()
        return " ".join(text.split())[:300]
    if isinstance(data, dict):
        err = data.get("error", data.get("message"))
        if isinstance(err, str):
            return err[:300]
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            return err["message"][:300]
    return ""


_KINDS = {400: "bad_request", 401: "auth", 402: "billing", 403: "forbidden", 404: "not_found"}
#: an error body's ``type``/``code`` (OpenAI, Anthropic) → the kind its HTTP status would have given
_ENVELOPE_KINDS = {"invalid_request_error": "bad_request", "authentication_error": "auth",
                   "invalid_api_key": "auth", "permission_error": "forbidden", "not_found_error": "not_found",
                   "rate_limit_error": "rate_limited", "rate_limit_exceeded": "rate_limited",
                   "insufficient_quota": "billing"}


async def _each(chunks: Any) -> AsyncIterator[bytes]:
    if isinstance(chunks, list):
        for chunk in chunks:
            yield chunk
    else:
        async for chunk in chunks:
            yield chunk


def _mb(n: int) -> str:
    return f"{n / (1 << 20):g} MB"


class _Decoder:
    """Content decoding with a bound: gzip and deflate expand at most ``room`` bytes per call,
    however much one compressed chunk would expand to."""

    def __init__(self, encoding: str) -> None:
        self.name = encoding
        self._z: Any = None
        self._first = True
        if encoding in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._z = zlib.decompressobj(zlib.MAX_WBITS)  # zlib-wrapped; raw deflate on its first error
        elif encoding not in ("", "identity"):
            raise ValueError(encoding)

    def feed(self, data: bytes, room: int) -> bytes | None:
        """Up to ``room`` decoded bytes of ``data``; None when the decoded data would exceed it."""
        if self._z is None:
            return data if len(data) <= room else None
        try:
            out = self._z.decompress(data, room + 1)
        except zlib.error:
            if not (self.name == "deflate" and self._first):
                raise
            self._z = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self._z.decompress(data, room + 1)
        self._first = False
        while self._z.unconsumed_tail and len(out) <= room:
            out += self._z.decompress(self._z.unconsumed_tail, room + 1 - len(out))
        return None if len(out) > room else out


class ApiClient:
    """An ``httpx.AsyncClient`` for one provider and key. Use as an async context manager.

    ``deadline`` (a :func:`time.monotonic` value) ends the whole poll: no request, retry or
    wait runs past it."""

    def __init__(self, label: str, base_url: str, headers: dict[str, str], *, secret: str,
                 retry: RetryPolicy | None = None, transport: httpx.AsyncBaseTransport | None = None,
                 deadline: float | None = None) -> None:
        self.label = label
        self.base_url = base_url
        self.retry = retry or RetryPolicy()
        self.deadline = deadline
        self._secret = secret
        self.requests = 0  # HTTP requests sent (retries included)
        self.notes: list[str] = []  # plain-language remarks gathered while fetching
        self._client = httpx.AsyncClient(base_url=base_url, headers={**headers, "Accept-Encoding": "gzip, deflate"},
                                         transport=transport, timeout=httpx.Timeout(self.retry.timeout),
                                         follow_redirects=False)

    async def __aenter__(self) -> "ApiClient":
        await self._client.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self._client.__aexit__(*exc)

    def scrub(self, text: str) -> str:
        """``text`` with the key (if it appears) replaced by its redacted tail."""
        if self._secret and self._secret in text:
            text = text.replace(self._secret, redact(self._secret))
        return text

    def _left(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    async def pace(self, seconds: float) -> None:
        """Wait ``seconds`` between calls of a burst (never past the poll's deadline)."""
        left = self._left()
        wait = seconds if left is None else min(seconds, max(0.0, left))
        if wait > 0:
            await self.retry.sleep(wait)

    def _out_of_time(self, path: str, last: ApiError | None = None) -> ApiError:
        why = f" (last answer: {last.message})" if last is not None else ""
        return ApiError(f"{self.label}: the poll ran out of time before {path} was fetched{why}", kind="deadline",
                        path=path, hint="the next poll tries again")

    async def _wait(self, seconds: float, path: str, last: ApiError) -> None:
        """Sleep before a retry, unless the poll would end first: then give up at once."""
        left = self._left()
        if left is not None and seconds >= left:
            raise self._out_of_time(path, last)
        await self.retry.sleep(seconds)

    async def get_json(self, path: str, params: Params = ()) -> Any:
        """GET ``path`` and decode JSON, retrying transient faults per :attr:`retry`."""
        policy = self.retry
        last: ApiError | None = None
        for attempt in range(max(1, policy.attempts)):
            if attempt and last is not None and last.kind != "rate_limited":
                await self._wait(policy.backoff(attempt - 1), path, last)
            left = self._left()
            if left is not None and left <= 0:
                raise self._out_of_time(path, last)
            self.requests += 1
            limit = policy.request_deadline if left is None else min(policy.request_deadline, left)
            tries = f"tried {attempt + 1} time{'s' if attempt else ''}"
            try:
                async with asyncio.timeout(limit):
                    async with self._client.stream("GET", path, params=list(params)) as resp:
                        body = await self._read(resp, path)
            except TimeoutError:
                if limit < policy.request_deadline:
                    raise self._out_of_time(path, last) from None
                last = ApiError(f"{self.label} did not finish answering within {limit:g} s ({tries})",
                                kind="timeout", path=path,
                                hint="the provider, or something between, is too slow; the next poll tries again")
                continue
            except httpx.TimeoutException:
                last = ApiError(f"{self.label} did not answer within {policy.timeout:g} s ({tries})",
                                kind="timeout", path=path,
                                hint="the provider may be slow right now; the next poll tries again")
                continue
            except httpx.TransportError as exc:
                last = ApiError(f"cannot reach {self.label} at {self.base_url}: "
                                f"{self.scrub(type(exc).__name__)}", kind="network", path=path,
                                hint="check the network, a proxy, or the base URL")
                continue
            status = resp.status_code
            if 300 <= status < 400:
                raise self._redirect(resp, path)
            if status == 429:
                wait = retry_after_seconds(resp.headers.get("retry-after"))
                last = ApiError(f"{self.label} is rate limiting tokentop (HTTP 429)", kind="rate_limited",
                                status=status, path=path, detail=self.scrub(error_text(body)),
                                hint="the next poll tries again")
                last.retry_after = wait
                left = self._left()
                if wait is not None and (wait > policy.retry_after_cap or (left is not None and wait >= left)):
                    why = (f"longer than tokentop waits within a poll ({policy.retry_after_cap:g} s)"
                           if wait > policy.retry_after_cap else f"longer than this poll has left ({max(0, left):.0f} s)")
                    last.message = f"{last.message}; it asks to wait {wait:.0f} s, {why}: deferred to the next poll"
                    last.hint = None
                    raise last
                if attempt + 1 < policy.attempts:
                    await self._wait(wait if wait is not None else policy.backoff(attempt), path, last)
                continue
            if status in RETRY_STATUSES:
                last = ApiError(f"{self.label} had a server error (HTTP {status}, {tries})", kind="server",
                                status=status, path=path, detail=self.scrub(error_text(body)),
                                hint="usually temporary; the next poll tries again")
                continue
            if status >= 400 or status < 200:
                detail = self.scrub(error_text(body))
                raise ApiError(f"{self.label} refused the request (HTTP {status})"
                               + (f": {detail}" if detail else ""),
                               kind=_KINDS.get(status, "http"), status=status, detail=detail, path=path)
            data = self._decode(body, path)
            if isinstance(data, dict) and data.get("error") not in (None, "", {}):
                raise self._error_envelope(data, status, path)
            return data
        assert last is not None
        raise last

    async def _read(self, resp: httpx.Response, path: str) -> bytes:
        """The decoded body, at most :data:`MAX_BODY` bytes; stops reading past that."""
        cap = MAX_BODY
        encoding = resp.headers.get("content-encoding", "").strip().lower()
        try:
            decoder = _Decoder(encoding)
        except ValueError:
            raise Malformed(f"{self.label} sent a body in an encoding tokentop did not ask for "
                            f"({encoding[:40]!r}) from {path}", path) from None
        try:
            declared = int(resp.headers.get("content-length", ""))
        except ValueError:
            declared = None
        too_big = ApiError(f"{self.label} sent more than {_mb(cap)} for {path}; tokentop stopped reading it",
                           kind="too_large", status=resp.status_code, path=path,
                           hint="a usage answer is far smaller: a gateway or proxy may be misbehaving; "
                                "the next poll tries again")
        if decoder.name in ("", "identity") and declared is not None and declared > cap:
            raise too_big
        parts: list[bytes] = []
        size = 0
        try:
            try:
                chunks: Any = [resp.content]  # already in memory (a mock transport's answer)
            except httpx.ResponseNotRead:
                chunks = resp.aiter_raw()
            async for raw in _each(chunks):
                data = decoder.feed(raw, cap - size)
                if data is None:
                    raise too_big
                size += len(data)
                parts.append(data)
        except zlib.error:
            raise Malformed(f"{self.label} sent a {encoding} body that does not decompress, from {path}",
                            path) from None
        return b"".join(parts)

    def _redirect(self, resp: httpx.Response, path: str) -> ApiError:
        """A 3xx as what it is: where the provider (or a proxy) points, never followed."""
        location = resp.headers.get("location", "").strip()
        try:
            target = str(resp.url.join(location)) if location else ""
        except (httpx.InvalidURL, ValueError, TypeError):
            target = location
        # quoted first (control characters and spaces become %XX), then the keys redacted
        target = redact_secrets(quote(target, safe="/:?#[]@!$&'()*+,;=%~-._"), (self._secret,))
        if len(target) > 200:
            target = target[:200] + "…"
        where = f"to {target}" if target else "without saying where to"
        return ApiError(f"{self.label} redirected the request for {path} (HTTP {resp.status_code}) {where}; "
                        "tokentop does not follow redirects, so the key is never sent to another address",
                        kind="redirect", status=resp.status_code, path=path,
                        hint="if the API moved, set this source's base URL to the new address "
                             "(TOKENTOP_<SOURCE>_BASE_URL or [sources.<source>] base_url)")

    def _error_envelope(self, data: dict, status: int, path: str) -> ApiError:
        """A success status carrying an error body (``{"error": …}``): an error, never data."""
        err = data.get("error")
        etype = err.get("type") or err.get("code") if isinstance(err, dict) else None
        detail = self.scrub(error_text(json.dumps(data).encode()))
        kind = _ENVELOPE_KINDS.get(etype if isinstance(etype, str) else "", "http")
        return ApiError(f"{self.label} answered HTTP {status} with an error instead of data for {path}"
                        + (f": {detail}" if detail else ""), kind=kind, status=status, detail=detail, path=path,
                        hint="the next poll tries again")

    def _decode(self, body: bytes | httpx.Response, path: str) -> Any:
        content = body.content if isinstance(body, httpx.Response) else body
        try:
            return json.loads(content)
        except RecursionError:
            raise Malformed(f"{self.label} sent JSON nested too deeply to read from {path}", path) from None
        except ValueError as exc:
            size = len(content)
            where = f"{exc.msg} at byte {exc.pos}" if isinstance(exc, json.JSONDecodeError) else str(exc)[:80]
            raise Malformed(f"{self.label} sent a body that is not valid JSON ({size} bytes, "
                            f"{where}; truncated or corrupted?) from {path}", path) from None

    async def pages(self, path: str, params: Params, *, max_pages: int = MAX_PAGES) -> AsyncIterator[dict]:
        """Yield each page of a ``has_more``/``next_page`` listing (OpenAI and Anthropic).

        Resends the same query plus ``page=<cursor>``; stops when ``has_more`` is not true or
        the cursor is empty. A cursor seen before ends the listing with a note (the server
        would loop); more than ``max_pages`` pages is an error, since the data would be
        incomplete.
        """
        cursor: str | None = None
        seen: set[str] = set()
        for _ in range(max_pages):
            query = list(params) + ([("page", cursor)] if cursor else [])
            body = await self.get_json(path, query)
            if not isinstance(body, dict):
                raise Malformed(f"{self.label} sent {type(body).__name__} where a page object was expected "
                                f"from {path}", path)
            if not isinstance(body.get("data"), list):
                got = "none" if body.get("data") is None else type(body.get("data")).__name__
                raise Malformed(f"{self.label} sent a page from {path} that is not the documented shape: expected "
                                f"a data list, got {got}", path)
            yield body
            nxt = body.get("next_page")
            if body.get("has_more") is not True or not isinstance(nxt, str) or not nxt:
                return
            if nxt in seen:
                self.notes.append(f"{path}: the server repeated a page cursor; stopped paging there")
                return
            seen.add(nxt)
            cursor = nxt
        raise ApiError(f"{self.label} returned more than {max_pages} pages for {path}; stopped so as not "
                       "to loop forever", kind="malformed", path=path)
