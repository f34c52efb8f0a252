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
        self._add_http(target)
        self._add_pipeline(target)
        self._add_webhooks(target)
        self._add_pool(target)
        if self.multiprocess:
            MultiProcessCollector(self.registry)  # type: ignore[no-untyped-call]

    def _add_http(self, target: CollectorRegistry | None) -> None:
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

    def _add_pipeline(self, target: CollectorRegistry | None) -> None:
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

    def _add_webhooks(self, target: CollectorRegistry | None) -> None:
        self.webhook_attempts = Counter(
            "loyalty_webhook_attempts_total",
            "Webhook delivery attempts by outcome: delivered (2xx), failed (to be retried), "
            "dead (failed past the retry period: dead-lettered).",
            ["outcome"],
            registry=target,
        )
        shared = {"multiprocess_mode": "mostrecent"} if self.multiprocess else {}
        self.webhook_queued = Gauge(
            "loyalty_webhook_queued",
            "Webhook deliveries waiting to be sent (endpoints not paused), from the database.",
            registry=target,
            **shared,  # type: ignore[arg-type]
        )
        self.webhook_dead = Gauge(
            "loyalty_webhook_dead_letters",
            "Webhook deliveries dead-lettered and not redelivered, from the database.",
            registry=target,
            **shared,  # type: ignore[arg-type]
        )
        self.webhook_lag = Gauge(
            "loyalty_webhook_lag_seconds",
            "Age of the oldest webhook delivery waiting to be sent (0 when none waits).",
            registry=target,
            **shared,  # type: ignore[arg-type]
        )

    def _add_pool(self, target: CollectorRegistry | None) -> None:
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

    def observe_webhooks(self, delivered: int, failed: int, dead: int) -> None:
        """Count one delivery pass's attempts (`dead` are among the `failed`)."""
        if delivered:
            self.webhook_attempts.labels("delivered").inc(delivered)
        if failed - dead:
            self.webhook_attempts.labels("failed").inc(failed - dead)
        if dead:
            self.webhook_attempts.labels("dead").inc(dead)

    def set_webhook_queue(self, queued: int, dead: int, lag_seconds: float) -> None:
        """Record the delivery queue as the database has it now."""
        self.webhook_queued.set(queued)
        self.webhook_dead.set(dead)
        self.webhook_lag.set(lag_seconds)

    def set_pool(self, size: int, idle: int, maximum: int) -> None:
        """Record the pool's current state."""
        self.pool_size.set(size)
        self.pool_idle.set(idle)
        self.pool_max.set(maximum)

    def exposition(self) -> bytes:
        """The Prometheus text format of every metric."""
        return generate_latest(self.registry)
