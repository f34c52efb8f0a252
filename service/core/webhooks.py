"""Webhooks as values: the kinds a subscriber may ask for, message ids, the Standard Webhooks
signature (HMAC-SHA256 over `id.timestamp.body`, `v1,<base64>`), and the retry schedule.

Pure: the random part of the backoff's jitter and the time are parameters.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import timedelta

__all__ = [
    "BACKOFF_BASE_SECONDS",
    "EVENT_KINDS",
    "KINDS",
    "TIME_KINDS",
    "backoff",
    "message_id",
    "new_secret",
    "sign",
    "signatures",
    "verify",
]

EVENT_KINDS = (
    "points.earned",
    "points.reversed",
    "tier.changed",
    "badge.awarded",
    "challenge.completed",
    "challenge.progressed",
    "streak.milestone",
    "reward.redeemed",
    "engagement.changed",
)
"""Kinds written to the outbox by the transaction of the change they tell."""
TIME_KINDS = ("points.expiring", "streak.at_risk")
"""Kinds the delivery worker finds as time passes, once per endpoint and moment."""
KINDS = (*EVENT_KINDS, *TIME_KINDS)

BACKOFF_BASE_SECONDS = 5.0
"""The first retry comes about this long after the first failure; each next one twice later."""


def message_id(*parts: object) -> str:
    """A message id that the same happening always gets (`msg_` and 26 hex digits), so that
    writing it twice stores it once and a receiver can deduplicate by it."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()
    return f"msg_{digest[:26]}"


def new_secret(random_bytes: bytes) -> str:
    """A signing secret as Standard Webhooks writes one: `whsec_` and the key in base64."""
    assert len(random_bytes) >= 24, "a webhook secret needs at least 24 random bytes"
    return "whsec_" + base64.b64encode(random_bytes).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_"))


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The signature of one message under one secret: `v1,` and the base64 HMAC-SHA256 of
    `{msg_id}.{timestamp}.{body}`."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signatures(secrets: list[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header: one signature per live secret, space-separated (during a
    rotation's overlap a receiver holding either secret can verify)."""
    return " ".join(sign(s, msg_id, timestamp, body) for s in secrets)


def verify(secret: str, msg_id: str, timestamp: int, body: bytes, header: str) -> bool:
    """True when one of the header's `v1` signatures is this secret's (compared in constant
    time)."""
    expected = sign(secret, msg_id, timestamp, body)
    return any(hmac.compare_digest(expected, given) for given in header.split(" "))


def backoff(attempts: int, jitter: float, cap_seconds: float) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt: 5 s, 10 s, 20 s ... doubling up
    to `cap_seconds`, times a jitter factor in [0.5, 1) so that retries of many messages spread
    out (`jitter` is a random number in [0, 1))."""
    assert attempts >= 1 and 0 <= jitter < 1, (attempts, jitter)
    delay = min(cap_seconds, BACKOFF_BASE_SECONDS * 2 ** min(attempts - 1, 40))
    return timedelta(seconds=delay * (0.5 + jitter / 2))
