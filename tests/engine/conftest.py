"""Builders for pure engine tests: a tiny program and rule files in a few lines."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from service.engine import Event, MemberSnapshot, Ruleset, load_ruleset_from_files

PROGRAM = """\
program:
  name: Test Rewards
  timezone: Europe/Berlin
member_attributes:
  region: string
  vip_note: string
badges:
  - id: starter
    name: Starter
  - id: big-spender
    name: Big spender
"""

NOON = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)


@pytest.fixture
def make_ruleset() -> Callable[..., Ruleset]:
    """Build a ruleset from rule-file text (and optionally a different program.yaml)."""

    def build(rules: str, program: str = PROGRAM, **more: str) -> Ruleset:
        return load_ruleset_from_files({"program.yaml": program, "rules.yaml": rules, **more})

    return build


def purchase(amount: str = "100.00", at: datetime = NOON, **attrs: Any) -> Event:
    """A purchase event for member m-1."""
    attributes = {"order_id": "o-1", "amount": Decimal(amount), "currency": "EUR", **attrs}
    return Event(id="e-1", type="purchase", member_id="m-1", occurred_at=at, attributes=attributes)


def member(**fields: Any) -> MemberSnapshot:
    """A member snapshot for m-1."""
    return MemberSnapshot(member_id="m-1", **fields)


@pytest.fixture
def program_yaml() -> str:
    """The text of the tiny test program.yaml."""
    return PROGRAM


@pytest.fixture
def make_purchase() -> Callable[..., Event]:
    """Build a purchase event: `make_purchase("120.00", at=...)`."""
    return purchase


@pytest.fixture
def make_member() -> Callable[..., MemberSnapshot]:
    """Build a member snapshot: `make_member(tier="gold", tier_multiplier=1.5)`."""
    return member
