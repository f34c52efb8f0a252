"""The server's settings, written into `postgresql.auto.conf`, and the port it keeps.

The port is chosen once (a free one, when the cluster is made or first started by this
version) and recorded there, so every start listens where the last one did: a `loyalty
migrate` that restarts a stopped server puts it back where a running `serve` reconnects to,
never on another port.
"""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path

from service.store.embedded.owner import open_inside

__all__ = ["free_port", "record_port", "recorded_port", "write_settings"]

_PORT_LINE = re.compile(r"^\s*port\s*=\s*'?(\d+)'?\s*(#.*)?$")


def write_settings(pgdata: Path, durable: bool) -> None:
    """The settings of a new cluster: loopback only, room for the pool, and no fsync for
    scratch servers."""
    settings = [
        "listen_addresses = '127.0.0.1'",
        "unix_socket_permissions = 0700",
        "password_encryption = 'scram-sha-256'",
        "max_connections = 200",
        "shared_buffers = '128MB'",
    ]
    if not durable:
        settings += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
    _append(pgdata, settings)


def recorded_port(pgdata: Path) -> int | None:
    """The port recorded for this cluster, or None (a cluster made before ports were kept)."""
    try:
        lines = (pgdata / "postgresql.auto.conf").read_text().splitlines()
    except FileNotFoundError:
        return None
    found = [int(m.group(1)) for m in map(_PORT_LINE.match, lines) if m]
    return found[-1] if found else None  # the last setting wins, as in PostgreSQL


def record_port(pgdata: Path, port: int) -> None:
    """Keep `port` as the one every later start listens on."""
    _append(pgdata, [f"port = {port}"])


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _append(pgdata: Path, lines: list[str]) -> None:
    fd = open_inside(pgdata / "postgresql.auto.conf", os.O_WRONLY | os.O_APPEND)
    with os.fdopen(fd, "a") as conf:
        conf.write("\n".join(lines) + "\n")
