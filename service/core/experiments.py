"""Experiments: a rule's members split into a holdout (who get nothing) and variants, by a
stated hash, so the lift of a reward can be measured instead of assumed.

Assignment: `bucket = int(sha256("<experiment id>:<member id>")[:8 bytes], big-endian) % 10000`;
the first `holdout_bp` buckets (basis points: 1000 = 10%) are the holdout, the next ones each
variant's share in declared order. It depends on the two ids alone: the same arm on every
replica, after every restart, for the member's whole life in the experiment.
"""

from __future__ import annotations

import hashlib

import msgspec

__all__ = ["BUCKETS", "HOLDOUT", "Experiment", "Variant", "arm_of", "bucket_of"]

BUCKETS = 10_000
HOLDOUT = "holdout"


class Variant(msgspec.Struct, frozen=True):
    """An arm that gets the rule: its name, its share in basis points, and the points it gives
    instead of the rule's (None: the rule's own)."""

    name: str
    share_bp: int
    points: int | None = None


class Experiment(msgspec.Struct, frozen=True, kw_only=True):
    """The split of an experiment: the holdout's share and the variants (basis points)."""

    id: str
    holdout_bp: int
    variants: tuple[Variant, ...]

    @property
    def arms(self) -> tuple[str, ...]:
        """Every arm, the holdout first."""
        return (HOLDOUT, *(v.name for v in self.variants))

    def variant(self, name: str) -> Variant | None:
        """The variant of this name (None for the holdout)."""
        return next((v for v in self.variants if v.name == name), None)

    def split(self) -> dict[str, int]:
        """Arm -> share in basis points (what may not change once the experiment started)."""
        return {HOLDOUT: self.holdout_bp, **{v.name: v.share_bp for v in self.variants}}


def bucket_of(experiment_id: str, member_id: str) -> int:
    """The member's bucket in the experiment, 0 to 9,999 (the stated hash)."""
    digest = hashlib.sha256(f"{experiment_id}:{member_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def arm_of(experiment: Experiment, member_id: str) -> str:
    """The arm the member is in: the holdout, or the variant whose share holds their bucket."""
    bucket = bucket_of(experiment.id, member_id)
    if bucket < experiment.holdout_bp:
        return HOLDOUT
    edge = experiment.holdout_bp
    for variant in experiment.variants:
        edge += variant.share_bp
        if bucket < edge:
            return variant.name
    return experiment.variants[-1].name
