"""The load generator: one process, raw asyncio streams on uvloop, HTTP/1.1 keep-alive.

Run by `python -m bench` as a subprocess (so that its CPU use can be measured apart from the
server's), never imported by the service. It reads a JSON spec on stdin and prints one JSON
result on stdout:

    {"scenario": "ingest", "host": "127.0.0.1", "port": 8000, "concurrency": 32,
     "duration": 10, "warmup": 2, "members": 100000, "key": "lk_...", "secret": "...", ...}

Each of `concurrency` connections sends one operation at a time (closed loop) and times it from
the first byte written to the last byte read; operations completed during the warm-up are not
counted. An operation is one request, except `redeem` (hold, then commit: two requests). The
`pg` scenario is the raw PostgreSQL ceiling of the ingest path: the same three writes per event
straight through asyncpg, no HTTP and no rules; `pg_batch` the same writes for a batch of
events in one transaction, one array statement per table.

Hand-rolled rather than httpx/aiohttp: those cost 100-300 us of CPU per request, which on two
shared cores would measure the client instead of the server.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

BOARD = "weekly-points"


class HttpError(Exception):
    """The server answered something the scenario did not expect."""


class Client:
    """One keep-alive HTTP/1.1 connection; one request at a time."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        lower = head.lower()
        at = lower.find(b"\r\ncontent-length:")
        if at >= 0:
            end = lower.index(b"\r\n", at + 2)
            length = int(lower[at + 17 : end])
        elif b"transfer-encoding: chunked" in lower:
            raise HttpError("chunked responses are not expected")
        body = await self.reader.readexactly(length) if length else b""
        if b"connection: close" in lower:
            self.writer.close()
            self.writer = None
        return status, body


def _get(path: str, auth: str | None) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: bench"]
    if auth:
        lines.append(f"Authorization: Bearer {auth}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _post(path: str, auth: str, body: bytes, extra: str = "") -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {auth}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    )
    return head.encode() + body


class Scenario:
    """Builds each connection's operations; `ops_per_call` events (or pairs) per operation."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.members = int(spec["members"])
        self.key = spec.get("key", "")
        self.run_id = spec.get("run_id", "r")
        self.batch = int(spec.get("batch", 1))
        self.encoder = msgspec.json.Encoder()
        self.tokens: list[str] = []
        if spec["scenario"] == "me":
            self.tokens = _mint_tokens(spec["secret"], self.members, rng=random.Random(7))

    def member(self, rng: random.Random) -> str:
        return f"m{rng.randrange(self.members):07d}"

    def _event(self, rng: random.Random, event_id: str) -> dict[str, Any]:
        return {
            "id": event_id,
            "type": "purchase",
            "member_id": self.member(rng),
            "occurred_at": datetime.now(UTC).isoformat(),
            "attributes": {
                "order_id": event_id,
                "amount": f"{rng.randint(500, 20000) / 100:.2f}",
                "currency": "EUR",
            },
        }

    def operation(self, worker: int, rng: random.Random) -> Callable[[Client, int], Awaitable[int]]:
        """The coroutine one connection runs per operation; returns events (or 1)."""
        name = self.spec["scenario"]
        prefix = f"{self.run_id}-{worker}"

        async def live(client: Client, n: int) -> int:
            await _expect(client, _get("/health/live", None), 200)
            return 1

        async def ingest(client: Client, n: int) -> int:
            body = self.encoder.encode(self._event(rng, f"{prefix}-{n}"))
            await _expect(client, _post("/v1/events", self.key, body), 201)
            return 1

        async def batch(client: Client, n: int) -> int:
            events = [self._event(rng, f"{prefix}-{n}-{i}") for i in range(self.batch)]
            raw = _post("/v1/events/batch", self.key, self.encoder.encode({"events": events}))
            answer = msgspec.json.decode(await _expect(client, raw, 200))
            if answer["processed"] != self.batch:
                raise HttpError(
                    f"batch: {answer['refused']} refused, {answer['replayed']} replayed"
                )
            return self.batch

        async def me(client: Client, n: int) -> int:
            token = self.tokens[rng.randrange(len(self.tokens))]
            await _expect(client, _get("/v1/me", token), 200)
            return 1

        async def top(client: Client, n: int) -> int:
            await _expect(client, _get(f"/v1/leaderboards/{BOARD}?limit=10", self.key), 200)
            return 1

        async def rank(client: Client, n: int) -> int:
            path = f"/v1/leaderboards/{BOARD}/members/{self.member(rng)}"
            await _expect(client, _get(path, self.key), 200)
            return 1

        async def redeem(client: Client, n: int) -> int:
            member = self.member(rng)
            raw = _post(
                f"/v1/members/{member}/redemptions",
                self.key,
                b'{"points": 10, "hold": true}',
                f"Idempotency-Key: {prefix}-{n}\r\n",
            )
            held = msgspec.json.decode(await _expect(client, raw, 201))
            path = f"/v1/redemptions/{held['id']}/commit"
            await _expect(client, _post(path, self.key, b""), 200)
            return 1

        table = {
            "live": live,
            "ingest": ingest,
            "batch": batch,
            "me": me,
            "top": top,
            "rank": rank,
            "redeem": redeem,
        }
        return table[name]


def _mint_tokens(secret: str, members: int, rng: random.Random, count: int = 2000) -> list[str]:
    """Member tokens for random members, signed like the service's (HS256, same secret)."""
    import jwt

    now = datetime.now(UTC)
    claims = {"typ": "member", "iat": int(now.timestamp())}
    exp = int((now + timedelta(hours=2)).timestamp())
    return [
        jwt.encode(
            {**claims, "sub": f"m{rng.randrange(members):07d}", "exp": exp},
            secret,
            algorithm="HS256",
        )
        for _ in range(min(count, members))
    ]


async def _expect(client: Client, raw: bytes, status: int) -> bytes:
    got, body = await client.request(raw)
    if got != status:
        raise HttpError(f"HTTP {got}: {body[:300]!r}")
    return body


class PgScenario:
    """The raw PostgreSQL ceiling: per event, in one transaction, an event row insert, a ledger
    entry insert and a balances upsert, on scratch copies of those tables (`bench_*`)."""

    EVENT = (
        "INSERT INTO bench_events (member_id, event_id, type, occurred_at, received_at, "
        "body_hash, attributes, ruleset_version, result) "
        "VALUES ($1, $2, 'purchase', $3, $3, $4, $5::jsonb, 'v', $6::jsonb)"
    )
    ENTRY = (
        "INSERT INTO bench_ledger_entries (member_id, entry_no, kind, balance, points, lot_id, "
        "reason, at, event_id) VALUES ($1, $2, 'earn', 'pending', $3, $4, 'bench', $5, $4)"
    )
    BALANCE = (
        "INSERT INTO bench_balances (member_id, pending, lifetime_earned, entries) "
        "VALUES ($1, $2, $2, 1) ON CONFLICT (member_id) DO UPDATE SET "
        "pending = bench_balances.pending + excluded.pending, "
        "lifetime_earned = bench_balances.lifetime_earned + excluded.lifetime_earned, "
        "entries = bench_balances.entries + 1, updated_at = now()"
    )

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.members = int(spec["members"])
        self.run_id = spec.get("run_id", "r")

    async def connect(self) -> Any:
        import asyncpg

        return await asyncpg.connect(self.spec["database_url"])

    def operation(self, worker: int, rng: random.Random) -> Callable[[Any, int], Awaitable[int]]:
        prefix = f"{self.run_id}-{worker}"
        attributes = '{"order_id": "x", "amount": "42.50", "currency": "EUR"}'
        result = '{"points": 425, "earned": 425, "reversed": 0}'

        async def write(conn: Any, n: int) -> int:
            member = f"m{rng.randrange(self.members):07d}"
            event_id = f"{prefix}-{n}"
            now = datetime.now(UTC)
            async with conn.transaction():
                await conn.execute(self.EVENT, member, event_id, now, "h" * 64, attributes, result)
                await conn.execute(self.ENTRY, member, worker * 10**9 + n, 425, event_id, now)
                await conn.execute(self.BALANCE, member, 425)
            return 1

        return write


class PgBatchScenario(PgScenario):
    """The raw PostgreSQL ceiling of a batch: the same three writes for `batch` events of
    distinct members in one transaction, one array (`unnest`) statement per table."""

    EVENTS = (
        "INSERT INTO bench_events (member_id, event_id, type, occurred_at, received_at, "
        "body_hash, attributes, ruleset_version, result) "
        "SELECT m, e, 'purchase', $3, $3, $4, $5::jsonb, 'v', $6::jsonb "
        "FROM unnest($1::text[], $2::text[]) AS x(m, e)"
    )
    ENTRIES = (
        "INSERT INTO bench_ledger_entries (member_id, entry_no, kind, balance, points, lot_id, "
        "reason, at, event_id) SELECT m, n, 'earn', 'pending', 425, e, 'bench', $4, e "
        "FROM unnest($1::text[], $2::bigint[], $3::text[]) AS x(m, n, e)"
    )
    BALANCES = (
        "INSERT INTO bench_balances (member_id, pending, lifetime_earned, entries) "
        "SELECT m, 425, 425, 1 FROM unnest($1::text[]) AS x(m) "
        "ON CONFLICT (member_id) DO UPDATE SET "
        "pending = bench_balances.pending + excluded.pending, "
        "lifetime_earned = bench_balances.lifetime_earned + excluded.lifetime_earned, "
        "entries = bench_balances.entries + 1, updated_at = now()"
    )

    def operation(self, worker: int, rng: random.Random) -> Callable[[Any, int], Awaitable[int]]:
        prefix = f"{self.run_id}-{worker}"
        size = int(self.spec.get("batch") or 1000)
        attributes = '{"order_id": "x", "amount": "42.50", "currency": "EUR"}'
        result = '{"points": 425, "earned": 425, "reversed": 0}'

        async def write(conn: Any, n: int) -> int:
            members = [f"m{i:07d}" for i in sorted(rng.sample(range(self.members), size))]
            events = [f"{prefix}-{n}-{i}" for i in range(size)]
            numbers = [(worker * 10**6 + n) * 10**4 + i for i in range(size)]
            now = datetime.now(UTC)
            async with conn.transaction():
                await conn.execute(self.EVENTS, members, events, now, "h" * 64, attributes, result)
                await conn.execute(self.ENTRIES, members, numbers, events, now)
                await conn.execute(self.BALANCES, members)
            return size

        return write


async def _run(spec: dict[str, Any]) -> dict[str, Any]:
    concurrency = int(spec["concurrency"])
    warmup, duration = float(spec["warmup"]), float(spec["duration"])
    is_pg = spec["scenario"] in ("pg", "pg_batch")
    scenario: Any = (
        PgBatchScenario(spec)
        if spec["scenario"] == "pg_batch"
        else PgScenario(spec)
        if is_pg
        else Scenario(spec)
    )
    started = time.perf_counter()
    measure_from = started + warmup
    stop_at = measure_from + duration
    latencies: list[float] = []
    counted = [0]
    last_end = [measure_from]
    everything: list[tuple[float, float, int]] = []
    """(end, latency, units) of every operation, warm-up included."""
    errors: Counter[str] = Counter()

    # With a `rate` (operations/s over all connections) each connection paces itself (the
    # memory soak); without one it sends the next operation as soon as the last one ends.
    interval = concurrency / float(spec["rate"]) if spec.get("rate") else 0.0

    async def worker(index: int) -> None:
        rng = random.Random(f"{spec.get('run_id')}-{index}")
        operation = scenario.operation(index, rng)
        conn: Any = await scenario.connect() if is_pg else Client(spec["host"], int(spec["port"]))
        n = 0
        next_at = started + rng.random() * interval
        try:
            while True:
                if interval:
                    await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
                    next_at += interval
                begun = time.perf_counter()
                if begun >= stop_at:
                    break
                n += 1
                try:
                    units = await operation(conn, n)
                except (HttpError, OSError, asyncio.IncompleteReadError) as exc:
                    errors[str(exc)[:160]] += 1
                    if not is_pg:
                        conn = Client(spec["host"], int(spec["port"]))
                    continue
                except Exception as exc:  # a database error in the pg scenario
                    errors[f"{type(exc).__name__}: {exc}"[:160]] += 1
                    continue
                ended = time.perf_counter()
                # Counted: operations begun in the window, however long the last one runs (a
                # batch of 1,000 may take a second); the window closes when the last one ends.
                if begun >= measure_from:
                    latencies.append(ended - begun)
                    counted[0] += units
                    last_end[0] = max(last_end[0], ended)
                everything.append((ended, ended - begun, units))
        finally:
            if is_pg:
                await conn.close()

    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    if latencies:
        return _summary(spec, latencies, counted[0], last_end[0] - measure_from, errors, False)
    # Operations slower than the warm-up (a batch of 1,000 on a busy machine): count them all,
    # from the start, rather than report nothing.
    ended = max((e for e, _, _ in everything), default=started + duration)
    return _summary(
        spec,
        [latency for _, latency, _ in everything],
        sum(units for _, _, units in everything),
        ended - started,
        errors,
        True,
    )


def _summary(
    spec: dict[str, Any],
    latencies: list[float],
    units: int,
    duration: float,
    errors: Counter[str],
    with_warmup: bool,
) -> dict[str, Any]:
    ordered = sorted(latencies)

    def quantile(q: float) -> float | None:
        if not ordered:
            return None
        return ordered[min(len(ordered) - 1, max(0, math.ceil(len(ordered) * q) - 1))] * 1000

    return {
        "scenario": spec["scenario"],
        "concurrency": int(spec["concurrency"]),
        "operations": len(ordered),
        "units": units,
        "throughput": units / duration,
        "ops_per_second": len(ordered) / duration,
        "window_s": duration,
        "warmup_counted": with_warmup,
        "median_ms": quantile(0.5),
        "p99_ms": quantile(0.99),
        "errors": sum(errors.values()),
        "error_samples": dict(errors.most_common(3)),
    }


def main() -> None:
    spec = json.loads(sys.stdin.read())
    try:
        import uvloop

        result = uvloop.run(_run(spec))
    except ImportError:  # uvloop has no Windows build; asyncio is slower but works
        result = asyncio.run(_run(spec))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
