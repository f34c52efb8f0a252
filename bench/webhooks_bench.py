"""Webhook figures (not a test): deliveries per second from the outbox to a local receiver,
and single-event ingest with webhooks on against the same ingest with no endpoint.

Run: .venv/bin/python -m bench.webhooks_bench [--members 20000] [--workers 2] [--duration 10]

Sets up as `python -m bench` does (embedded PostgreSQL with durable commits, or a database of
its own on DATABASE_URL's server; seeded members; `loyalty serve --workers W`, whose in-process
delivery worker sends the webhooks), with a receiver process on loopback answering 204:

1. ingest, no endpoint subscribed (the outbox CTE writes nothing);
2. ingest with an endpoint subscribed to every kind the intake writes, delivering meanwhile;
3. the endpoint paused while ingest fills the outbox, then resumed: deliveries/s until the
   queue is empty (the workers' passes alone, one member's messages in order).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request
from typing import Any

import asyncpg

from bench.run import Bench, Figure

EVENT_KINDS = [
    "points.earned",
    "points.reversed",
    "tier.changed",
    "badge.awarded",
    "challenge.completed",
    "challenge.progressed",
    "streak.milestone",
    "reward.redeemed",
]


def _api(bench: Bench, method: str, path: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"http://127.0.0.1:{bench.port}{path}",
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {bench.key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


async def _pending(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(
            await conn.fetchval("SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'")
        )
    finally:
        await conn.close()


def _received(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/count", timeout=10) as r:
        return int(r.read())


def _ingest(bench: Bench, name: str) -> dict[str, Any]:
    figure = Figure(f"ingest_{name}", "ingest", "ingest", bench.args.concurrency, unit="events/s")
    result = bench.drive(figure, bench.args.duration, bench.args.warmup)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.webhooks_bench")
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args(argv)
    args.unix_socket = False
    args.servers = ("uvicorn",)
    args.batch_sizes = (100,)
    args.batch_concurrency = 4
    os.environ["LOYALTY_WEBHOOK_ALLOW_NETWORKS"] = "127.0.0.0/8"  # the receiver is on loopback
    bench = Bench(args)
    receiver = subprocess.Popen(
        [sys.executable, "-m", "bench.webhook_receiver"], stdout=subprocess.PIPE
    )
    bench.stack.callback(receiver.kill)
    assert receiver.stdout is not None
    receiver_port = int(receiver.stdout.readline())
    with bench.stack:
        bench.database()
        bench.seed()
        bench.serve()
        off = _ingest(bench, "off")
        print(f"ingest, no endpoint:            {off['throughput']:8.0f} events/s", flush=True)
        endpoint = _api(
            bench,
            "POST",
            "/v1/admin/webhooks/endpoints",
            {"url": f"http://127.0.0.1:{receiver_port}/hooks", "kinds": EVENT_KINDS},
        )
        endpoint_id = endpoint["endpoint_id"]
        on = _ingest(bench, "on")
        ratio = on["throughput"] / off["throughput"]
        print(
            f"ingest, webhooks on:            {on['throughput']:8.0f} events/s "
            f"({(1 - ratio) * 100:+.1f} % drop; target < 15 %)",
            flush=True,
        )
        deadline = time.monotonic() + 120
        while asyncio.run(_pending(bench.url)) and time.monotonic() < deadline:
            time.sleep(0.2)
        _api(bench, "POST", f"/v1/admin/webhooks/endpoints/{endpoint_id}/pause")
        _ingest(bench, "backlog")
        backlog = asyncio.run(_pending(bench.url))
        before = _received(receiver_port)
        started = time.perf_counter()
        _api(bench, "POST", f"/v1/admin/webhooks/endpoints/{endpoint_id}/resume")
        while asyncio.run(_pending(bench.url)) and time.perf_counter() - started < 600:
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        delivered = _received(receiver_port) - before
        print(
            f"deliveries from the outbox:     {delivered / seconds:8.0f} deliveries/s "
            f"({delivered:,} of a {backlog:,} backlog in {seconds:.1f} s, "
            f"{args.workers} workers)",
            flush=True,
        )
        bench._stop_server()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
