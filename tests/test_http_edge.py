"""The server's edge, over raw sockets against uvicorn configured as `loyalty serve` runs it:
request heads too large, with too many fields or sent too slowly are refused before the app
sees them, idle connections are closed, and normal requests are served all the while."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

import pytest
from processes import free_port

SHORT = {
    "http_max_header_bytes": 8192,
    "http_max_headers": 20,
    "http_header_timeout_seconds": 0.5,
    "http_keepalive_seconds": 0.5,
}
HEAD = b"GET /health/live HTTP/1.1\r\nHost: loyalty\r\n"
GRANIAN_MAX_HEADERS = 100
"""hyper's own limit, which granian does not let us set."""


class Edge(NamedTuple):
    """A running server: where it listens, how many header fields it takes, and whether its
    refusals carry a problem document (uvicorn's do; granian's 431 has an empty body)."""

    host: str
    port: int
    max_fields: int
    problems: bool


_GRANIAN = """
import sys
from pathlib import Path
from granian import Granian
from service.http.servers import granian_options
from service.settings import load_settings
settings = load_settings(port=int(sys.argv[1]))
Granian("asgi_ok:app", working_dir=Path(sys.argv[2]), **granian_options(settings)).serve()
"""


@pytest.fixture(scope="module")
def granian() -> Iterator[Edge]:
    """granian with the options `loyalty serve` gives it (`granian_options`, from the same
    environment variables) in its own process, serving a bare app: these limits act before
    any app is reached, so the module's tests share it."""
    port = free_port()
    env = {**os.environ, **{f"LOYALTY_{k.upper()}": str(v) for k, v in SHORT.items()}}
    tests = str(Path(__file__).parent)
    process = subprocess.Popen(
        [sys.executable, "-c", _GRANIAN, str(port), tests],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            assert process.poll() is None, "granian exited early"
            time.sleep(0.05)
        yield Edge("127.0.0.1", port, GRANIAN_MAX_HEADERS, False)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


@pytest.fixture(params=["uvicorn", "granian"])
async def server(request, live_app):
    """Where a server with short limits listens: uvicorn in this process (`live_app`, the app
    and its database included), or granian; both configured by `service/http/servers.py`."""
    if request.param == "granian":
        return request.getfixturevalue("granian")
    client = await live_app(**SHORT)
    address = urlsplit(str(client.base_url))
    return Edge(address.hostname or "", address.port or 0, SHORT["http_max_headers"], True)


def _refused(answer: bytes, status: int) -> bool:
    """Answered `status` (granian answers 431 with an empty body), or just closed (granian on a
    head that takes too long)."""
    return answer.startswith(b"HTTP/1.1 %d " % status) or (status == 408 and answer == b"")


async def _answer(reader: asyncio.StreamReader, within: float = 2.0) -> bytes:
    """Everything the server sends until it closes the connection."""
    return await asyncio.wait_for(reader.read(), within)


async def _served(host: str, port: int) -> None:
    """A normal request on a new connection is answered 200."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(HEAD + b"Connection: close\r\n\r\n")
    assert (await _answer(reader)).startswith(b"HTTP/1.1 200 ")
    writer.close()


async def test_an_oversized_header_is_431_before_the_server_reads_it_all(server):
    host, port = server.host, server.port
    # an unfinished 10 MB Authorization header: answered after its first 64 KiB
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(HEAD + b"Authorization: Bearer " + b"A" * 65536)
    await writer.drain()
    answer = await _answer(reader)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    if server.problems:
        assert b"application/problem+json" in answer and b'"status":431' in answer
    with pytest.raises(ConnectionError):  # closed: the other 10 MB are never read
        for _ in range(160):
            writer.write(b"A" * 65536)
            await writer.drain()
            await asyncio.sleep(0)
    writer.close()
    # a complete head over the limit that arrives in one read is refused the same way
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(HEAD + b"X-Big: " + b"B" * 9000 + b"\r\n\r\n")
    assert (await _answer(reader)).startswith(b"HTTP/1.1 431 ")
    writer.close()
    await _served(host, port)


async def test_too_many_header_fields_are_431(server):
    host, port = server.host, server.port
    reader, writer = await asyncio.open_connection(host, port)
    # Host and the fields below: one more than the limit
    fields = b"".join(b"X-F%d: v\r\n" % n for n in range(server.max_fields))
    writer.write(HEAD + fields + b"\r\n")
    answer = await _answer(reader)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert not server.problems or b"header fields" in answer
    writer.close()
    reader, writer = await asyncio.open_connection(host, port)
    at_limit = b"".join(b"X-F%d: v\r\n" % n for n in range(server.max_fields - 2))
    writer.write(HEAD + at_limit + b"Connection: close\r\n\r\n")  # with Host: the limit
    answer = await _answer(reader)
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]  # at the limit: served
    writer.close()
    await _served(host, port)


async def test_slow_or_unfinished_heads_are_dropped_after_the_header_timeout(server):
    host, port = server.host, server.port
    started = time.monotonic()
    silent = [await asyncio.open_connection(host, port) for _ in range(20)]
    unfinished = [await asyncio.open_connection(host, port) for _ in range(20)]
    for _, writer in unfinished:
        writer.write(HEAD + b"X-Half: ")
    slow_reader, slow_writer = await asyncio.open_connection(host, port)
    slow_writer.write(HEAD + b"X-Slow: ")

    async def trickle() -> (
        bytes | None
    ):  # a byte every 50 ms: each read is new, the head never ends
        for _ in range(100):
            slow_writer.write(b"x")
            try:
                answer = await asyncio.wait_for(slow_reader.read(4096), 0.05)
            except TimeoutError:
                continue
            return answer + await _answer(slow_reader)
        return None  # five seconds and neither an answer nor a close

    dripping = asyncio.create_task(trickle())
    # meanwhile the server serves normal requests
    await _served(host, port)
    answers = await asyncio.gather(*(_answer(r) for r, _ in [*silent, *unfinished]))
    slow_answer = await dripping
    elapsed = time.monotonic() - started
    assert 0.4 < elapsed < 2.0, elapsed
    assert all(_refused(a, 408) for a in answers), answers
    assert slow_answer is not None, "the dripping head was never cut off"
    assert _refused(slow_answer, 408), slow_answer
    for _, writer in [*silent, *unfinished, (slow_reader, slow_writer)]:
        writer.close()
    await _served(host, port)


async def test_an_idle_keep_alive_connection_is_closed_after_the_keep_alive_time(server):
    host, port = server.host, server.port
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(HEAD + b"\r\n")
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
    assert head.startswith(b"HTTP/1.1 200 "), head
    lines = head.lower().split(b"\r\n")
    length = next(int(line.split(b":")[1]) for line in lines if line.startswith(b"content-length"))
    await reader.readexactly(length)
    served = time.monotonic()
    assert await _answer(reader) == b""  # nothing more: closed, not answered
    idle = time.monotonic() - served
    assert 0.4 < idle < 1.5, idle
    writer.close()


async def test_connections_past_the_limit_are_answered_503(live_app):
    client = await live_app(http_max_connections=4)
    address = urlsplit(str(client.base_url))
    host, port = address.hostname or "", address.port or 0
    held = [await asyncio.open_connection(host, port) for _ in range(3)]
    reader, writer = await asyncio.open_connection(host, port)  # the fourth
    writer.write(HEAD + b"Connection: close\r\n\r\n")
    assert (await _answer(reader)).startswith(b"HTTP/1.1 503 ")
    for _, held_writer in held:
        held_writer.close()
        await held_writer.wait_closed()
    await asyncio.sleep(0.05)
    await _served(host, port)
