"""A real HTTP receiver for webhook tests: it listens on a loopback port, verifies each
message's Standard Webhooks signature with its own few lines (the helper of docs/webhooks.md,
not the service's code), and answers as the test tells it: 204, 500, too slowly, a redirect, or
not at all (stopped: connection refused)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
from typing import Any

__all__ = ["Receiver", "verify_signature"]


def verify_signature(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The receiver's check, as docs/webhooks.md shows it."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(expected, s) for s in headers["webhook-signature"].split())


class Receiver:
    """Messages accepted (2xx answered) in arrival order, and every request seen."""

    def __init__(self, secret: str | None = None) -> None:
        self.secrets: list[str] = [secret] if secret else []
        self.mode = "ok"  # ok | fail | slow | redirect
        self.slow_seconds = 5.0
        self.delay = 0.0  # seconds before every answer (the message still counts)
        self.accepted: list[dict[str, Any]] = []
        self.requests = 0
        self.bad_signatures = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    async def start(self) -> None:
        """Listen (again, on the same port once it had one)."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and drop open connections: the receiver is down."""
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                self._server.close_clients()  # type: ignore[attr-defined]
            await self._server.wait_closed()
            self._server = None

    def accepted_ids(self) -> list[str]:
        return [m["id"] for m in self.accepted]

    def by_member(self, kind: str | None = None) -> dict[str, list[dict[str, Any]]]:
        """Accepted messages per member, first acceptance of each id only, in order."""
        seen: set[str] = set()
        out: dict[str, list[dict[str, Any]]] = {}
        for m in self.accepted:
            if m["id"] in seen or (kind and m["type"] != kind):
                continue
            seen.add(m["id"])
            out.setdefault(m["data"]["member_id"], []).append(m)
        return out

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.requests += 1
                status = await self._answer(headers, body)
                reason = {204: "No Content", 302: "Found", 500: "Internal Server Error"}[status]
                extra = "Location: http://127.0.0.1:9/elsewhere\r\n" if status == 302 else ""
                writer.write(
                    f"HTTP/1.1 {status} {reason}\r\n{extra}Content-Length: 0\r\n\r\n".encode()
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def _answer(self, headers: dict[str, str], body: bytes) -> int:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.mode == "slow":  # answers too late: the sender has given up and retries
            await asyncio.sleep(self.slow_seconds)
            return 500
        if self.mode == "fail":
            return 500
        if self.mode == "redirect":
            return 302
        if self.secrets and not any(verify_signature(s, headers, body) for s in self.secrets):
            self.bad_signatures += 1
            return 500
        message = json.loads(body)
        message["id"] = headers["webhook-id"]
        message["headers"] = headers
        self.accepted.append(message)
        return 204
