"""A month of a shop's events, generated from a seed: purchases (some refunded in part),
reviews, check-ins and referred sign-ups, for the demo program. The backtest's test and its
benchmark decide these for real and then backtest a draft over them.

Each event is a dict as `POST /v1/events` takes it, sorted by `occurred_at`.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

__all__ = ["month_of_events"]

_CATEGORIES = ["shoes", "apparel", "socks", "outdoor", "bags"]


def month_of_events(
    seed: int,
    members: Sequence[str],
    start: datetime,
    *,
    days: int = 30,
    codes: Mapping[str, str] | None = None,
    per_member_day: float = 0.12,
) -> list[dict[str, Any]]:
    """The events of `members` over `days` from `start`, in time order (seeded)."""
    rng = random.Random(seed)
    events = [e for member in members for e in _member(rng, member, start, days, per_member_day)]
    owners = sorted((codes or {}).items())
    if owners:  # some members were referred: their first event is a sign-up with a code
        for member in rng.sample(list(members), k=max(1, len(members) // 10)):
            first = min((e for e in events if e["member_id"] == member), key=_at, default=None)
            code, owner = rng.choice(owners)
            if first is None or owner == member:
                continue
            at = datetime.fromisoformat(first["occurred_at"]) - timedelta(minutes=5)
            events.append(_event(f"{member}-signup", "signup", member, at, {"referral_code": code}))
    events.sort(key=lambda e: (_at(e), e["member_id"], e["id"]))
    return events


def _at(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["occurred_at"])


def _event(
    event_id: str, kind: str, member: str, at: datetime, attributes: dict[str, Any]
) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": kind,
        "member_id": member,
        "occurred_at": at.isoformat(),
        "attributes": attributes,
    }


def _member(
    rng: random.Random, member: str, start: datetime, days: int, rate: float
) -> Iterator[dict[str, Any]]:
    n = 0
    for day in range(days):
        for kind, chance in (("purchase", rate), ("review", rate / 3), ("checkin", rate * 1.5)):
            if rng.random() >= chance:
                continue
            n += 1
            at = start + timedelta(days=day, hours=rng.randint(7, 20), minutes=rng.randint(0, 59))
            event_id = f"{member}-{n}"
            if kind == "purchase":
                yield from _purchase(rng, event_id, member, at, start + timedelta(days=days))
            elif kind == "review":
                attributes = {
                    "product_id": f"sku-{rng.randint(1, 40)}",
                    "rating": rng.randint(1, 5),
                    "has_photo": rng.random() < 0.3,
                    "text_length": rng.randint(0, 800),
                }
                yield _event(event_id, "review", member, at, attributes)
            else:
                yield _event(event_id, "checkin", member, at, {})


def _purchase(
    rng: random.Random, event_id: str, member: str, at: datetime, end: datetime
) -> Iterator[dict[str, Any]]:
    items = []
    for i in range(rng.randint(1, 3)):
        price = rng.randint(5, 150)
        items.append(
            {
                "sku": f"sku-{rng.randint(1, 40)}",
                "category": rng.choice(_CATEGORIES),
                "quantity": 1 + (i == 0 and rng.random() < 0.2),
                "price": f"{price}.{rng.randint(0, 99):02d}",
            }
        )
    amount = sum(float(x["price"]) * x["quantity"] for x in items)
    order = f"order-{event_id}"
    attributes = {"order_id": order, "amount": f"{amount:.2f}", "currency": "EUR", "items": items}
    yield _event(event_id, "purchase", member, at, attributes)
    if rng.random() < 0.1:  # a partial refund a few days later, inside the month
        later = at + timedelta(days=rng.randint(1, 6), hours=1)
        if later < end:
            part = f"{amount * rng.choice([0.25, 0.5, 1.0]):.2f}"
            refund = {"order_id": order, "amount": part}
            yield _event(f"{event_id}-refund", "refund", member, later, refund)
