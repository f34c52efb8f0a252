"""Member profiles and member tokens."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import available_timezones

import msgspec

from service.auth import MemberTokens
from service.engine.events import InvalidEvent, validate_member_attributes
from service.errors import Conflict, InvalidInput, NotFound, Unprocessable
from service.runtime import Runtime
from service.store import erasure as erasure_store
from service.store import members as member_store
from service.store.members import StoredProfile

__all__ = [
    "MemberProfile",
    "ProfileUpdate",
    "TokenIssued",
    "get_profile",
    "issue_token",
    "put_profile",
]

MEMBER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@+\-]{0,127}(?!\n)$"
"""A caller-chosen member id: 1-128 characters, letters, digits and . _ : @ + - (the
lookahead: Python's `$` would also match before a final newline)."""

AttributeValue = str | int | float | bool | None

EARLIEST_BIRTHDAY = date(1900, 1, 1)
"""The earliest birthday accepted (PostgreSQL's driver would store date.min as -infinity)."""

_ZONES = frozenset(available_timezones())


class ProfileUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """What `PUT /v1/members/{id}` may set; omitted fields keep their value."""

    display_name: Annotated[str, msgspec.Meta(min_length=1, max_length=80)] | None = None
    timezone: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    birthday: date | None = None
    hidden: bool | None = None
    """Hide from public leaderboards (the member still sees their own rank)."""
    attributes: dict[Annotated[str, msgspec.Meta(max_length=64)], AttributeValue] = {}
    """Program-declared attributes such as region or store; merged into the stored ones."""


class MemberProfile(msgspec.Struct, kw_only=True):
    """A member's profile as stored."""

    member_id: str
    display_name: str | None
    timezone: str | None
    birthday: date | None
    hidden: bool
    attributes: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class TokenIssued(msgspec.Struct, kw_only=True):
    """A member token for the member's app."""

    token: str
    token_type: str = "Bearer"  # noqa: S105 - the scheme name, not a secret
    member_id: str
    expires_at: datetime


def _profile(row: StoredProfile) -> MemberProfile:
    return MemberProfile(**msgspec.structs.asdict(row))


async def get_profile(runtime: Runtime, member_id: str) -> MemberProfile:
    """The member's profile; NotFound if the member has never been seen."""
    async with runtime.db.connection() as conn:
        row = await member_store.fetch_member(conn, member_id)
    if row is None:
        raise NotFound(f"no member '{member_id}'", field="member_id")
    return _profile(row)


async def put_profile(runtime: Runtime, member_id: str, update: ProfileUpdate) -> MemberProfile:
    """Create or update a member's profile."""
    if update.timezone is not None and update.timezone not in _ZONES:
        raise InvalidInput(
            f"unknown time zone '{update.timezone}' (use an IANA name such as Europe/Berlin)",
            field="timezone",
        )
    today = runtime.clock.now().date()
    if update.birthday is not None and not EARLIEST_BIRTHDAY <= update.birthday <= today:
        raise Unprocessable(
            f"a birthday lies between {EARLIEST_BIRTHDAY.isoformat()} and today",
            field="birthday",
            code="invalid_birthday",
        )
    if len(update.attributes) > 50:
        raise InvalidInput("at most 50 attributes per member", field="attributes")
    try:
        attributes = validate_member_attributes(runtime.rules.current, update.attributes)
    except InvalidEvent as exc:
        raise Unprocessable(exc.reason, field=exc.field_path, code="invalid_attribute") from None
    async with runtime.db.transaction() as conn:
        if await erasure_store.is_erased(conn, member_id):
            raise Conflict(
                f"member '{member_id}' was erased: its history keeps no personal data",
                field="member_id",
                code="member_erased",
            )
        row = await member_store.upsert_profile(
            conn,
            member_id=member_id,
            display_name=update.display_name,
            timezone=update.timezone,
            birthday=update.birthday,
            hidden=update.hidden,
            attributes=attributes,
        )
    return _profile(row)


async def issue_token(runtime: Runtime, tokens: MemberTokens, member_id: str) -> TokenIssued:
    """Mint a member token with `tokens` (creating the member if it has never been seen)."""
    async with runtime.db.transaction() as conn:
        await member_store.ensure_member(conn, member_id)
    token, expires = tokens.mint(member_id, runtime.clock.now())
    return TokenIssued(token=token, member_id=member_id, expires_at=expires)
