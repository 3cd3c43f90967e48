"""The one HTTP client every provider uses: retries, Retry-After, paging, plain errors.

Fault policy (providers.md §0, §1.6, §2.5):

* ``429`` waits for ``Retry-After`` (seconds or an HTTP date) and tries again; a wait
  longer than :attr:`RetryPolicy.max_retry_after` fails the poll at once instead of
  blocking it (the next poll tries again).
* ``5xx``/``529``, timeouts and dropped connections retry with exponential backoff and
  jitter, a bounded number of times.
* Any other status raises :class:`ApiError` at once; each provider turns it into plain words.
* A body that is not JSON, or not the expected shape, raises :class:`Malformed`: never
  retried (the same bytes would come back) and never half-used.

Delays go through :attr:`RetryPolicy.sleep` so tests run without waiting. The key never
appears in an error message: :meth:`ApiClient.scrub` replaces it with a short redacted tail.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, AsyncIterator, Awaitable, Callable, Sequence

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

from tokentui.credentials import redact
from tokentui.errors import SourceError

Params = Sequence[tuple[str, str]]

#: statuses worth retrying: the provider is overloaded or briefly broken
RETRY_STATUSES = frozenset({500, 502, 503, 504, 529})
MAX_PAGES = 100  # CodexBar's cap; a loop past it means the server misbehaves


class ApiError(SourceError):
    """A provider call failed. ``kind`` says how, for the provider's explanation.

    kinds: auth (401), forbidden (403), not_found (404), bad_request (400), billing (402),
    http (other 4xx), rate_limited, server, timeout, network, malformed.
    """

    def __init__(self, message: str, *, kind: str, status: int | None = None, detail: str = "",
                 path: str = "", hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.kind, self.status, self.detail, self.path = kind, status, detail, path


class Malformed(ApiError):
    """The provider answered, but not with the documented shape."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(message, kind="malformed", path=path)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. ``attempts`` counts every try of one request (1 = no retry)."""

    attempts: int = 4
    base_delay: float = 1.0
    max_delay: float = 30.0
    max_retry_after: float = 120.0
    timeout: float = 30.0
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, compare=False)
    jitter: Callable[[], float] = field(default=random.random, compare=False)

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


class ApiClient:
    """An ``httpx.AsyncClient`` for one provider and key. Use as an async context manager."""

    def __init__(self, label: str, base_url: str, headers: dict[str, str], *, secret: str,
                 retry: RetryPolicy | None = None, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.label = label
        self.base_url = base_url
        self.retry = retry or RetryPolicy()
        self._secret = secret
        self.requests = 0  # HTTP requests sent (retries included)
        self.notes: list[str] = []  # plain-language remarks gathered while fetching
        self._client = httpx.AsyncClient(base_url=base_url, headers=headers, transport=transport,
                                         timeout=httpx.Timeout(self.retry.timeout),
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

    async def get_json(self, path: str, params: Params = ()) -> Any:
        """GET ``path`` and decode JSON, retrying transient faults per :attr:`retry`."""
        policy = self.retry
        last: ApiError | None = None
        for attempt in range(max(1, policy.attempts)):
            if attempt and last is not None and last.kind != "rate_limited":
                await policy.sleep(policy.backoff(attempt - 1))
            self.requests += 1
            try:
                resp = await self._client.get(path, params=list(params))
            except httpx.TimeoutException:
                last = ApiError(f"{self.label} did not answer within {policy.timeout:g} s "
                                f"(tried {attempt + 1} time{'s' if attempt else ''})", kind="timeout", path=path,
                                hint="the provider may be slow right now; the next poll tries again")
                continue
            except httpx.TransportError as exc:
                last = ApiError(f"cannot reach {self.label} at {self.base_url}: "
                                f"{self.scrub(type(exc).__name__)}", kind="network", path=path,
                                hint="check the network, a proxy, or the base URL")
                continue
            status = resp.status_code
            if status == 429:
                wait = retry_after_seconds(resp.headers.get("retry-after"))
                last = ApiError(f"{self.label} is rate limiting tokentop (HTTP 429)", kind="rate_limited",
                                status=status, path=path, detail=self.scrub(error_text(resp.content)),
                                hint="the next poll tries again")
                if wait is not None and wait > policy.max_retry_after:
                    last.message = f"{last.message}; it asks to wait {wait:.0f} s"
                    raise last
                if attempt + 1 < policy.attempts:
                    await policy.sleep(wait if wait is not None else policy.backoff(attempt))
                continue
            if status in RETRY_STATUSES:
                last = ApiError(f"{self.label} had a server error (HTTP {status}, tried {attempt + 1} "
                                f"time{'s' if attempt else ''})", kind="server", status=status, path=path,
                                detail=self.scrub(error_text(resp.content)),
                                hint="usually temporary; the next poll tries again")
                continue
            if status >= 400 or status < 200:
                detail = self.scrub(error_text(resp.content))
                raise ApiError(f"{self.label} refused the request (HTTP {status})"
                               + (f": {detail}" if detail else ""),
                               kind=_KINDS.get(status, "http"), status=status, detail=detail, path=path)
            return self._decode(resp, path)
        assert last is not None
        raise last

    def _decode(self, resp: httpx.Response, path: str) -> Any:
        try:
            return json.loads(resp.content)
        except RecursionError:
            raise Malformed(f"{self.label} sent JSON nested too deeply to read from {path}", path) from None
        except ValueError as exc:
            size = len(resp.content)
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
