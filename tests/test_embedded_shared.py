"""One data folder, several `loyalty` processes, one embedded PostgreSQL: a `migrate` or a
second `serve` uses the running server; a server that stopped under a running `serve` and was
started again by `migrate` comes back on its port, and `serve` answers 200 again without a
restart (the probe of issue 14 saw 503 for six minutes: the server came back on a new port)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import pytest
from processes import LOYALTY, ServiceProcess

from service.store.embedded import EmbeddedPostgres, scratch_folder


def _postmaster(data: Path) -> int:
    return int((data / "pgdata" / "postmaster.pid").read_text().split()[0])


def _migrate(env: dict[str, str]) -> None:
    done = subprocess.run(
        [*LOYALTY, "migrate"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


def _ready_within(service: ServiceProcess, status: int, seconds: float) -> float:
    started = time.monotonic()
    while True:
        try:
            if httpx.get(f"{service.url}/health/ready", timeout=2).status_code == status:
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        assert time.monotonic() - started < seconds, f"no {status} within {seconds} s"
        time.sleep(0.1)


@pytest.mark.slow
def test_serve_reconnects_to_a_restarted_server_and_shares_it_with_migrate_and_a_second_serve():
    data = scratch_folder("loyalty-shared-")
    env = {"DATABASE_URL": "", "LOYALTY_DATA_DIR": str(data), "LOYALTY_DB_TIMEOUT_SECONDS": "2"}
    first = ServiceProcess(env, log=data.parent / f"{data.name}-first.log")
    second = ServiceProcess(env, log=data.parent / f"{data.name}-second.log")
    first.start()
    try:
        running = _postmaster(data)
        _migrate(first.env)  # while serve runs: the same server, not a second one
        assert _postmaster(data) == running
        EmbeddedPostgres(data).stop("immediate")  # the embedded server dies under serve
        _ready_within(first, 503, 10)
        _migrate(first.env)  # starts it again: on the port serve knows
        restarted = _postmaster(data)
        assert restarted != running
        _ready_within(first, 200, 10)
        second.start()  # a second serve on the folder: the same server
        assert _postmaster(data) == restarted
        first.stop()  # the server stays for the second serve
        _ready_within(second, 200, 1)
    finally:
        first.stop()
        second.stop()
    assert not (data / "pgdata" / "postmaster.pid").exists()  # the last one out stopped it
