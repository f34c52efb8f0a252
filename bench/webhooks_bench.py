"""Webhook figures (not a test): deliveries per second from the outbox to a local receiver,
and single-event ingest with webhooks on against the same ingest with no endpoint.

Run: .venv/bin/python -m bench.webhooks_bench [--members 20000] [--workers 2] [--duration 10]

Sets up as `python -m bench` does (embedded PostgreSQL with durable commits, or a database of
its own on DATABASE_URL's server; seeded members; `loyalty serve --workers W`, whose in-process
delivery worker sends the webhooks), with a receiver process on loopback answering 204:

1. ingest, no endpoint subscribed (the outbox CTE writes nothing);
2. ingest with an endpoint subscribed to every kind the intake writes, delivering meanwhile;
   then with it paused (the outbox is written, nothing is sent); alternated, `--rounds` times;
3. the endpoint paused while ingest fills the outbox, then resumed: deliveries/s until the
   queue is empty (the workers' passes alone, one member's messages in order).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
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


def _report(name: str, result: dict[str, Any], cpu: list[float]) -> float:
    cpu.append(result["cpu_ms_per_event"])
    print(
        f"ingest, {name + ':':17} {result['throughput']:8.0f} events/s, "
        f"{result['cpu_ms_per_event']:.2f} ms CPU per event",
        flush=True,
    )
    return float(result["throughput"])


def _drain(bench: Bench) -> None:
    """Wait (up to 2 minutes) until no delivery is pending."""
    deadline = time.monotonic() + 120
    while asyncio.run(_pending(bench.url)) and time.monotonic() < deadline:
        time.sleep(0.2)


def _ingest(bench: Bench, name: str) -> dict[str, Any]:
    figure = Figure(f"ingest_{name}", "ingest", "ingest", bench.args.concurrency, unit="events/s")
    result = bench.drive(figure, bench.args.duration, bench.args.warmup)
    cores = result.get("server_cpu", 0.0) + result.get("postgres_cpu", 0.0)
    result["cpu_ms_per_event"] = cores * 1000 / max(result["throughput"], 1e-9)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.webhooks_bench")
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=6, help="ingest without/with rounds")
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
        url = f"http://127.0.0.1:{receiver_port}/hooks"
        offs: list[float] = []
        ons: list[float] = []
        paused: list[float] = []
        cpu: dict[str, list[float]] = {"off": [], "on": [], "paused": []}
        endpoint_id = ""
        for round_no in range(args.rounds):  # alternated: the two cores are noisy
            if endpoint_id:
                _api(bench, "DELETE", f"/v1/admin/webhooks/endpoints/{endpoint_id}")
            offs.append(_report("no endpoint", _ingest(bench, f"off{round_no}"), cpu["off"]))
            body = {"url": url, "kinds": EVENT_KINDS}
            endpoint_id = _api(bench, "POST", "/v1/admin/webhooks/endpoints", body)["endpoint_id"]
            ons.append(_report("webhooks on", _ingest(bench, f"on{round_no}"), cpu["on"]))
            _api(bench, "POST", f"/v1/admin/webhooks/endpoints/{endpoint_id}/pause")
            paused.append(
                _report("endpoint paused", _ingest(bench, f"paused{round_no}"), cpu["paused"])
            )
            _api(bench, "POST", f"/v1/admin/webhooks/endpoints/{endpoint_id}/resume")
            _drain(bench)
        off, on, kept = (statistics.median(x) for x in (offs, ons, paused))
        print(
            f"ingest medians: {off:.0f} events/s with no endpoint; {on:.0f} with webhooks on, "
            f"delivered by the same processes meanwhile ({(1 - on / off) * 100:+.1f} %); "
            f"{kept:.0f} writing the outbox only, endpoint paused ({(1 - kept / off) * 100:+.1f} "
            "%); target: a drop under 15 %",
            flush=True,
        )
        drops = sorted((1 - o / f) * 100 for o, f in zip(ons, offs, strict=True))
        print(
            "drop with webhooks on, round by round (each against the round's own no-endpoint "
            f"ingest): median {statistics.median(drops):+.1f} %, from {drops[0]:+.1f} to "
            f"{drops[-1]:+.1f} %",
            flush=True,
        )
        medians = {k: statistics.median(v) for k, v in cpu.items()}
        print(
            "CPU (service + PostgreSQL) per event, medians: "
            f"{medians['off']:.2f} ms with no endpoint, {medians['on']:.2f} ms with webhooks on "
            f"(delivery included), {medians['paused']:.2f} ms writing the outbox only",
            flush=True,
        )
        _drain(bench)
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
