"""What tiers and leaderboards measure: one small struct per metric kind, parsed once when the
rules load. Each names the per-day series the pipeline keeps for it (`key`: `points_earned`,
`spend`, `count:<event type>`, as stored) and says what it is in words (`label`)."""

from __future__ import annotations

import msgspec

__all__ = ["COUNT_PREFIX", "EventCount", "Metric", "PointsEarned", "Spend", "parse_metric"]

COUNT_PREFIX = "count:"


class PointsEarned(msgspec.Struct, frozen=True, tag="points_earned"):
    """Points earned (net of reversals), never the balance: spending changes nothing."""

    @property
    def key(self) -> str:
        """The stored series."""
        return "points_earned"

    @property
    def label(self) -> str:
        """The metric in words, for reasons."""
        return "points earned"


class Spend(msgspec.Struct, frozen=True, tag="spend"):
    """The amount of purchases, net of refunds."""

    @property
    def key(self) -> str:
        """The stored series."""
        return "spend"

    @property
    def label(self) -> str:
        """The metric in words, for reasons."""
        return "spend"


class EventCount(msgspec.Struct, frozen=True, tag="count"):
    """How many events of one type."""

    event: str

    @property
    def key(self) -> str:
        """The stored series."""
        return COUNT_PREFIX + self.event

    @property
    def label(self) -> str:
        """The metric in words, for reasons."""
        return f"{self.event} events"


Metric = PointsEarned | Spend | EventCount


def parse_metric(key: str) -> Metric | None:
    """The metric a series key names (`points_earned`, `spend`, `count:<type>`), if any."""
    if key == "points_earned":
        return PointsEarned()
    if key == "spend":
        return Spend()
    if key.startswith(COUNT_PREFIX) and len(key) > len(COUNT_PREFIX):
        return EventCount(key[len(COUNT_PREFIX) :])
    return None
