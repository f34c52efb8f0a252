"""The idempotency check, once: a request that repeats a stored one under the same key is
answered from the store when its body is the same, and refused (409) naming the key when not.

Pure: it compares two hashes; `body_hash` is the one way a request body is hashed for it."""

from __future__ import annotations

import hashlib
from typing import Any, TypeVar

import msgspec

from service.errors import Conflict

__all__ = ["IdempotencyKey", "body_hash", "event_key", "header_key", "replay_or_conflict"]

T = TypeVar("T")

_canonical = msgspec.json.Encoder(order="sorted")


class IdempotencyKey(msgspec.Struct, frozen=True, kw_only=True):
    """How a key is named in the conflict: what it is, the field it came in, and the code."""

    label: str
    field: str
    code: str
    verb: str


def header_key(key: str | None) -> IdempotencyKey:
    """The `Idempotency-Key` header of an adjustment or a redemption."""
    return IdempotencyKey(
        label=f"Idempotency-Key '{key}'",
        field="Idempotency-Key",
        code="idempotency_key_reused",
        verb="used",
    )


def event_key(event_id: str) -> IdempotencyKey:
    """An event's own `id` (with its member, the key of an event)."""
    return IdempotencyKey(
        label=f"event '{event_id}'", field="id", code="event_id_reused", verb="received"
    )


def body_hash(body: Any) -> str:
    """sha256 (hex) of the body in canonical JSON (sorted keys): the hash kept with the answer."""
    return hashlib.sha256(_canonical.encode(body)).hexdigest()


def replay_or_conflict(
    stored_hash: str, request_hash: str, stored_answer: T, key: IdempotencyKey
) -> T:
    """The stored answer when the bodies match; otherwise Conflict naming the key."""
    if stored_hash != request_hash:
        raise Conflict(
            f"{key.label} was already {key.verb} with a different body",
            field=key.field,
            code=key.code,
        )
    return stored_answer
