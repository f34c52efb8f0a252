"""Event attributes are checked against their declared type at the edge; money becomes Decimal."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from service.engine import InvalidEvent, load_ruleset, validate_event_attributes

RULESET = load_ruleset(Path(__file__).resolve().parents[2] / "rules")


def test_a_purchase_is_normalised() -> None:
    attrs = validate_event_attributes(
        RULESET,
        "purchase",
        {
            "order_id": "A-1",
            "amount": "120.00",
            "currency": "EUR",
            "items": [{"sku": "S", "category": "shoes", "quantity": 2, "price": 60}],
        },
    )
    assert attrs["amount"] == Decimal("120.00")
    assert attrs["items"][0]["price"] == Decimal("60")


def test_numbers_become_decimals_without_binary_noise() -> None:
    attrs = validate_event_attributes(RULESET, "refund", {"order_id": "A", "amount": 19.99})
    assert attrs["amount"] == Decimal("19.99")


def test_custom_event_type_with_timestamp_free_attributes() -> None:
    attrs = validate_event_attributes(
        RULESET, "workshop_attended", {"workshop_id": "w", "duration_minutes": 30}
    )
    assert attrs == {"workshop_id": "w", "duration_minutes": 30}


@pytest.mark.parametrize(
    ("type_", "attributes", "field", "reason"),
    [
        ("purchse", {}, "type", "unknown event type 'purchse' (did you mean 'purchase'?)"),
        ("refund", {"order_id": "A"}, "attributes.amount", "required attribute is missing"),
        (
            "refund",
            {"order_id": "A", "amount": "1", "ammount": 2},
            "attributes.ammount",
            "unknown attribute for refund (did you mean 'amount'?)",
        ),
        (
            "refund",
            {"order_id": 7, "amount": "1"},
            "attributes.order_id",
            "expected string, got int",
        ),
        (
            "refund",
            {"order_id": "A", "amount": "ten"},
            "attributes.amount",
            "expected a decimal number such as 12.50, got 'ten'",
        ),
        (
            "refund",
            {"order_id": "A", "amount": True},
            "attributes.amount",
            "expected a decimal number, got a boolean",
        ),
        (
            "review",
            {"product_id": "p", "rating": "5", "has_photo": False, "text_length": 1},
            "attributes.rating",
            "expected int, got str",
        ),
        (
            "review",
            {"product_id": "p", "rating": 5, "has_photo": 1, "text_length": 1},
            "attributes.has_photo",
            "expected bool, got int",
        ),
        (
            "purchase",
            {
                "order_id": "A",
                "amount": 1,
                "currency": "EUR",
                "items": [{"sku": "S", "quantity": 1}],
            },
            "attributes.items[0].price",
            "required field is missing",
        ),
    ],
)
def test_bad_attributes_name_the_field(
    type_: str, attributes: dict[str, object], field: str, reason: str
) -> None:
    with pytest.raises(InvalidEvent) as info:
        validate_event_attributes(RULESET, type_, attributes)
    assert (info.value.field_path, info.value.reason) == (field, reason)


def test_timestamps_need_a_zone() -> None:
    from service.engine.events import check_attribute_value

    assert check_attribute_value("timestamp", "2026-01-01T00:00:00Z", "x") == datetime(
        2026, 1, 1, tzinfo=UTC
    )
    with pytest.raises(InvalidEvent, match="time zone"):
        check_attribute_value("timestamp", "2026-01-01T00:00:00", "x")
