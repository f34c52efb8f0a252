"""`loyalty serve` as a user runs it: a real process on the embedded PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from processes import free_port

from service.store.embedded import scratch_folder

LOYALTY = [sys.executable, "-m", "service.cli"]


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["LOYALTY_DATA_DIR"] = str(data_dir)
    return env


def _start(data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:  # the child keeps its own copy of the file
        process = subprocess.Popen(
            [*LOYALTY, "serve", "--port", str(port)], env=_env(data_dir), stdout=out, stderr=out
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        assert process.poll() is None, "serve exited early"
        time.sleep(0.2)
    process.kill()
    raise AssertionError("serve did not become ready")


def _stop(process: subprocess.Popen[bytes], log: Path) -> None:
    """SIGTERM, and a graceful exit: uvicorn shuts down, then re-raises the signal, which
    stops the embedded PostgreSQL on the way out (status 128 + SIGTERM), with no traceback."""
    process.send_signal(signal.SIGTERM)
    code = process.wait(timeout=30)
    output = log.read_text(errors="replace")
    assert code == 128 + signal.SIGTERM, f"serve exited with {code}:\n{output[-3000:]}"
    assert "Traceback" not in output, output[-3000:]


@pytest.mark.slow
def test_serve_twice_on_one_data_folder_keeps_data(tmp_path):
    data_dir = scratch_folder("loyalty-serve-")
    port = free_port()
    log = tmp_path / "serve.log"
    first = _start(data_dir, port, log)
    try:
        created = subprocess.run(
            [
                *LOYALTY,
                "keys",
                "create",
                "--name",
                "checkout",
                "--scope",
                "members:write",
                "--scope",
                "members:read",
            ],
            env=_env(data_dir),
            capture_output=True,
            text=True,
            check=True,
        )
        key = created.stdout.strip()
        headers = {"Authorization": f"Bearer {key}"}
        put = httpx.put(
            f"http://127.0.0.1:{port}/v1/members/alice",
            json={"display_name": "Alice"},
            headers=headers,
        )
        assert put.status_code == 200, put.text
    finally:
        _stop(first, log)
    # the embedded server stopped with the service
    assert not (data_dir / "pgdata" / "postmaster.pid").exists()
    second = _start(data_dir, port, log)
    try:
        got = httpx.get(f"http://127.0.0.1:{port}/v1/members/alice", headers=headers)
        assert got.status_code == 200
        assert got.json()["display_name"] == "Alice"
    finally:
        _stop(second, log)


RULES_DIR = Path(__file__).resolve().parents[1] / "rules"


@pytest.mark.slow
def test_serve_with_no_rules_folder_and_nothing_published_refuses_to_start(tmp_path):
    """Started where there is no rules/ folder and nothing is published, `serve` exits at once
    with one line that says what to do (never ready answering 503, never a traceback loop);
    once a ruleset is published it starts there as it is."""
    empty = tmp_path / "empty"
    empty.mkdir()
    env = _env(scratch_folder("loyalty-norules-"))
    refused = subprocess.run(
        [*LOYALTY, "serve", "--port", str(free_port())],
        cwd=empty,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2
    assert "Traceback" not in refused.stderr + refused.stdout
    said = [line for line in refused.stderr.splitlines() if not line.startswith("{")]
    assert said == [
        f"error: no rules to run: {empty / 'rules'} is not a folder and no ruleset is "
        "published; start in the folder that holds rules/, set LOYALTY_RULES_DIR to the rules "
        "folder, or publish one with `loyalty rules publish DIR`"
    ]
    published = subprocess.run(
        [*LOYALTY, "rules", "publish", str(RULES_DIR)],
        cwd=empty,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert published.returncode == 0, published.stderr
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [*LOYALTY, "serve", "--port", str(port)], cwd=empty, env=env, stdout=out, stderr=out
        )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.poll() is None, "serve exited with a published ruleset"
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=1)
                if ready.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            raise AssertionError("serve did not become ready")
    finally:
        _stop(process, log)


@pytest.mark.slow
def test_serve_with_rules_that_do_not_load_and_nothing_published_says_why(tmp_path):
    """A rules folder that does not load, with nothing published, is refused at start with
    every problem at file:line:col (once, no traceback), not a service answering 503."""
    folder = tmp_path / "rules"
    folder.mkdir()
    for source in RULES_DIR.glob("*.yaml"):
        (folder / source.name).write_text(source.read_text())
    earn = folder / "earn.yaml"
    earn.write_text(earn.read_text().replace("on: purchase", "on: purchace", 1))
    env = _env(scratch_folder("loyalty-badrules-"))
    env["LOYALTY_RULES_DIR"] = str(folder)
    refused = subprocess.run(
        [*LOYALTY, "serve", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2, refused.stderr
    assert "Traceback" not in refused.stderr + refused.stdout
    said = [line for line in refused.stderr.splitlines() if not line.startswith("{")]
    assert said[0].startswith(f"error: no rules to run: the rules in {folder} do not load")
    assert any(line.startswith(f"{folder}/earn.yaml:") and "purchace" in line for line in said)
