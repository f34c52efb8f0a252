"""The outermost ASGI layer: request id, access log line and metrics for every request,
including those that never reach a route (404, 405, 413)."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable

from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send

from service.http.metrics import Metrics
from service.http.request_context import request_id_var

__all__ = ["ObservabilityMiddleware"]

logger = logging.getLogger("service.access")
_HEADER = b"x-request-id"


def _incoming_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == _HEADER and 0 < len(value) <= 128:
            text = value.decode("latin-1")
            if text.isprintable():
                return text
    return uuid.uuid4().hex


class ObservabilityMiddleware:
    """Wraps the app: tags each response with X-Request-ID, logs and counts it."""

    def __init__(self, app: ASGIApp, metrics: Metrics, access_log: bool = True) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        await self._http(scope, receive, send)

    async def _http(self, scope: HTTPScope, receive: Receive, send: Send) -> None:
        request_id = _incoming_id(scope)
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        header = (_HEADER, request_id.encode("latin-1"))

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("path_template") or "unmatched"
            self.metrics.observe(scope["method"], route, status, elapsed)
            if self.access_log:
                _log(logger.info, scope["method"], route, status, elapsed)
            request_id_var.reset(token)


def _log(emit: Callable[..., None], method: str, route: str, status: int, elapsed: float) -> None:
    emit(
        "request",
        extra={
            "fields": {
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": round(elapsed * 1000, 2),
            }
        },
    )
