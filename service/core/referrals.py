"""Referrals: who may refer whom, and the shape of a referral code."""

from __future__ import annotations

__all__ = ["code_from_bytes", "link_refusal"]

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: codes are read aloud


def code_from_bytes(raw: bytes) -> str:
    """An 8-character code from 8 random bytes (the caller draws them)."""
    assert len(raw) >= 8, "a code needs 8 random bytes"
    return "".join(_ALPHABET[b % len(_ALPHABET)] for b in raw[:8])


def link_refusal(
    referee_id: str,
    referrer_id: str | None,
    *,
    already_referred: bool,
    event_type: str,
    purchases_before: int,
) -> str | None:
    """Why a code on this event does not link the referee (None: it links).

    Only a signup or the referee's first purchase can link; one referrer per referee; nobody
    refers themselves."""
    if event_type not in ("signup", "purchase"):
        return f"a referral code links only on signup or a first purchase, not on {event_type}"
    if referrer_id is None:
        return "unknown referral code"
    if referrer_id == referee_id:
        return "a member cannot refer themselves"
    if already_referred:
        return "the member was already referred"
    if event_type == "purchase" and purchases_before > 0:
        return "a referral code links only on the member's first purchase"
    return None
