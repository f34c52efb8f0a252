"""How `loyalty serve` configures each HTTP server, in one place: the tests that run a real
server take their options from here, so they test the limits that production runs with.

| limit | uvicorn (httptools) | granian (hyper) |
|---|---|---|
| request head size | `head_guard`: 431, closed | `max_buffer_size`: 431, closed |
| header fields | `head_guard`: 431 | hyper's fixed 100: 431 |
| time to send a head | `head_guard`: 408, closed | `header_read_timeout`: closed |
| idle keep-alive | `timeout_keep_alive` | `header_read_timeout` (it times idle waits too) |
| connections | `limit_concurrency`: 503 beyond it | `backpressure`: requests in progress |
"""

from __future__ import annotations

import sys
from typing import Any

from service.http.head_guard import HeadLimits, guarded_protocol
from service.settings import Settings

__all__ = ["granian_options", "head_limits", "uvicorn_options"]


def head_limits(settings: Settings) -> HeadLimits:
    """The bounds on a request head the settings ask for."""
    return HeadLimits(
        max_bytes=settings.http_max_header_bytes,
        max_fields=settings.http_max_headers,
        timeout_seconds=settings.http_header_timeout_seconds,
    )


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments of `uvicorn.run` / `uvicorn.Config` (all but the app)."""
    return {
        "host": settings.host,
        "port": settings.port,
        "workers": settings.workers,
        "loop": "uvloop" if sys.platform != "win32" else "asyncio",
        "http": guarded_protocol(head_limits(settings)),
        "ws": "none",
        "timeout_keep_alive": settings.http_keepalive_seconds,
        "limit_concurrency": settings.http_max_connections,
        "log_config": None,
        "access_log": False,
        "timeout_graceful_shutdown": 10,
    }


def granian_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments of `granian.Granian` (all but the target).

    hyper holds a whole head in its read buffer, so the buffer's size is the head limit (bodies
    are streamed past it); HTTP/1.1 only, as uvicorn, so that these limits are the ones met."""
    from granian.constants import HTTPModes, Interfaces, Loops
    from granian.http import HTTP1Settings

    return {
        "address": settings.host,
        "port": settings.port,
        "interface": Interfaces.ASGI,
        "workers": settings.workers,
        "loop": Loops.uvloop if sys.platform != "win32" else Loops.asyncio,
        "http": HTTPModes.http1,
        "http1_settings": HTTP1Settings(
            header_read_timeout=round(settings.http_header_timeout_seconds * 1000),
            keep_alive=True,
            max_buffer_size=settings.http_max_header_bytes,
        ),
        "backpressure": settings.http_max_connections,
        "websockets": False,
        "log_access": False,
        "workers_kill_timeout": 10,
    }
