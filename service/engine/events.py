"""Events and their typed attributes: built-in and declared event types, validation at the edge.

Money arrives as a string or a number and becomes a `Decimal` once, here; CEL later sees a double.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated, Any

import msgspec

from service.engine.problems import did_you_mean

if TYPE_CHECKING:
    from service.engine.ruleset import Ruleset

__all__ = [
    "BUILTIN_EVENT_TYPES",
    "INTERNAL_EVENT_TYPES",
    "AttributeSpec",
    "Event",
    "EventTypeSpec",
    "InvalidEvent",
    "check_attribute_value",
    "check_occurred_at",
    "validate_event_attributes",
    "validate_member_attributes",
    "within_model",
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
    # raised by the service when a member moves between engagement levels (never posted)
    "engagement_changed": {"from": "string", "to": "string"},
}
"""Event types that exist in every program; `program.yaml` may add attributes to them."""

INTERNAL_EVENT_TYPES = frozenset({"engagement_changed"})
"""Event types the service raises itself: rules may react to them, callers may not post them."""

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
MAX_DECIMAL = Decimal("1e12")
"""Largest decimal magnitude; amounts have at most 12 integer and 4 fractional digits (so that
a day's sums and the points they earn stay far inside the stored columns)."""
MAX_MEMBER_STRING = 256
"""Longest string a member attribute may hold (it may become a leaderboard segment, an index
key)."""
EARLIEST_TIMESTAMP = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_TIMESTAMP = datetime(2200, 1, 1, tzinfo=UTC)
"""Timestamp attributes lie in [1900, 2200): date arithmetic on them (time zones, periods)
can never leave the calendar."""
_DECIMAL_TEXT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError("expected a decimal number, got a boolean")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("expected a finite decimal number")
    if isinstance(value, str) and _DECIMAL_TEXT.fullmatch(value) is None:
        # only ASCII digits, an optional minus and point: no spaces, exponents or other scripts
        raise ValueError(f"expected a decimal number such as 12.50, got {value[:40]!r}")
    try:
        result = Decimal(str(value)) if isinstance(value, int | float | str) else None
    except InvalidOperation:
        result = None
    if result is None or not result.is_finite():
        raise ValueError(f"expected a decimal number, got {str(value)[:40]!r}")
    if abs(result) >= MAX_DECIMAL or result != result.quantize(Decimal("0.0001")):
        raise ValueError("expected at most 12 integer digits and 4 decimal places")
    return result


def _timestamp(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"expected an RFC 3339 timestamp, got {value!r}") from None
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("expected a timestamp with a time zone")
    if not EARLIEST_TIMESTAMP <= value < LATEST_TIMESTAMP:
        raise ValueError("expected a timestamp from the years 1900 to 2199")
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
            if not all(isinstance(v, str) for v in value):
                raise ValueError("expected a list of strings")
            if any(len(v) > MAX_STRING for v in value):
                raise ValueError(f"a string in the list is longer than {MAX_STRING} characters")
            return list(value)
        if attr_type == "list<item>" and isinstance(value, list):
            return [_item(v, f"{path}[{i}]") for i, v in enumerate(value)]
    except ValueError as exc:
        raise InvalidEvent(path, str(exc)) from None
    raise InvalidEvent(path, f"expected {attr_type}, got {type(value).__name__}")


def validate_event_attributes(
    ruleset: Ruleset, type: str, attributes: Mapping[str, Any], *, internal: bool = False
) -> dict[str, Any]:
    """Check attributes against the declared event type and return them normalised; an
    internal type (`engagement_changed`) only with `internal` (dry runs, rule tests).

    Raises `InvalidEvent` naming the field (`attributes.amount`) and the reason.
    """
    event_types = ruleset.event_types
    if type in INTERNAL_EVENT_TYPES and not internal:
        raise InvalidEvent("type", f"'{type}' is raised by the service itself; it cannot be posted")
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
    if type in ("purchase", "refund"):
        _check_money(ruleset, type, out)
    return out


def _check_money(ruleset: Ruleset, type: str, attributes: Mapping[str, Any]) -> None:
    """A purchase or refund moves a positive amount, in the program's currency."""
    amount = attributes.get("amount")
    if isinstance(amount, Decimal) and amount <= 0:
        raise InvalidEvent("attributes.amount", f"a {type} amount must be more than 0")
    currency = attributes.get("currency")
    program = ruleset.program.currency
    if isinstance(currency, str) and currency != program:
        raise InvalidEvent(
            "attributes.currency",
            f"the program books {program}; this {type} is in {currency[:12]} "
            f"(convert it to {program} before posting)",
        )


def check_occurred_at(at: datetime, now: datetime, earliest: datetime, skew: timedelta) -> None:
    """An event's time lies between `earliest` and `skew` past `now`; InvalidEvent otherwise."""
    if at.utcoffset() is None:
        raise InvalidEvent("occurred_at", "a time zone is required")
    if at < earliest:
        raise InvalidEvent(
            "occurred_at", f"events from before {earliest.date().isoformat()} are not accepted"
        )
    if at > now + skew:
        hours = skew.total_seconds() / 3600
        raise InvalidEvent(
            "occurred_at",
            f"more than {hours:g} hours in the future (now is {now.isoformat()})",
        )


def validate_member_attributes(ruleset: Ruleset, attributes: Mapping[str, Any]) -> dict[str, Any]:
    """Check member attributes against `member_attributes` in program.yaml (None unsets one);
    InvalidEvent naming `attributes.<name>`, with a did-you-mean for an unknown name."""
    declared = ruleset.program.member_attributes
    out: dict[str, Any] = {}
    for name, value in attributes.items():
        path = f"attributes.{name}"
        spec = declared.get(name)
        if spec is None:
            hint = did_you_mean(name, declared)
            raise InvalidEvent(path, f"undeclared member attribute{hint}")
        if value is None:
            out[name] = None
            continue
        strings = value if isinstance(value, list) else [value]
        if any(isinstance(v, str) and len(v) > MAX_MEMBER_STRING for v in strings):
            raise InvalidEvent(path, f"longer than {MAX_MEMBER_STRING} characters")
        normal = check_attribute_value(spec.type, value, path)
        out[name] = float(normal) if isinstance(normal, Decimal) else normal
    return out


def within_model(value: Any) -> bool:
    """Whether `value` is no larger than the edge accepts (strings of `MAX_STRING` characters,
    lists of `MAX_LIST` entries): the sizes the rule cost model (`costs.py`) assumes. A value
    stored before a bound existed may be larger; it is not given to rules then."""
    if isinstance(value, str):
        return len(value) <= MAX_STRING
    if isinstance(value, dict):
        return all(within_model(v) for v in value.values())
    if isinstance(value, list):
        return len(value) <= MAX_LIST and all(within_model(v) for v in value)
    return True
