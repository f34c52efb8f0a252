"""`python -m bench`: the service against its own ceilings, side by side, in one run.

Starts the embedded PostgreSQL in a temporary folder (or creates a fresh database on
`DATABASE_URL`'s server), migrates, seeds members by COPY, starts `loyalty serve --workers W`
as deployed (rate limits off), then drives each figure from a separate load-generator process
(`bench.loadgen`), and prints figure, value, ceiling and ratio; the same goes to
`bench/results/<timestamp>.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from bench import procs
from bench.seed import create_key, seed_members

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


@dataclass
class Figure:
    """One line of the table: what ran, at which concurrency, against which ceiling."""

    key: str
    label: str
    scenario: str
    concurrency: int
    ceiling: str | None = None
    second_ceiling: str | None = None
    """A second ceiling to compare with (batches: the batch ceiling as well as the single one)."""
    unit: str = "req/s"
    batch: int = 1
    targets: dict[str, float] = field(default_factory=dict)
    """min_throughput, min_ratio, min_second_ratio, max_p99_ms."""


def _figures(args: argparse.Namespace) -> list[Figure]:
    c, bc = args.concurrency, args.batch_concurrency
    largest = max(args.batch_sizes)
    return [
        Figure("http_ceiling", "HTTP ceiling: GET /health/live", "live", c),
        Figure("pg_ceiling", "PostgreSQL ceiling: event+entry+balance tx", "pg", c, unit="tx/s"),
        Figure(
            "pg_batch_ceiling",
            f"PostgreSQL batch ceiling: the same writes, {largest:,} events/tx, arrays",
            "pg_batch",
            bc,
            unit="events/s",
            batch=largest,
        ),
        Figure(
            "ingest",
            "single-event ingest POST /v1/events",
            "ingest",
            c,
            ceiling="pg_ceiling",
            unit="events/s",
            targets={"min_ratio": 0.6, "max_p99_ms": 50},
        ),
        *(
            Figure(
                f"batch{size}",
                f"batch ingest, {size:,} events/request",
                "batch",
                bc,
                ceiling="pg_ceiling",
                second_ceiling="pg_batch_ceiling",
                unit="events/s",
                batch=size,
                targets={"min_ratio": 3.0, "min_second_ratio": 0.4} if size == largest else {},
            )
            for size in args.batch_sizes
        ),
        Figure(
            "member_read",
            "member read GET /v1/me",
            "me",
            c,
            ceiling="http_ceiling",
            targets={"min_ratio": 0.35, "max_p99_ms": 20},
        ),
        Figure("board_top", "leaderboard top-10", "top", c, ceiling="http_ceiling"),
        Figure(
            "board_rank",
            "leaderboard rank of a member",
            "rank",
            c,
            ceiling="http_ceiling",
            targets={"min_ratio": 0.25},
        ),
        Figure(
            "board_rank_c1",
            "leaderboard rank of a member, one client",
            "rank",
            1,
            ceiling="http_ceiling",
            targets={"max_p99_ms": 10},
        ),
        Figure(
            "redemption",
            "redemption: hold + commit (one pair)",
            "redeem",
            c,
            ceiling="pg_ceiling",
            unit="pairs/s",
            targets={"min_ratio": 0.2},
        ),
    ]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(port: int, server: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the service exited with {server.returncode} before it was ready")
        ready = f"http://127.0.0.1:{port}/health/ready"
        with suppress(OSError), urllib.request.urlopen(ready, timeout=2) as answer:
            if answer.status == 200:
                return
        time.sleep(0.2)
    raise SystemExit("the service did not become ready in time")


class Bench:
    """One run: database, seed, server, figures, table."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.run_id = secrets.token_hex(3)
        self.secret = secrets.token_urlsafe(32)
        self.stack = ExitStack()
        self.url = ""
        self.service_url = ""
        """What the service and the raw PostgreSQL ceiling connect with (`url` unless a socket)."""
        self.key = ""
        self.port = _free_port()
        self.server: subprocess.Popen[bytes] | None = None
        self.postgres_pid: int | None = None
        self.results: dict[str, dict[str, Any]] = {}
        self.notes: list[str] = []
        self.comparison: dict[str, dict[str, float]] = {}
        self.server_index = 0

    # -- set-up ------------------------------------------------------------------------------

    def database(self) -> None:
        """A fresh database: embedded in a temporary folder, or a new one on DATABASE_URL."""
        external = os.environ.get("DATABASE_URL")
        if external:
            name = f"loyalty_bench_{self.run_id}"
            base = external.rsplit("/", 1)[0]
            asyncio.run(_admin(external, f'CREATE DATABASE "{name}"'))
            self.stack.callback(
                lambda: asyncio.run(_admin(external, f'DROP DATABASE "{name}" WITH (FORCE)'))
            )
            self.url = f"{base}/{name}"
            print(f"database: {name} on DATABASE_URL's server")
            return
        from service.store.embedded import EmbeddedPostgres, scratch_folder

        folder = scratch_folder("loyalty-bench-")
        self.stack.callback(shutil.rmtree, folder, True)
        server = EmbeddedPostgres(folder)  # durable: fsync and synchronous commit on
        self.url = server.acquire("loyalty_bench")
        self.stack.callback(server.release)
        if self.args.unix_socket:
            # The same server through its Unix socket: a same-host deployment's usual choice,
            # and a cheaper round trip than loopback TCP (about 80 us against 100 us here).
            port = self.url.rsplit(":", 1)[1].split("/")[0]
            login = self.url.split("//", 1)[1].split("@", 1)[0]  # postgres:password
            self.service_url = (
                f"postgresql://{login}@/loyalty_bench?host={folder}/socket&port={port}"
            )
        pid_line = (server.pgdata / "postmaster.pid").read_text().split()[0]
        self.postgres_pid = int(pid_line)
        print(f"database: embedded PostgreSQL (durable commits) in {folder}")

    def seed(self) -> None:
        from service.store.migrate import migrate

        started = time.perf_counter()
        migrate(self.url)
        print(f"migrated in {time.perf_counter() - started:.1f} s")

        async def run() -> tuple[str, float, str]:
            conn = await asyncpg.connect(self.url)
            try:
                key = await create_key(conn)
                seconds = await seed_members(conn, self.args.members)
                version = await conn.fetchval("SHOW server_version")
                return key, seconds, str(version)
            finally:
                await conn.close()

        self.key, seconds, self.pg_version = asyncio.run(run())
        print(f"seeded {self.args.members:,} members (points, board scores) in {seconds:.1f} s")

    def serve(self) -> None:
        script = Path(sys.executable).with_name("loyalty")
        command = [str(script)] if script.exists() else [sys.executable, "-m", "service.cli"]
        env = {
            **os.environ,
            "DATABASE_URL": self.service_url or self.url,
            "LOYALTY_TOKEN_SECRETS": self.secret,
            "LOYALTY_RATE_LIMIT_PER_MINUTE": "0",
            "LOYALTY_RATE_LIMIT_EVENTS_PER_MINUTE": "0",
            "LOYALTY_RULES_DIR": str(ROOT / "rules"),
        }
        # The service's log (an access line per request: megabytes) lives only for the run.
        folder = Path(tempfile.mkdtemp(prefix="loyalty-bench-log-"))
        self.stack.callback(shutil.rmtree, folder, True)
        self.log_path = folder / "serve.log"
        log = open(self.log_path, "wb")  # noqa: SIM115 - closed by the stack
        self.stack.callback(log.close)
        server_name = self.server_name
        self.server = subprocess.Popen(
            [
                *command,
                "serve",
                "--workers",
                str(self.args.workers),
                "--port",
                str(self.port),
                "--server",
                server_name,
            ],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        self.stack.callback(self._stop_server)
        started = time.perf_counter()
        try:
            _wait_ready(self.port, self.server)
        except SystemExit:
            print(self.log_path.read_text(errors="replace")[-3000:], file=sys.stderr)
            raise
        what = "uvicorn, uvloop, httptools" if server_name == "uvicorn" else "granian, uvloop"
        print(
            f"service: loyalty serve --workers {self.args.workers} --server {server_name} "
            f"({what}) ready in {time.perf_counter() - started:.1f} s on port {self.port}"
        )

    def _stop_server(self) -> None:
        if self.server is None or self.server.poll() is not None:
            return
        self.server.send_signal(signal.SIGINT)
        try:
            self.server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.server.pid, signal.SIGKILL)
            self.server.wait()

    # -- load ----------------------------------------------------------------------------------

    def drive(
        self, figure: Figure, duration: float, warmup: float, rate: float = 0
    ) -> dict[str, Any]:
        """Run the load generator for one figure; adds its and the server's CPU use."""
        spec = {
            "scenario": figure.scenario,
            "host": "127.0.0.1",
            "port": self.port,
            "concurrency": figure.concurrency,
            "duration": duration,
            "warmup": warmup,
            "members": self.args.members,
            "key": self.key,
            "secret": self.secret,
            "run_id": f"{self.run_id}{figure.key}{self.server_index}",
            "batch": figure.batch,
            "database_url": self.service_url or self.url,
            "rate": rate,
        }
        server_pids = procs.tree(self.server.pid) if self.server else []
        pg_pids = procs.tree(self.postgres_pid) if self.postgres_pid else []
        server_cpu, pg_cpu = procs.cpu_seconds(server_pids), procs.cpu_seconds(pg_pids)
        started = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-m", "bench.loadgen"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write(json.dumps(spec).encode())
        child.stdin.close()
        output = child.stdout.read()
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        if child.returncode != 0:
            raise SystemExit(f"the load generator failed for {figure.key} ({child.returncode})")
        result: dict[str, Any] = json.loads(output)
        result["loadgen_cpu"] = (usage.ru_utime + usage.ru_stime) / wall
        if procs.available():
            if self.server:
                result["server_cpu"] = procs.cpu_used(self.server.pid, server_cpu) / wall
            if self.postgres_pid:
                result["postgres_cpu"] = procs.cpu_used(self.postgres_pid, pg_cpu) / wall
        return result

    @property
    def server_name(self) -> str:
        return str(self.args.servers[self.server_index])

    def compare_servers(self) -> None:
        """The same app on each other server, for the figures HTTP work decides."""
        keys = [k for k in COMPARED if k in self.results]
        self.comparison[self.server_name] = {k: self.results[k]["throughput"] for k in keys}
        figures = {f.key: f for f in _figures(self.args)}
        for index in range(1, len(self.args.servers)):
            self._stop_server()
            self.server_index = index
            self.serve()
            measured = {}
            for key in keys:
                result = self.drive(figures[key], self.args.duration, self.args.warmup)
                print(_line(figures[key], result), flush=True)
                measured[key] = result["throughput"]
                if result["errors"]:
                    self.notes.append(
                        f"{key} on {self.server_name}: {result['errors']} errors "
                        f"{result['error_samples']}"
                    )
            self.comparison[self.server_name] = measured

    def figures(self) -> None:
        for figure in self.selected():
            result = self.drive(figure, self.args.duration, self.args.warmup)
            self.results[figure.key] = {
                "label": figure.label,
                "unit": figure.unit,
                **result,
            }
            line = _line(figure, result)
            print(line, flush=True)
            if result["errors"]:
                self.notes.append(
                    f"{figure.key}: {result['errors']} errors {result['error_samples']}"
                )
        for figure in self.selected():
            entry = self.results[figure.key]
            entry["ceiling"] = figure.ceiling
            entry["targets"] = figure.targets
            for name, ceiling_key in (("", figure.ceiling), ("second_", figure.second_ceiling)):
                if ceiling_key:
                    entry[f"{name}ceiling"] = ceiling_key
                    ceiling = self.results[ceiling_key]["throughput"]
                    entry[f"{name}ratio"] = entry["throughput"] / ceiling if ceiling else None
            entry["met"] = _met(figure, entry)

    def selected(self) -> list[Figure]:
        """The figures asked for with --only (and the ceilings they are compared with)."""
        figures = _figures(self.args)
        if not self.args.only:
            return figures
        wanted = set(self.args.only.split(","))
        wanted |= {f.ceiling for f in figures if f.key in wanted and f.ceiling}
        wanted |= {f.second_ceiling for f in figures if f.key in wanted and f.second_ceiling}
        return [f for f in figures if f.key in wanted]

    def soak(self, seconds: float) -> None:
        """Ingest at 70 % of the measured maximum; sample the server's RSS every 5 s."""
        assert self.server is not None
        rate = 0.7 * self.results["ingest"]["throughput"]
        figure = Figure("soak", "memory soak", "ingest", self.args.concurrency)
        samples: list[tuple[float, int]] = []
        stop = [False]

        def sample() -> None:
            started = time.monotonic()
            while not stop[0]:
                pids = procs.tree(self.server.pid) if self.server else []
                samples.append((time.monotonic() - started, sum(procs.rss_bytes(p) for p in pids)))
                time.sleep(5)

        import threading

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        result = self.drive(figure, seconds, 0, rate=rate)
        stop[0] = True
        sampler.join()
        mib = [s[1] / 2**20 for s in samples]
        self.results["soak"] = {
            **result,
            "target_rate": rate,
            "rss_mib_start": mib[0],
            "rss_mib_end": mib[-1],
            "rss_mib_max": max(mib),
            "rss_samples": [
                (round(t, 1), round(m, 1)) for (t, _), m in zip(samples, mib, strict=True)
            ],
            "how": "sum of VmRSS (/proc/<pid>/statm) of `loyalty serve` and its worker processes, "
            "every 5 s, while the load generator posts single events at 70 % of the max rate",
        }
        print(
            f"soak {seconds:.0f} s at {rate:,.0f} events/s (got {result['throughput']:,.0f}): "
            f"server RSS start {mib[0]:.0f} MiB, end {mib[-1]:.0f} MiB, max {max(mib):.0f} MiB"
        )

    def verify(self) -> None:
        from service.operations.ledger_check import MemberMismatch, verify_ledger
        from service.store.database import Database

        async def run() -> tuple[int, int]:
            db = Database(self.url, min_size=0, max_size=2, timeout=120)
            await db.open()
            bad = checked = 0
            try:
                async for outcome in verify_ledger(db):
                    if isinstance(outcome, MemberMismatch):
                        bad += 1
                    else:
                        checked = outcome
            finally:
                await db.close()
            return checked, bad

        checked, bad = asyncio.run(run())
        print(f"ledger verify: {checked:,} members checked, {bad} with differences")
        if bad:
            raise SystemExit("the ledger does not add up after the run")

    # -- output ----------------------------------------------------------------------------------

    def report(self, started: datetime) -> Path:
        loadgen = [r["loadgen_cpu"] for r in self.results.values() if "loadgen_cpu" in r]
        document = {
            "started_at": started.isoformat(),
            "machine": _machine(self.pg_version),
            "settings": {
                "members": self.args.members,
                "workers": self.args.workers,
                "concurrency": self.args.concurrency,
                "batch_concurrency": self.args.batch_concurrency,
                "duration_s": self.args.duration,
                "warmup_s": self.args.warmup,
                "smoke": self.args.smoke,
            },
            "load_generator": "bench.loadgen (Python asyncio streams on uvloop, HTTP/1.1 "
            "keep-alive, one process)"
            + ("; wrk is installed but not driven yet" if shutil.which("wrk") else ""),
            "load_generator_cpu_cores_median": statistics.median(loadgen) if loadgen else None,
            "figures": self.results,
            "servers": self.comparison,
            "notes": self.notes,
        }
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"{started.strftime('%Y%m%dT%H%M%SZ')}.json"
        path.write_text(json.dumps(document, indent=2))
        print()
        print(_table(self.results))
        if len(self.comparison) > 1:
            print()
            print(_server_table(self.comparison))
        print()
        print(
            f"load generator: {document['load_generator']}; its CPU use, median over figures: "
            f"{document['load_generator_cpu_cores_median']:.2f} cores of {os.cpu_count()}"
        )
        for note in self.notes:
            print(f"note: {note}")
        print(f"written: {path.relative_to(ROOT)}")
        return path


async def _admin(url: str, sql: str) -> None:
    base = url.rsplit("/", 1)[0]
    conn = await asyncpg.connect(f"{base}/postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _met(figure: Figure, entry: dict[str, Any]) -> bool | None:
    if not figure.targets:
        return None
    checks = []
    t = figure.targets
    if "min_throughput" in t:
        checks.append(entry["throughput"] >= t["min_throughput"])
    if "min_ratio" in t:
        checks.append((entry.get("ratio") or 0) >= t["min_ratio"])
    if "min_second_ratio" in t:
        checks.append((entry.get("second_ratio") or 0) >= t["min_second_ratio"])
    if "max_p99_ms" in t:
        checks.append(entry["p99_ms"] is not None and entry["p99_ms"] < t["max_p99_ms"])
    return all(checks) and entry["errors"] == 0


def _target_text(targets: dict[str, float]) -> str:
    parts = []
    if "min_throughput" in targets:
        parts.append(f">= {targets['min_throughput']:,.0f}/s")
    if "min_ratio" in targets:
        parts.append(f"ratio >= {targets['min_ratio']:.2f}")
    if "min_second_ratio" in targets:
        parts.append(f"batch ratio >= {targets['min_second_ratio']:.2f}")
    if "max_p99_ms" in targets:
        parts.append(f"p99 < {targets['max_p99_ms']:.0f} ms")
    return ", ".join(parts)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _line(figure: Figure, r: dict[str, Any]) -> str:
    return (
        f"  {figure.key:<13} c={figure.concurrency:<3} {r['throughput']:>9,.0f} {figure.unit:<9} "
        f"median {_ms(r['median_ms'])} ms  p99 {_ms(r['p99_ms'])} ms  errors {r['errors']}  "
        f"cpu: loadgen {r['loadgen_cpu']:.2f} server {r.get('server_cpu', 0):.2f} "
        f"postgres {r.get('postgres_cpu', 0):.2f}"
    )


def _table(results: dict[str, dict[str, Any]]) -> str:
    header = (
        "| figure | conc. | throughput | median ms | p99 ms | ceiling | ratio | target | met |",
        "|---|---|---|---|---|---|---|---|---|",
    )
    lines = list(header)
    for key, r in results.items():
        if key == "soak":
            continue
        ceilings = [r.get("ceiling"), r.get("second_ceiling")]
        ceiling_text = (
            "; ".join(f"{c} {results[c]['throughput']:,.0f}/s" for c in ceilings if c) or "-"
        )
        ratios = [r.get("ratio"), r.get("second_ratio")]
        ratio_text = "; ".join(f"{x:.2f}" for x in ratios if x is not None) or "-"
        target_text = _target_text(r.get("targets", {})) or "-"
        met = r.get("met")
        lines.append(
            f"| {r['label']} | {r['concurrency']} | {r['throughput']:,.0f} {r['unit']} | "
            f"{_ms(r['median_ms'])} | {_ms(r['p99_ms'])} | {ceiling_text} | "
            f"{ratio_text} | {target_text} | "
            f"{'-' if met is None else ('yes' if met else 'NO')} |"
        )
    return "\n".join(lines)


COMPARED = ("http_ceiling", "ingest", "member_read", "board_rank")
"""Figures measured on every server of `--servers` (the others run on the first only)."""


def _server_table(comparison: dict[str, dict[str, float]]) -> str:
    servers = list(comparison)
    lines = [
        "| figure | " + " | ".join(servers) + " |",
        "|---|" + "---|" * len(servers),
    ]
    for key in COMPARED:
        if all(key in comparison[s] for s in servers):
            values = " | ".join(f"{comparison[s][key]:,.0f}/s" for s in servers)
            lines.append(f"| {key} | {values} |")
    return "\n".join(lines)


def _machine(pg_version: str) -> dict[str, Any]:
    memory = None
    with suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 2**20:.0f} GiB"
    return {
        "cpus": os.cpu_count(),
        "memory": memory,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "postgresql": pg_version,
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Benchmark the service against its own ceilings."
    )
    parser.add_argument("--members", type=int, default=100_000, help="members to seed (100,000)")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes (2)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per figure (10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before counting (2)")
    parser.add_argument("--concurrency", type=int, default=32, help="connections (32)")
    parser.add_argument(
        "--batch-concurrency", type=int, default=4, help="concurrent batch requests (4)"
    )
    parser.add_argument("--smoke", action="store_true", help="a ~10 s run with tiny numbers")
    parser.add_argument(
        "--webhooks",
        action="store_true",
        help="then the webhook figures (bench.webhooks_bench: deliveries/s, ingest with them on)",
    )
    parser.add_argument(
        "--soak", type=float, default=0, metavar="SECONDS", help="memory soak at 70%% of max ingest"
    )
    parser.add_argument(
        "--batch-sizes",
        type=lambda text: tuple(int(n) for n in text.split(",")),
        default=(100, 1000),
        help="events per batch request, comma-separated (100,1000)",
    )
    parser.add_argument(
        "--unix-socket",
        action="store_true",
        help="service and ceiling reach the embedded PostgreSQL by its Unix socket, not TCP",
    )
    parser.add_argument(
        "--only",
        metavar="FIGURES",
        help="comma-separated figure keys (e.g. ingest,member_read) and their ceilings",
    )
    parser.add_argument(
        "--verify", action="store_true", help="run `ledger verify` at the end (always in smoke)"
    )
    parser.add_argument(
        "--servers",
        type=lambda text: tuple(text.split(",")),
        default=("uvicorn", "granian"),
        help="HTTP servers: every figure on the first, the HTTP-bound ones on each",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.smoke:
        args.members, args.duration, args.warmup = 2000, 0.5, 0.2
        args.concurrency, args.batch_concurrency = 4, 1
        args.batch_sizes = (10, 50)  # a batch of 1,000 would outlast a smoke run
        args.servers = args.servers[:1]
        args.verify = True
    started = datetime.now(UTC)
    wall = time.perf_counter()
    RESULTS.mkdir(parents=True, exist_ok=True)
    bench = Bench(args)
    with bench.stack:
        bench.database()
        bench.seed()
        bench.serve()
        print(f"figures: {args.duration:g} s each after {args.warmup:g} s warm-up")
        bench.figures()
        if len(args.servers) > 1:
            bench.compare_servers()
        if args.soak:
            bench.soak(args.soak)
        bench._stop_server()
        if args.verify:
            bench.verify()
        bench.report(started)
    if args.webhooks:
        from bench import webhooks_bench

        print("webhook figures (a service of their own, set up the same way):", flush=True)
        webhooks_bench.main(
            [
                f"--members={min(args.members, 20_000)}",
                f"--workers={args.workers}",
                f"--duration={args.duration}",
                f"--warmup={args.warmup}",
                f"--concurrency={args.concurrency}",
            ]
        )
    print(f"whole run: {time.perf_counter() - wall:.0f} s")
    return 0
