"""The embedded PostgreSQL lets in only who knows its password (SCRAM-SHA-256), kept in the
data folder with mode 0600; a data folder made when every local login was trusted gets a
password on its next start."""

from __future__ import annotations

import stat
from pathlib import Path

import asyncpg
import pytest

from service.store.embedded import EmbeddedPostgres, scratch_folder
from service.store.embedded.owner import cluster_user
from service.store.embedded.programs import run


def _without_password(url: str) -> str:
    login, _, rest = url.partition("://")[2].partition("@")
    return f"postgresql://{login.split(':')[0]}@{rest}"


async def _assert_refused(url: str, **connect: object) -> None:
    with pytest.raises(asyncpg.InvalidPasswordError):
        conn = await asyncpg.connect(url, **connect)
        await conn.close()


async def _assert_only_the_password_opens(server: EmbeddedPostgres, url: str) -> None:
    password_file = server.root / "postgres.password"
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    password = password_file.read_text().strip()
    assert f":{password}@" in url  # the URL handed to the app carries it
    conn = await asyncpg.connect(url)
    try:
        verifier = await conn.fetchval(
            "SELECT rolpassword FROM pg_authid WHERE rolname = 'postgres'"
        )
        assert verifier.startswith("SCRAM-SHA-256$")
    finally:
        await conn.close()
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    nobody = _without_password(url)
    await _assert_refused(nobody)  # loopback TCP
    await _assert_refused(nobody, password="wrong")
    await _assert_refused(nobody, host=str(server.root / "socket"), port=port)  # Unix socket
    await _assert_refused(nobody, host=str(server.root / "socket"), port=port, password="")
    hba = (server.pgdata / "pg_hba.conf").read_text()
    methods = {line.split()[-1] for line in hba.splitlines() if line and line[0] != "#"}
    assert methods == {"scram-sha-256"}


async def test_the_embedded_server_lets_in_only_who_knows_its_password(embedded_pg):
    if embedded_pg is None:
        pytest.skip("TEST_DATABASE_URL: no embedded server")
    server, url = embedded_pg
    await _assert_only_the_password_opens(server, url)


def _initdb_trusting(root: Path) -> None:
    """A data folder as loyalty made it before passwords: every local login trusted."""
    user = cluster_user(root)
    pgdata = root / "pgdata"
    pgdata.mkdir(mode=0o700)
    user.give(pgdata)
    args = ["-D", str(pgdata), "-U", "postgres", "--auth=trust", "--no-instructions"]
    run("initdb", [*args, "--locale=C"], binaries=None, user=user, timeout=120)
    with open(pgdata / "postgresql.auto.conf", "a") as conf:
        conf.write("listen_addresses = '127.0.0.1'\nfsync = off\n")


async def test_a_data_folder_made_before_passwords_gets_one_on_its_next_start():
    root = scratch_folder("loyalty-trusting-")
    _initdb_trusting(root)
    server = EmbeddedPostgres(root, durable=False)
    url = server.acquire("postgres")
    try:
        await _assert_only_the_password_opens(server, url)
    finally:
        server.release()
    again = EmbeddedPostgres(root, durable=False)  # and the next start uses that password
    url = again.acquire("postgres")
    try:
        conn = await asyncpg.connect(url)
        await conn.close()
    finally:
        again.release()
