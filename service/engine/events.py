"""Events and their typed attributes: built-in and declared event types, validation at the edge.

Money arrives as a string or a number and becomes a `Decimal` once, here; CEL later sees a double.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated, Any

import msgspec

from service.engine.problems import did_you_mean

if TYPE_CHECKING:
    from service.engine.ruleset import Ruleset

__all__ = [
    "BUILTIN_EVENT_TYPES",
    "AttributeSpec",
    "Event",
    "EventTypeSpec",
    "InvalidEvent",
    "check_attribute_value",
    "validate_event_attributes",
]

BUILTIN_EVENT_TYPES: dict[str, dict[str, str]] = {
    "purchase": {
        "order_id": "string",
        "amount": "decimal",
        "currency": "string",
        "items": "list<item>?",
        "referral_code": "string?",
    },
    "refund": {"order_id": "string", "amount": "decimal"},
    "review": {"product_id": "string", "rating": "int", "has_photo": "bool", "text_length": "int"},
    "referral": {"referee_id": "string", "referral_code": "string?"},
    "signup": {"referral_code": "string?"},
    "checkin": {},
}
"""Event types that exist in every program; `program.yaml` may add attributes to them."""

_ITEM_FIELDS = {"sku": "string", "category": "string", "quantity": "int", "price": "decimal"}


class AttributeSpec(msgspec.Struct, frozen=True):
    """A declared attribute: its type (`string`, `decimal`, ...) and whether it may be absent."""

    type: str
    optional: bool = False

    @classmethod
    def parse(cls, text: str) -> AttributeSpec:
        """Read `decimal` or `string?` (optional) into a spec."""
        return cls(text.strip().rstrip("?").strip(), text.strip().endswith("?"))


class EventTypeSpec(msgspec.Struct, frozen=True):
    """An event type and its declared attributes."""

    name: str
    attributes: dict[str, AttributeSpec]


class Event(msgspec.Struct, frozen=True):
    """Something a member did; `attributes` are already validated (decimals as `Decimal`)."""

    id: str
    type: str
    member_id: str
    occurred_at: Annotated[datetime, msgspec.Meta(tz=True)]
    attributes: dict[str, Any] = {}


class InvalidEvent(Exception):
    """An event does not match its type; `field_path` names the field, e.g. `attributes.amount`."""

    def __init__(self, field_path: str, reason: str) -> None:
        self.field_path, self.reason = field_path, reason
        super().__init__(f"{field_path}: {reason}")


MAX_STRING = 1_000
"""Longest string attribute value (characters): rules cannot be made to chew megabytes."""
MAX_LIST = 1_000
"""Most elements in a list attribute (e.g. a purchase's items)."""
MAX_DECIMAL = Decimal("1e14")
"""Largest decimal magnitude; amounts have at most 14 integer and 4 fractional digits."""


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError("expected a decimal number, got a boolean")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("expected a finite decimal number")
    try:
        result = Decimal(str(value)) if isinstance(value, int | float | str) else None
    except InvalidOperation:
        result = None
    if result is None or not result.is_finite():
        raise ValueError(f"expected a decimal number, got {str(value)[:40]!r}")
    if abs(result) >= MAX_DECIMAL or result != result.quantize(Decimal("0.0001")):
        raise ValueError("expected at most 14 integer digits and 4 decimal places")
    return result


def _timestamp(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"expected an RFC 3339 timestamp, got {value!r}") from None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValueError("expected a timestamp with a time zone")
    return value


def _item(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidEvent(path, "expected an object with sku, category, quantity, price")
    unknown = set(value) - set(_ITEM_FIELDS)
    if unknown:
        name = sorted(unknown)[0]
        raise InvalidEvent(f"{path}.{name}", f"unknown field{did_you_mean(name, _ITEM_FIELDS)}")
    out: dict[str, Any] = {}
    for name, attr_type in _ITEM_FIELDS.items():
        if name not in value:
            if name == "category":
                out[name] = ""
                continue
            raise InvalidEvent(f"{path}.{name}", "required field is missing")
        out[name] = check_attribute_value(attr_type, value[name], f"{path}.{name}")
    return out


def _check_size(value: Any, path: str) -> None:
    if isinstance(value, str) and len(value) > MAX_STRING:
        raise InvalidEvent(path, f"longer than {MAX_STRING} characters")
    if isinstance(value, list) and len(value) > MAX_LIST:
        raise InvalidEvent(path, f"more than {MAX_LIST} elements")


def check_attribute_value(attr_type: str, value: Any, path: str) -> Any:
    """Check one value against a declared type and return it normalised (decimals as `Decimal`)."""
    _check_size(value, path)
    try:
        if attr_type == "string" and isinstance(value, str):
            return value
        if attr_type == "int" and isinstance(value, int) and not isinstance(value, bool):
            if abs(value) > 2**63 - 1:
                raise ValueError("integer out of the 64-bit range")
            return value
        if attr_type == "bool" and isinstance(value, bool):
            return value
        if attr_type == "decimal":
            return _decimal(value)
        if attr_type == "timestamp":
            return _timestamp(value)
        if attr_type == "list<string>" and isinstance(value, list):
            if all(isinstance(v, str) for v in value):
                return list(value)
            raise ValueError("expected a list of strings")
        if attr_type == "list<item>" and isinstance(value, list):
            return [_item(v, f"{path}[{i}]") for i, v in enumerate(value)]
    except ValueError as exc:
        raise InvalidEvent(path, str(exc)) from None
    raise InvalidEvent(path, f"expected {attr_type}, got {type(value).__name__}")


def validate_event_attributes(
    ruleset: Ruleset, type: str, attributes: Mapping[str, Any]
) -> dict[str, Any]:
    """Check attributes against the declared event type and return them normalised.

    Raises `InvalidEvent` naming the field (`attributes.amount`) and the reason.
    """
    event_types = ruleset.event_types
    spec = event_types.get(type)
    if spec is None:
        raise InvalidEvent("type", f"unknown event type '{type}'{did_you_mean(type, event_types)}")
    for name in attributes:
        if name not in spec.attributes:
            hint = did_you_mean(name, spec.attributes)
            raise InvalidEvent(f"attributes.{name}", f"unknown attribute for {type}{hint}")
    out: dict[str, Any] = {}
    for name, attr in spec.attributes.items():
        value = attributes.get(name)
        if value is None:
            if not attr.optional:
                raise InvalidEvent(f"attributes.{name}", "required attribute is missing")
            continue
        out[name] = check_attribute_value(attr.type, value, f"attributes.{name}")
    return out
