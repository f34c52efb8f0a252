"""The webhook HTTP client against a real loopback server that answers scripted bytes: what it
sends, which answers it reads, and when it reuses a connection."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator, Callable

import pytest

from service.operations.webhook_client import WebhookClient

LOOPBACK = [ipaddress.ip_address("127.0.0.1")]
OK = b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n"


class Scripted:
    """A server that reads each request whole and answers `answer(n)` for the n-th request
    (bytes; None closes the connection without an answer); counts connections."""

    def __init__(self, answer: Callable[[int], bytes | None]) -> None:
        self.answer = answer
        self.requests: list[bytes] = []
        self.connections = 0
        self.close_after_answer = False
        self.server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                self.requests.append(head + await reader.readexactly(length))
                answer = self.answer(len(self.requests))
                if answer is None:
                    return
                writer.write(answer)
                await writer.drain()
                if self.close_after_answer:
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def scripted() -> AsyncIterator[Callable[[Callable[[int], bytes | None]], Scripted]]:
    servers: list[Scripted] = []

    def start(answer: Callable[[int], bytes | None]) -> Scripted:
        s = Scripted(answer)
        servers.append(s)
        return s

    yield start
    for s in servers:
        if s.server is not None:
            s.server.close()


async def _started(s: Scripted) -> Scripted:
    s.server = await asyncio.start_server(s.serve, "127.0.0.1", 0)
    return s


def _client(**overrides: float) -> WebhookClient:
    settings = {"timeout": 2.0, "idle_limit": 4, "max_answer": 1024, **overrides}
    return WebhookClient(
        timeout=float(settings["timeout"]),
        idle_limit=int(settings["idle_limit"]),
        user_agent="test/1",
        max_answer=int(settings["max_answer"]),
    )


async def test_it_posts_the_body_with_its_headers_and_reuses_the_connection(scripted):
    s = await _started(scripted(lambda n: OK))
    async with _client() as client:
        for n in range(3):
            url = f"http://127.0.0.1:{s.port}/hooks?n={n}"
            status = await client.post(url, b'{"a":1}', {"webhook-id": f"msg_{n}"}, LOOPBACK)
            assert status == 204
    assert s.connections == 1
    first = s.requests[0]
    assert first.startswith(b"POST /hooks?n=0 HTTP/1.1\r\n")
    assert f"host: 127.0.0.1:{s.port}\r\n".encode() in first
    assert b"webhook-id: msg_0\r\n" in first and b"content-length: 7\r\n" in first
    assert first.endswith(b'\r\n\r\n{"a":1}')


async def test_a_space_in_the_url_is_escaped_not_sent_raw(scripted):
    s = await _started(scripted(lambda n: OK))
    async with _client() as client:
        url = f"http://127.0.0.1:{s.port}/a b/%41?x=1 2&y=\u00e9"
        assert await client.post(url, b"{}", {}, LOOPBACK) == 204
    assert s.requests[0].startswith(b"POST /a%20b/%41?x=1%202&y=%C3%A9 HTTP/1.1\r\n")


async def test_it_connects_to_the_checked_address_not_a_new_resolution_of_the_host(scripted):
    """The host does not resolve at all: only the address given is used, and the host is sent
    as the Host header."""
    s = await _started(scripted(lambda n: OK))
    async with _client() as client:
        url = f"http://hooks.example.invalid:{s.port}/in"
        assert await client.post(url, b"{}", {}, LOOPBACK) == 204
    assert f"host: hooks.example.invalid:{s.port}\r\n".encode() in s.requests[0]


@pytest.mark.parametrize(
    ("answer", "reused"),
    [
        (b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nfine.", True),
        (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", True),
        (b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 0\r\n\r\n", False),
        (b"HTTP/1.1 200 OK\r\ncontent-length: 5000\r\n\r\n" + b"x" * 5000, False),
    ],
    ids=["length", "chunked", "connection-close", "too-large"],
)
async def test_a_connection_is_reused_only_after_an_answer_read_to_its_end(
    scripted, answer, reused
):
    s = await _started(scripted(lambda n: answer))
    async with _client() as client:
        for _ in range(2):
            url = f"http://127.0.0.1:{s.port}/"
            assert await client.post(url, b"{}", {}, LOOPBACK) == 200
    assert s.connections == (1 if reused else 2)


async def test_an_answer_ended_by_the_connection_counts(scripted):
    s = await _started(scripted(lambda n: b"HTTP/1.0 202 Accepted\r\n\r\nqueued"))
    s.close_after_answer = True
    async with _client() as client:
        for _ in range(2):
            assert await client.post(f"http://127.0.0.1:{s.port}/", b"{}", {}, LOOPBACK) == 202
    assert s.connections == 2


async def test_a_kept_connection_the_server_dropped_is_replaced_once(scripted):
    """The server closes a connection without answering (as an idle timeout does): the
    request goes again on a new connection; on a fresh connection that is a failure."""
    s = await _started(scripted(lambda n: None if n == 2 else OK))
    async with _client() as client:
        url = f"http://127.0.0.1:{s.port}/"
        assert await client.post(url, b"{}", {}, LOOPBACK) == 204
        assert await client.post(url, b"{}", {}, LOOPBACK) == 204  # second on a new one
        assert s.connections == 2
        s.answer = lambda n: None
        with pytest.raises(ConnectionError):
            await client.post(url, b"{}", {}, LOOPBACK)


async def test_a_redirect_is_an_answer_not_followed(scripted):
    moved = b"HTTP/1.1 307 Go\r\nlocation: /x\r\ncontent-length: 0\r\n\r\n"
    s = await _started(scripted(lambda n: moved))
    async with _client() as client:
        assert await client.post(f"http://127.0.0.1:{s.port}/", b"{}", {}, LOOPBACK) == 307
    assert len(s.requests) == 1


async def test_a_server_too_slow_times_out_and_garbage_is_a_value_error(scripted):
    s = await _started(scripted(lambda n: b"SSH-2.0-OpenSSH\r\n\r\n"))
    async with _client() as client:
        with pytest.raises(ValueError, match="not an HTTP answer"):
            await client.post(f"http://127.0.0.1:{s.port}/", b"{}", {}, LOOPBACK)
    silent = await _started(scripted(lambda n: b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\nx"))
    async with _client(timeout=0.3) as client:
        with pytest.raises(TimeoutError):
            await client.post(f"http://127.0.0.1:{silent.port}/", b"{}", {}, LOOPBACK)


async def test_the_next_address_is_tried_when_one_refuses(scripted):
    s = await _started(scripted(lambda n: OK))
    closed = ipaddress.ip_address("127.0.0.2")  # nothing listens there on this port
    async with _client() as client:
        url = f"http://127.0.0.1:{s.port}/"
        assert await client.post(url, b"{}", {}, [closed, *LOOPBACK]) == 204
        with pytest.raises(OSError):
            await client.post(url, b"{}", {}, [closed])
