"""The HTTP client webhook passes send with: HTTP/1.1 POSTs over asyncio streams, kept-alive
connections pooled per endpoint address, answers parsed by httptools (uvicorn's C parser).

Hand-rolled for two reasons, both measured or shown by a test:
- **CPU.** A delivery costs the client about 33 us of CPU, aiohttp's session about 120-140 us
  (`bench/webhook_client_bench.py`); delivering on the cores that ingest events, that
  difference comes out of ingest.
- **The address checked is the address used.** A pass resolves an endpoint's host once and
  checks every address (`webhook_targets.check_target`); the client connects to those very
  addresses, so a DNS answer that changes between the check and the connection (rebinding to a
  private address) cannot redirect a message.

It does what a webhook sender needs and no more: no redirects (a 3xx is an answer like any
other), no cookies, no proxies from the environment, no compression asked for; the answer's
body is read up to a limit and thrown away (its status is what counts), and a connection is
reused only when the answer was read to its end and the server keeps it alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import defaultdict
from collections.abc import Sequence
from ipaddress import IPv4Address, IPv6Address
from urllib.parse import quote, urlsplit

import httptools

__all__ = ["WebhookClient"]

_READ = 65_536
_SAFE = "/%:@!$&'()*+,;=-._~"
"""What a request target may carry as it is (RFC 3986 path characters; % keeps escapes)."""


class _Answer:
    """What httptools tells of one answer, fed as bytes arrive."""

    __slots__ = ("body", "complete", "headers_done", "keep_alive", "parser")

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.body = 0
        self.headers_done = False
        self.keep_alive = False
        self.complete = False

    def on_headers_complete(self) -> None:
        self.headers_done = True
        self.keep_alive = self.parser.should_keep_alive()  # known here, not after the end

    def on_body(self, body: bytes) -> None:
        self.body += len(body)

    def on_message_complete(self) -> None:
        self.complete = True


class _Connection:
    __slots__ = ("reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


_Key = tuple[str, str, int, str]
"""(scheme, host name, port, address)."""


class _Target:
    """A URL taken apart once: where to connect, and the head of every request to it."""

    __slots__ = ("head", "host", "port", "scheme")

    def __init__(self, url: str, user_agent: str) -> None:
        parts = urlsplit(url)
        self.scheme, self.host = parts.scheme, parts.hostname or ""
        self.port = parts.port or (443 if self.scheme == "https" else 80)
        path = quote(parts.path or "/", safe=_SAFE) + (
            f"?{quote(parts.query, safe=_SAFE + '?')}" if parts.query else ""
        )  # a space or a control character cannot break the request line
        host = _host_header(self.host, self.port, self.scheme)
        self.head = f"POST {path} HTTP/1.1\r\nhost: {host}\r\nuser-agent: {user_agent}\r\n"


class WebhookClient:
    """POSTs to webhook URLs, each exchange within `timeout` seconds; at most `idle_limit`
    idle connections kept per endpoint address. Use as an async context manager (closing
    drops the idle connections)."""

    def __init__(
        self, *, timeout: float, idle_limit: int, user_agent: str, max_answer: int
    ) -> None:
        self.timeout = timeout
        self.idle_limit = idle_limit
        self.user_agent = user_agent
        self.max_answer = max_answer
        self._idle: dict[_Key, list[_Connection]] = defaultdict(list)
        self._targets: dict[str, _Target] = {}
        self._tls: ssl.SSLContext | None = None

    async def __aenter__(self) -> WebhookClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def close(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()

    async def post(
        self,
        url: str,
        body: bytes,
        headers: dict[str, str],
        addresses: Sequence[IPv4Address | IPv6Address],
    ) -> int:
        """POST `body` to `url`, connecting only to `addresses` (the checked resolution of its
        host); the answer's status. Raises TimeoutError past the timeout, OSError (or a
        subclass) when no connection could be made or it broke, ValueError on an answer that
        is not HTTP."""
        target = self._target(url)
        request = _request(target.head, headers, body)
        async with asyncio.timeout(self.timeout):
            for address in addresses:
                key = (target.scheme, target.host, target.port, str(address))
                reused = self._take_idle(key)
                if reused is not None:
                    try:
                        return await self._exchange(key, reused, request)
                    except ConnectionError:
                        pass  # closed by the server while idle: once more, on a new one
                try:
                    connection = await self._connect(key)
                except OSError:
                    if address == addresses[-1]:
                        raise
                    continue  # the next address of the host
                return await self._exchange(key, connection, request)
        raise OSError(f"no address to connect to for {target.host!r}")

    def _target(self, url: str) -> _Target:
        target = self._targets.get(url)
        if target is None:
            if len(self._targets) >= 1000:
                self._targets.clear()  # endpoints come and go; a bound, not a cache policy
            target = self._targets[url] = _Target(url, self.user_agent)
        return target

    def _take_idle(self, key: _Key) -> _Connection | None:
        idle = self._idle.get(key)
        while idle:
            connection = idle.pop()
            if not connection.writer.is_closing() and not connection.reader.at_eof():
                return connection
            connection.close()
        return None

    async def _connect(self, key: _Key) -> _Connection:
        scheme, host, port, address = key
        tls = self._tls_context() if scheme == "https" else None
        reader, writer = await asyncio.open_connection(
            address, port, ssl=tls, server_hostname=host if tls else None
        )
        return _Connection(reader, writer)

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls

    async def _exchange(self, key: _Key, connection: _Connection, request: bytes) -> int:
        try:
            connection.writer.write(request)
            answer = _Answer()
            reusable = await _read_answer(connection.reader, answer, self.max_answer)
        except BaseException:
            connection.close()
            raise
        status = int(answer.parser.get_status_code())
        if reusable and answer.keep_alive and len(self._idle[key]) < self.idle_limit:
            self._idle[key].append(connection)
        else:
            connection.close()
        return status


async def _read_answer(reader: asyncio.StreamReader, answer: _Answer, max_answer: int) -> bool:
    """Feed the answer to its parser until it is complete; whether the connection may carry
    another request (not when the body is longer than `max_answer`, whose rest is not read,
    nor when it ended with the connection)."""
    while not answer.complete:
        data = await reader.read(_READ)
        if not data:
            if answer.headers_done:
                return False  # a body delimited by the connection's end
            raise ConnectionError("the connection closed before an answer")
        try:
            answer.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            return False
        except httptools.HttpParserError as exc:
            raise ValueError(f"not an HTTP answer: {exc}") from None
        if answer.headers_done and answer.body > max_answer:
            return False
    return True


def _request(head: str, headers: dict[str, str], body: bytes) -> bytes:
    fields = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return f"{head}{fields}content-length: {len(body)}\r\n\r\n".encode("latin-1") + body


def _host_header(host: str, port: int, scheme: str) -> str:
    name = f"[{host}]" if ":" in host else host
    default = 443 if scheme == "https" else 80
    return name if port == default else f"{name}:{port}"
