"""What one webhook delivery costs the sending client in CPU (not a test): the service's
`WebhookClient` against aiohttp's session (what the service used before), each posting the same
signed-size message to the benchmark's receiver (`bench.webhook_receiver`, its own process) over
kept-alive connections, 32 at a time.

Run: .venv/bin/python -m bench.webhook_client_bench [--requests 20000] [--rounds 3]

Prints, per client and round, the client process's CPU per request, the receiver's, and
requests per second; the rounds alternate the clients, since the two cores are shared.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

from bench import procs
from service.operations.webhook_client import WebhookClient

BODY = (
    b'{"type":"points.earned","timestamp":"2026-12-03T10:00:00Z","data":{"member_id":"m-1042",'
    b'"points":120,"rule_id":"base-earn","event_id":"ev-81734","balance":5120}}'
)
HEADERS = {
    "content-type": "application/json",
    "webhook-id": "msg_2Vx4c9dW0tqk4Ew1n0bCq2yVjKp",
    "webhook-timestamp": "1796292000",
    "webhook-signature": "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=",
}
CONCURRENCY = 32
Post = Callable[[int], Awaitable[int]]


async def _timed(post: Post, requests: int) -> tuple[float, float]:
    """(CPU microseconds per request, requests per second) of `requests` posts, 32 at once."""
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(n: int) -> None:
        async with gate:
            status = await post(n)
            assert status == 204, status

    await asyncio.gather(*(one(n) for n in range(min(2000, requests))))  # warm: connections
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(requests)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return cpu / requests * 1e6, requests / wall


async def _service_client(url: str, requests: int) -> tuple[float, float]:
    loopback = [ipaddress.ip_address("127.0.0.1")]
    client = WebhookClient(
        timeout=10, idle_limit=CONCURRENCY, user_agent="bench/1", max_answer=65536
    )
    async with client:
        return await _timed(lambda n: client.post(url, BODY, HEADERS, loopback), requests)


async def _aiohttp_client(url: str, requests: int) -> tuple[float, float]:
    import aiohttp  # a dev dependency: only this comparison uses it

    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=CONCURRENCY),
        timeout=aiohttp.ClientTimeout(total=10),
        trust_env=False,
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,
    )

    async def post(n: int) -> int:
        async with session.post(url, data=BODY, headers=HEADERS, allow_redirects=False) as r:
            await r.content.read(65536)
            return r.status

    async with session:
        return await _timed(post, requests)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.webhook_client_bench")
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    receiver = subprocess.Popen(
        [sys.executable, "-m", "bench.webhook_receiver"], stdout=subprocess.PIPE
    )
    try:
        assert receiver.stdout is not None
        url = f"http://127.0.0.1:{int(receiver.stdout.readline())}/hooks"
        clients = {"WebhookClient": _service_client, "aiohttp": _aiohttp_client}
        cpu: dict[str, list[float]] = {name: [] for name in clients}
        for round_no in range(args.rounds):
            for name, run in clients.items():
                before = procs.cpu_seconds(procs.tree(receiver.pid))
                us, rate = asyncio.run(run(url, args.requests))
                received = procs.cpu_used(receiver.pid, before)
                cpu[name].append(us)
                print(
                    f"round {round_no + 1}: {name:13} {us:6.0f} us CPU per request, "
                    f"{rate:7.0f} requests/s; the receiver "
                    f"{received / (args.requests + min(2000, args.requests)) * 1e6:.0f} us",
                    flush=True,
                )
        medians = {name: statistics.median(values) for name, values in cpu.items()}
        ours, theirs = medians["WebhookClient"], medians["aiohttp"]
        print(
            f"medians: WebhookClient {ours:.0f} us, aiohttp {theirs:.0f} us "
            f"of client CPU per delivery ({theirs / ours:.1f}x)",
            flush=True,
        )
    finally:
        receiver.kill()
    return 0


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()  # as `loyalty serve` runs
    except ImportError:  # pragma: no cover
        pass
    raise SystemExit(main())
