"""`loyalty ledger verify`: every balance equals the sum of its member's entries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator

import msgspec

from service.core.ledger import Entry, verify
from service.store import ledger as ledger_store
from service.store.database import Database

__all__ = ["MemberMismatch", "verify_ledger"]

_PAGE = 500


class MemberMismatch(msgspec.Struct, frozen=True):
    """A member whose stored balances differ from what their entries add up to."""

    member_id: str
    problems: list[str]


async def verify_ledger(db: Database) -> AsyncIterator[MemberMismatch | int]:
    """Yield each mismatching member, then the number of members checked."""
    checked = 0
    after = ""
    async with db.connection() as conn:
        for member_id in await ledger_store.members_without_balances(conn):
            yield MemberMismatch(member_id=member_id, problems=["entries but no balances row"])
        while True:
            page = await ledger_store.balance_page(conn, after, _PAGE)
            if not page:
                break
            rows = await ledger_store.entries_between(conn, after, page[-1].member_id)
            by_member: dict[str, list[Entry]] = defaultdict(list)
            for row in rows:
                by_member[row.member_id].append(row.entry)
            for balance in page:
                member_id = balance.member_id
                problems = verify(by_member.get(member_id, []), balance.balances)
                if balance.entries != balance.entry_rows:
                    problems.append(
                        f"entry count: balances says {balance.entries}, "
                        f"ledger has {balance.entry_rows} rows"
                    )
                if problems:
                    yield MemberMismatch(member_id=member_id, problems=problems)
                checked += 1
            after = page[-1].member_id
    yield checked
