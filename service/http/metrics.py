"""Prometheus metrics: request counts and latency by route template and status, the sizes of
the event sets the pipeline runs, pool gauges.

With several worker processes, `PROMETHEUS_MULTIPROC_DIR` (set by `loyalty serve`) makes the
numbers add up across workers.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """The service's metrics, in a registry of their own (one per app)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        target = None if self.multiprocess else self.registry
        self.requests = Counter(
            "loyalty_http_requests_total",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=target,
        )
        self.latency = Histogram(
            "loyalty_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template.",
            ["method", "route"],
            buckets=_BUCKETS,
            registry=target,
        )
        self.set_events = Histogram(
            "loyalty_event_set_events",
            "Events per set the pipeline decided and saved in one transaction (a batch, or "
            "single posts coalesced by group commit), by where the set came from.",
            ["source"],
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000),
            registry=target,
        )
        self.rule_failures = Counter(
            "loyalty_rule_failures_total",
            "Rules that failed at run time for an event (an expression error, a result past a "
            "bound), by rule id; the event's other rules ran.",
            ["rule"],
            registry=target,
        )
        self.decide_seconds = Histogram(
            "loyalty_event_decide_seconds",
            "Time the pure decision (rules, gamification, balances) took per event, on "
            "average over the set it was decided in.",
            buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25),
            registry=target,
        )
        gauge_mode = {"multiprocess_mode": "livesum"} if self.multiprocess else {}
        self.pool_size = Gauge(
            "loyalty_db_pool_connections",
            "Open database connections in the pool.",
            registry=target,
            **gauge_mode,  # type: ignore[arg-type]
        )
        self.pool_idle = Gauge(
            "loyalty_db_pool_idle_connections",
            "Idle database connections in the pool.",
            registry=target,
            **gauge_mode,  # type: ignore[arg-type]
        )
        self.pool_max = Gauge(
            "loyalty_db_pool_max_connections",
            "Largest size of the database pool.",
            registry=target,
            **gauge_mode,  # type: ignore[arg-type]
        )
        if self.multiprocess:
            MultiProcessCollector(self.registry)  # type: ignore[no-untyped-call]

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def observe_set(self, source: str, events: int) -> None:
        """Count one set of events run through the pipeline (`batch` or `group`)."""
        self.set_events.labels(source).observe(events)

    def observe_decided(self, events: int, seconds: float, failed_rules: list[str]) -> None:
        """Count one decided set: its time per event and the rules that failed in it."""
        for _ in range(events):
            self.decide_seconds.observe(seconds / max(1, events))
        for rule in failed_rules:
            self.rule_failures.labels(rule).inc()

    def set_pool(self, size: int, idle: int, maximum: int) -> None:
        """Record the pool's current state."""
        self.pool_size.set(size)
        self.pool_idle.set(idle)
        self.pool_max.set(maximum)

    def exposition(self) -> bytes:
        """The Prometheus text format of every metric."""
        return generate_latest(self.registry)
