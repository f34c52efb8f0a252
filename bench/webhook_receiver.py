"""A webhook receiver for the benchmark: HTTP/1.1 keep-alive on a bare asyncio protocol
(uvloop), verifies nothing and answers 204 to every POST; `GET /count` answers how many POSTs
it took. It stands in for the subscriber's own machine, so it is kept as cheap as it can be
(about 15 us of CPU per request): what it costs on the two shared cores is not the service's.

Run: python -m bench.webhook_receiver  (prints its port on the first line)
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

accepted = 0
_NO_CONTENT = b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"


class _Receiver(asyncio.Protocol):
    """Requests split on their head's end and Content-Length (the sender's are well formed)."""

    def __init__(self) -> None:
        self.buffer = b""
        self.transport: Any = None  # uvloop's transports are not asyncio.Transport instances

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        global accepted
        assert self.transport is not None
        buffer = self.buffer + data
        answers = []
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buffer[:end]
            length = 0
            for line in head.split(b"\r\n")[1:]:
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if len(buffer) < end + 4 + length:
                break
            buffer = buffer[end + 4 + length :]
            if head.startswith(b"GET /count"):
                body = str(accepted).encode()
                answers.append(
                    b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
                )
            else:
                accepted += 1
                answers.append(_NO_CONTENT)
        self.buffer = buffer
        if answers:
            self.transport.write(b"".join(answers))


async def main() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Receiver, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover
        pass
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
