"""The engagement bucket of a member: recency and frequency of their activity.

highly_engaged: active in the last 14 days and at least 5 events so far;
moderately_engaged: active in the last 45 days, or new (no events yet);
at_risk: last active 45-120 days ago; disengaged: longer ago.
"""

from __future__ import annotations

from datetime import datetime

__all__ = ["engagement_bucket"]


def engagement_bucket(last_active: datetime | None, events: int, now: datetime) -> str:
    """Bucket a member by days since their last event and how many events they have had."""
    if last_active is None:
        return "moderately_engaged"
    days = (now - last_active).days
    if days <= 14 and events >= 5:
        return "highly_engaged"
    if days <= 45:
        return "moderately_engaged"
    if days <= 120:
        return "at_risk"
    return "disengaged"
