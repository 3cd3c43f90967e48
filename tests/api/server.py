"""A real HTTP server on 127.0.0.1 (random port) that speaks the providers' wire formats.

Routes map a path to a handler ``f(Request) -> Reply`` or to a list of replies served in
turn (the last one repeats), so a test can script faults: ``[Reply(429, retry_after=2),
ok]``. Every request is recorded (path, query, headers) for assertions. A reply can also
stream its body (``chunks``, with a pause between them): a slow drip, or a body far bigger
than the test process should hold.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "providers"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> Any:
    return json.loads(fixture(name))


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    raw_query: str = ""

    def q(self, name: str) -> str | None:
        vals = self.query.get(name)
        return vals[0] if vals else None


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | dict | list = b"{}"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (to trip a client timeout)
    retry_after: str | None = None
    short_by: int = 0  # announce more bytes than sent, then drop the connection
    #: a streamed body instead of ``body``: called once per request, each chunk sent and flushed
    chunks: Callable[[], Iterable[bytes]] | None = None
    chunk_delay: float = 0.0  # seconds between chunks (a slow drip)
    length: int | None = None  # Content-Length announced for ``chunks``; None: chunked encoding

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


Handler = Callable[[Request], Reply]


def file_reply(name: str, status: int = 200, **kw: Any) -> Reply:
    return Reply(status, fixture(name), **kw)


def paged(first: str | bytes | dict, more: dict[str, str | bytes | dict]) -> Handler:
    """Serve ``first`` without ``page``, and ``more[cursor]`` for ``page=cursor``; else 400."""
    def body(x):
        return fixture(x) if isinstance(x, str) else x

    def handler(req: Request) -> Reply:
        cursor = req.q("page")
        if cursor is None:
            return Reply(200, body(first))
        if cursor in more:
            return Reply(200, body(more[cursor]))
        return Reply(400, {"error": {"message": f"unknown page {cursor}"}})

    return handler


class ProviderServer:
    """Threaded HTTP server; use :meth:`start` / :meth:`stop` (the fixture does)."""

    def __init__(self) -> None:
        self.routes: dict[str, Handler | list[Reply]] = {}
        self.requests: list[Request] = []
        self.auth: Callable[[Request], Reply | None] | None = None  # None = allow
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._httpd is not None
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def route(self, path: str, handler: Handler | Reply | list[Reply]) -> None:
        self.routes[path] = [handler] if isinstance(handler, Reply) else handler

    def hits(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    def _dispatch(self, req: Request) -> Reply:
        with self._lock:
            self.requests.append(req)
            if self.auth is not None:
                denied = self.auth(req)
                if denied is not None:
                    return denied
            target = self.routes.get(req.path)
            if target is None:
                return Reply(404, {"error": {"message": f"no route {req.path}"}})
            if isinstance(target, list):
                return target.pop(0) if len(target) > 1 else target[0]
        return target(req)

    def start(self) -> "ProviderServer":
        server = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else each small reply waits ~40 ms for a delayed ACK

            def log_message(self, *args: Any) -> None:  # keep pytest output clean
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                req = Request("GET", parts.path, parse_qs(parts.query, keep_blank_values=True),
                              {k.lower(): v for k, v in self.headers.items()}, parts.query)
                reply = server._dispatch(req)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.chunks is not None:
                    self._stream(reply)
                    return
                data = reply.payload()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data) + reply.short_by))
                    if reply.retry_after is not None:
                        self.send_header("Retry-After", reply.retry_after)
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    if reply.short_by:
                        self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(data)
                    self.wfile.flush()
                    if reply.short_by:
                        self.close_connection = True
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def _stream(self, reply: Reply) -> None:
                self.close_connection = True
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    if reply.length is not None:
                        self.send_header("Content-Length", str(reply.length))
                    else:
                        self.send_header("Transfer-Encoding", "chunked")
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.flush()
                    for chunk in reply.chunks():
                        if reply.chunk_delay:
                            time.sleep(reply.chunk_delay)
                        if not chunk:
                            continue
                        if reply.length is None:
                            chunk = b"%x\r\n%s\r\n" % (len(chunk), chunk)
                        self.wfile.write(chunk)
                        self.wfile.flush()
                    if reply.length is None:
                        self.wfile.write(b"0\r\n\r\n")
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError, OSError):
                    pass  # the client stopped reading: what a bounded client does

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
