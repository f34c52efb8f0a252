"""Starting a stopped embedded PostgreSQL again: a `postmaster.pid` left by a crash, whose PID
another process now has, is not taken for the server; the server comes back on the port it
had (where a running service reconnects), and refuses, naming it, when that port is taken."""

from __future__ import annotations

import asyncio
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from service.store.embedded import EmbeddedPostgres, EmbeddedPostgresError, scratch_folder


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/")[0])


@pytest.fixture(scope="module")
def stopped() -> Iterator[tuple[Path, int]]:
    """A data folder whose server ran on a port and was stopped."""
    root = scratch_folder("loyalty-restarts-")
    server = EmbeddedPostgres(root, durable=False)
    port = _port(server.acquire("postgres"))
    server.release()
    assert not (root / "pgdata" / "postmaster.pid").exists()
    yield root, port


async def _data_directory(url: str) -> str:
    conn = await asyncpg.connect(url)
    try:
        return str(await conn.fetchval("SHOW data_directory"))
    finally:
        await conn.close()


def _listener() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


def test_a_stale_postmaster_pid_whose_pid_was_reused_is_not_taken_for_the_server(stopped):
    root, port = stopped
    pgdata = root / "pgdata"
    other = subprocess.Popen(["sleep", "60"])  # has the PID now; not a postgres
    elsewhere = _listener()  # and something accepts on the port the stale file names
    try:
        fake_port = elsewhere.getsockname()[1]
        pgdata.joinpath("postmaster.pid").write_text(
            f"{other.pid}\n{pgdata}\n1764680000\n{fake_port}\n{root}/socket\n127.0.0.1\n"
            "  1234567     65536\nready   \n"
        )
        server = EmbeddedPostgres(root, durable=False)
        url = server.acquire("postgres")
        try:
            assert _port(url) == port
            assert asyncio.run(_data_directory(url)) == str(pgdata)
        finally:
            server.release()
    finally:
        elsewhere.close()
        other.kill()
        other.wait()


def test_a_stopped_server_starts_on_its_old_port_and_refuses_when_that_is_taken(stopped):
    root, port = stopped
    squatter = socket.socket()
    squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past TIME_WAIT
    squatter.bind(("127.0.0.1", port))
    squatter.listen()
    try:
        with pytest.raises(EmbeddedPostgresError, match=f"port {port}, kept for"):
            EmbeddedPostgres(root, durable=False).acquire("postgres")
    finally:
        squatter.close()
    server = EmbeddedPostgres(root, durable=False)
    try:
        assert _port(server.acquire("postgres")) == port
    finally:
        server.release()
