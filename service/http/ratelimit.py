"""Rate limits per API key and per member token that hold across workers and replicas.

Each process counts requests locally, per credential and fixed one-minute window, and about once
a `rate_limit_sync_seconds` adds its new counts to a shared counter row in PostgreSQL (the
UNLOGGED table `rate_limit_counts`, one statement for all credentials) and reads back the global
totals. A request is refused when (global total at the last sync + this process's count since)
reaches the limit, so no request waits for the database, and the global count can overshoot by
at most what the other processes admitted during one sync interval.

A credential is counted under the identity it proves, once verified (the API key's id, or the
member a token names), so two spellings of one token (a JWT with padding appended) share one
count. A bearer credential that proves nothing is counted per client address, in this process
only: it is never written to the database, and past the limit the address gets 429 instead of
401. The event intake (`POST /v1/events`, `/v1/events/batch`) has its own counter and its own,
higher limit. Requests without a bearer credential pass untouched: they are refused with 401
further in.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime

import msgspec
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from service.auth import MemberPrincipal, Principal
from service.errors import Unauthenticated
from service.http.access import VERIFIED, verify_in_app
from service.http.problems import Problem
from service.http.request_context import request_id_var
from service.settings import Settings
from service.store import ratelimits as store
from service.store.database import Database

__all__ = [
    "WINDOW_SECONDS",
    "RateLimitMiddleware",
    "RateLimiter",
    "credential_hash",
    "identity_of",
]

logger = logging.getLogger("service.ratelimit")

WINDOW_SECONDS = 60
_MAX_TRACKED = 100_000
"""Counters kept per process per window; beyond it new credentials pass uncounted (a flood of
made-up tokens, all refused with 401 anyway, must not grow memory or the table without bound)."""
_CLEANUP_EVERY = 60.0
_EVENT_PATHS = frozenset({"/v1/events", "/v1/events/batch"})
_encode = msgspec.json.Encoder().encode


def credential_hash(token: bytes) -> str:
    """A SHA-256 of a bearer token (the token itself is never stored or logged)."""
    return hashlib.sha256(token).hexdigest()[:32]


def identity_of(principal: Principal) -> str:
    """The name a verified credential is counted under."""
    if isinstance(principal, MemberPrincipal):
        return "m:" + credential_hash(principal.member_id.encode())
    return "k:" + principal.key_id


class _Counter:
    """One credential's counts in one window, as this process knows them."""

    __slots__ = ("in_flight", "local", "synced")

    def __init__(self) -> None:
        self.synced = 0
        """The global total read back at the last sync (this process's counts included)."""
        self.in_flight = 0
        """Counts being added by a sync that has not answered yet."""
        self.local = 0
        """Counts admitted here since the last sync started."""


class RateLimiter:
    """The counters of one process and the loop that shares them through the database."""

    def __init__(
        self,
        per_minute: int,
        events_per_minute: int,
        sync_seconds: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.per_minute = per_minute
        self.events_per_minute = events_per_minute
        self.sync_seconds = sync_seconds
        self.clock = clock
        self._counters: dict[tuple[str, int], _Counter] = {}
        self._unverified: dict[tuple[str, int], int] = {}
        """Counts of credentials that proved nothing, per client address: local only."""
        self._db: Database | None = None
        self._task: asyncio.Task[None] | None = None
        self._last_cleanup = 0.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        """A limiter with the limits of `settings`."""
        return cls(
            settings.rate_limit_per_minute,
            settings.rate_limit_events_per_minute,
            settings.rate_limit_sync_seconds,
        )

    @property
    def enabled(self) -> bool:
        """Whether any limit is set."""
        return self.per_minute > 0 or self.events_per_minute > 0

    def hit_unverified(self, address: str) -> int | None:
        """Count a request whose credential proved nothing, for its client address, in this
        process only; None to let it on to its 401, or the seconds until it may retry."""
        if self.per_minute <= 0:
            return None
        now = self.clock()
        window = int(now // WINDOW_SECONDS) * WINDOW_SECONDS
        key = (address, window)
        if key not in self._unverified:
            if len(self._unverified) >= _MAX_TRACKED:
                self._unverified = {k: v for k, v in self._unverified.items() if k[1] == window}
                if len(self._unverified) >= _MAX_TRACKED:
                    return max(1, math.ceil(window + WINDOW_SECONDS - now))
            self._unverified[key] = 0
        if self._unverified[key] >= self.per_minute:
            return max(1, math.ceil(window + WINDOW_SECONDS - now))
        self._unverified[key] += 1
        return None

    def hit(self, identity: str, events: bool) -> int | None:
        """Count one request of a verified `identity`; None to admit it, or the seconds until
        it may retry."""
        limit = self.events_per_minute if events else self.per_minute
        if limit <= 0:
            return None
        now = self.clock()
        window = int(now // WINDOW_SECONDS) * WINDOW_SECONDS
        key = (("e:" if events else "a:") + identity, window)
        counter = self._counters.get(key)
        if counter is None:
            if len(self._counters) >= _MAX_TRACKED:
                return None
            counter = self._counters[key] = _Counter()
        if counter.synced + counter.in_flight + counter.local >= limit:
            return max(1, math.ceil(window + WINDOW_SECONDS - now))
        counter.local += 1
        return None

    def start(self, db: Database) -> None:
        """Share the counts through `db` from now on (call inside the running event loop)."""
        self._db = db
        if self.enabled and self._task is None:
            self._task = asyncio.create_task(self._run(), name="rate-limit-sync")

    async def stop(self) -> None:
        """Stop the sync loop and hand the last counts to the database (best effort)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.sync(), timeout=1.0)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.sync_seconds)
            try:
                await self.sync()
            except Exception as exc:  # the database is down: keep counting locally
                logger.warning("rate-limit sync failed: %s", type(exc).__name__)

    async def sync(self) -> None:
        """Add the local counts to the shared counters and read back the global totals."""
        if self._db is None:
            return
        now = self.clock()
        current = int(now // WINDOW_SECONDS) * WINDOW_SECONDS
        rows: list[tuple[str, datetime, int]] = []
        sent: list[_Counter] = []
        self._unverified = {k: v for k, v in self._unverified.items() if k[1] >= current}
        for key, counter in list(self._counters.items()):
            credential, window = key
            if window < current:  # that minute is over: its counts no longer matter
                del self._counters[key]
                continue
            counter.in_flight, counter.local = counter.local, 0
            rows.append((credential, datetime.fromtimestamp(window, UTC), counter.in_flight))
            sent.append(counter)
        cleanup = now - self._last_cleanup >= _CLEANUP_EVERY
        if not rows and not cleanup:
            return
        try:
            async with self._db.connection() as conn:
                totals = await store.add_hits(conn, rows)
                if cleanup:
                    before = datetime.fromtimestamp(current - WINDOW_SECONDS, UTC)
                    await store.delete_windows_before(conn, before)
                    self._last_cleanup = now
        except BaseException:
            for counter in sent:  # not added: count them again next time
                counter.local += counter.in_flight
                counter.in_flight = 0
            raise
        for credential, window_start, hits in totals:
            known = self._counters.get((credential, int(window_start.timestamp())))
            if known is not None:
                known.synced = hits
                known.in_flight = 0


def _bearer(scope: Scope) -> bytes | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.partition(b" ")
            token = token.strip()
            if scheme.lower() == b"bearer" and token:
                return bytes(token)
            return None
    return None


class RateLimitMiddleware:
    """Answers 429 with Retry-After to a credential over its limit; passes everything else."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or not self.limiter.enabled:
            await self.app(scope, receive, send)
            return
        token = _bearer(scope)
        if token is None:
            await self.app(scope, receive, send)
            return
        path = scope["path"].rstrip("/")
        events = scope["method"] == "POST" and path in _EVENT_PATHS
        state = scope.setdefault("state", {})
        try:
            principal = await verify_in_app(scope["app"].state.app, token.decode("latin-1"))
        except Unauthenticated as refusal:
            state[VERIFIED] = refusal
            client = scope.get("client")
            retry_after = self.limiter.hit_unverified(str(client[0]) if client else "?")
        except Exception as failure:  # the key store cannot be read now: the guard answers it
            state[VERIFIED] = failure  # (503), without trying a second time
            await self.app(scope, receive, send)
            return
        else:
            state[VERIFIED] = principal
            retry_after = self.limiter.hit(identity_of(principal), events)
        if retry_after is None:
            await self.app(scope, receive, send)
            return
        await _too_many(send, retry_after, events)


async def _too_many(send: Send, retry_after: int, events: bool) -> None:
    which = "event intake" if events else "request"
    body = _encode(
        Problem(
            type="https://loyalty.example/problems/rate_limited",
            title="Too many requests",
            status=429,
            detail=f"this credential is over its {which} rate limit; retry in {retry_after} s",
            request_id=request_id_var.get(),
            code="rate_limited",
        )
    )
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(retry_after).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})
