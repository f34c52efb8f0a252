"""Bounds on what a client may send before its request reaches the app: the size of the
request head, its number of header fields, and the time it may take to send it.

uvicorn's httptools protocol has none of these (httptools buffers a header however long and
waits forever for the rest of it); h11's `h11_max_incomplete_event_size` bounds the size only,
and h11 is pure Python. So the httptools protocol is kept and guarded here:

- every byte received while a head is incomplete is counted; once the count passes the limit
  the connection gets 431 and is closed, so at most the limit plus one read (256 KiB) of a
  head is ever held;
- the request line and each header field are counted exactly as the parser hands them over,
  with the number of fields, so a head that arrives in one read is held to the same limit;
- a timer runs from the connection's start, and from the first byte of each later request,
  until the head is complete; when it fires the client gets 408 and the connection is closed
  (a connection that sends nothing is closed as well). Idle time between requests is
  uvicorn's own keep-alive timeout.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any

import msgspec
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
from uvicorn.server import ServerState

__all__ = ["HeadLimits", "HeadRefused", "guarded_protocol"]

_REASONS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}
_TITLES = {408: "Request timeout", 431: "Request header fields too large"}


class HeadLimits(msgspec.Struct, frozen=True, kw_only=True):
    """What a request head may be: bytes, header fields, seconds to send it."""

    max_bytes: int
    max_fields: int
    timeout_seconds: float


class HeadRefused(Exception):
    """A request head over a limit: the status to answer and why."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _answer(refusal: HeadRefused) -> bytes:
    """A problem document for a request that never reached the app (no request id yet)."""
    title = _TITLES[refusal.status]
    body = msgspec.json.encode(
        {
            "type": f"https://loyalty.example/problems/{title.lower().replace(' ', '-')}",
            "title": title,
            "status": refusal.status,
            "detail": refusal.detail,
        }
    )
    return b"".join(
        [
            b"HTTP/1.1 %d %s\r\n" % (refusal.status, _REASONS[refusal.status]),
            b"content-type: application/problem+json\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
            body,
        ]
    )


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the request head bounded in size, fields and time."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        limits: HeadLimits,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = limits
        self._awaiting_head = True
        self._received = 0  # bytes received while the current head is incomplete
        self._head_size = 0  # bytes of the current head the parser handed over
        self._fields = 0
        self._head_timer: asyncio.TimerHandle | None = None
        self._refusal: HeadRefused | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._awaiting_head:
            self._received += len(data)
        super().data_received(data)
        if (
            self._awaiting_head
            and self._received > self.limits.max_bytes
            and not self.transport.is_closing()
        ):
            self._refuse(HeadRefused(431, self._too_large()))

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_size = self._fields = 0
        if self._head_timer is None:
            self._start_head_timer()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._fields += 1
        if self._fields > self.limits.max_fields:
            self._raise(HeadRefused(431, f"more than {self.limits.max_fields} header fields"))
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._stop_head_timer()
        self._awaiting_head = False
        self._received = 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._awaiting_head = True

    def send_400_response(self, msg: str) -> None:
        # the parser wraps what a callback raised in its own error, which uvicorn answers 400
        refusal, self._refusal = self._refusal, None
        if refusal is None:
            super().send_400_response(msg)
        else:
            self._refuse(refusal)

    def _count(self, size: int) -> None:
        self._head_size += size
        if self._head_size > self.limits.max_bytes:
            self._raise(HeadRefused(431, self._too_large()))

    def _too_large(self) -> str:
        return f"the request head is larger than {self.limits.max_bytes} bytes"

    def _raise(self, refusal: HeadRefused) -> None:
        self._refusal = refusal
        raise refusal

    def _refuse(self, refusal: HeadRefused) -> None:
        self._stop_head_timer()
        self.logger.info("request refused before the app: %s", refusal.detail)
        cycle: RequestResponseCycle | None = self.cycle  # None before the first request
        if cycle is None or cycle.response_complete:
            self.transport.write(_answer(refusal))
        self.transport.close()

    def _start_head_timer(self) -> None:
        self._head_timer = self.loop.call_later(self.limits.timeout_seconds, self._head_timed_out)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            seconds = self.limits.timeout_seconds
            self._refuse(HeadRefused(408, f"the request head took longer than {seconds:g} s"))


def guarded_protocol(limits: HeadLimits) -> Callable[..., GuardedHttpToolsProtocol]:
    """The protocol factory uvicorn takes as `http=`; picklable, for `--workers` > 1."""
    return functools.partial(GuardedHttpToolsProtocol, limits=limits)
