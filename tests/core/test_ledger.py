"""The lot ledger, told as the program manager's stories, then checked against a reference model."""

from __future__ import annotations

import ast
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from service.core.ledger import (
    Balances,
    Change,
    Entry,
    ExpiryPolicy,
    Hold,
    HoldExpired,
    InsufficientPoints,
    Lot,
    adjust,
    commit_hold,
    earn,
    expiry_for,
    hold,
    mature,
    pending_until,
    release,
    released_lot_id,
    reversal_due,
    reverse_order,
    spend,
    verify,
    view,
)

T0 = datetime(2026, 3, 1, tzinfo=UTC)
NO_EXPIRY = ExpiryPolicy(kind="none")
MONTH = ExpiryPolicy(kind="rolling", days=30)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


class Member:
    """One member's lots, balances and ledger, advanced through the public API."""

    def __init__(self) -> None:
        self.lots: tuple[Lot, ...] = ()
        self.balances = Balances()
        self.entries: list[Entry] = []

    def book(self, change: Change) -> Change:
        self.lots, self.balances = change.lots, change.balances
        self.entries += change.entries
        assert verify(self.entries, self.balances) == []
        assert all(lot.remaining >= 0 for lot in self.lots)
        return change

    def lot(self, lot_id: str) -> Lot:
        return next(lot for lot in self.lots if lot.lot_id == lot_id)

    def earn(
        self,
        points: int,
        lot_id: str,
        *,
        occurred: datetime,
        now: datetime | None = None,
        pending_days: int = 0,
        policy: ExpiryPolicy = NO_EXPIRY,
        order_id: str | None = None,
    ) -> Change:
        return self.book(
            earn(
                self.lots,
                self.balances,
                member_id="m1",
                points=points,
                lot_id=lot_id,
                now=now or occurred,
                occurred_at=occurred,
                pending_until=pending_until(occurred, pending_days),
                expires_at=expiry_for(occurred, policy),
                reason="purchase",
                event_id=f"e-{lot_id}",
                rule_id="base",
                ruleset_version="v1",
                order_id=order_id,
            )
        )

    def spend(self, points: int, now: datetime) -> Change:
        return self.book(spend(self.lots, self.balances, points=points, now=now, reason="reward"))

    def hold(self, points: int, now: datetime, *, rid: str = "r1", minutes: int = 15) -> Hold:
        placed = hold(
            self.lots,
            self.balances,
            points=points,
            redemption_id=rid,
            now=now,
            expires_at=now + timedelta(minutes=minutes),
            reason="checkout",
        )
        self.book(placed.change)
        return placed.hold

    def refund(
        self, order_id: str, points: int, now: datetime, *, allow_negative: bool
    ) -> tuple[int, int]:
        reversal = reverse_order(
            self.lots,
            self.balances,
            order_id=order_id,
            points=points,
            allow_negative=allow_negative,
            now=now,
            reason="refund",
        )
        self.book(reversal.change)
        return reversal.reversed, reversal.forgiven


def kinds(change: Change) -> list[tuple[str, str, int, str | None]]:
    return [(e.kind, e.balance, e.points, e.lot_id) for e in change.entries]


# --- stories ---------------------------------------------------------------------------------


def test_pending_points_become_available_after_the_return_window() -> None:
    m = Member()
    m.earn(100, "L1", occurred=day(0), pending_days=14)
    assert (m.balances.pending, m.balances.available) == (100, 0)
    assert view(m.lots, m.balances, day(13.9)).pending == 100
    assert view(m.lots, m.balances, day(14)) == Balances(available=100, lifetime_earned=100)
    change = m.book(mature(m.lots, m.balances, day(15)))
    assert kinds(change) == [("activate", "available", 100, "L1")]
    assert change.entries[0].at == day(14)
    assert change.entries[0].event_id == "e-L1" and change.entries[0].rule_id == "base"
    assert mature(m.lots, m.balances, day(16)).entries == ()


def test_pending_points_cannot_be_spent() -> None:
    m = Member()
    m.earn(100, "L1", occurred=day(0), pending_days=14)
    with pytest.raises(InsufficientPoints) as refused:
        m.spend(10, day(1))
    assert (refused.value.requested, refused.value.available) == (10, 0)


def test_spending_takes_the_oldest_lot_first() -> None:
    m = Member()
    m.earn(50, "L1", occurred=day(0))
    m.earn(50, "L2", occurred=day(1))
    change = m.spend(70, day(2))
    assert kinds(change) == [("spend", "available", -50, "L1"), ("spend", "available", -20, "L2")]
    assert (m.lot("L1").remaining, m.lot("L2").remaining) == (0, 30)
    assert m.balances == Balances(available=30, lifetime_earned=100, lifetime_spent=70)


def test_spending_goes_by_activation_not_by_purchase_date() -> None:
    m = Member()
    m.earn(50, "L1", occurred=day(0), pending_days=14)  # in its return window until day 14
    m.earn(50, "L2", occurred=day(1))
    change = m.spend(60, day(15))
    assert kinds(change)[1:] == [
        ("spend", "available", -50, "L2"),
        ("spend", "available", -10, "L1"),
    ]


def test_a_lot_expires_per_lot_not_per_balance() -> None:
    m = Member()
    m.earn(100, "L1", occurred=day(0), policy=MONTH)
    m.earn(100, "L2", occurred=day(20), policy=MONTH)
    m.spend(50, day(25))
    assert view(m.lots, m.balances, day(29)).available == 150
    change = m.book(mature(m.lots, m.balances, day(30)))
    assert kinds(change) == [("expire", "available", -50, "L1")]
    assert change.entries[0].at == day(30)
    assert m.balances.available == 100
    assert view(m.lots, m.balances, day(50)).available == 0


def test_a_pending_lot_that_expires_before_its_return_window_ends_expires_from_pending() -> None:
    m = Member()
    m.earn(100, "L1", occurred=day(0), pending_days=40, policy=MONTH)
    change = m.book(mature(m.lots, m.balances, day(45)))
    assert kinds(change) == [("expire", "pending", -100, "L1")]
    assert m.balances == Balances(lifetime_earned=100)


def test_a_late_purchase_arrives_already_active() -> None:
    m = Member()
    change = m.earn(100, "L1", occurred=day(0), now=day(20), pending_days=14, policy=MONTH)
    assert kinds(change) == [("earn", "available", 100, "L1")]
    assert m.balances.available == 100
    assert m.lot("L1").expires_at == day(30)  # expiry counts from when the purchase happened


def test_a_very_late_purchase_arrives_already_expired() -> None:
    m = Member()
    change = m.earn(100, "L1", occurred=day(0), now=day(40), pending_days=14, policy=MONTH)
    assert kinds(change) == [("earn", "available", 100, "L1"), ("expire", "available", -100, "L1")]
    assert m.balances == Balances(lifetime_earned=100)


def test_partial_refunds_add_up_to_the_full_reversal() -> None:
    m = Member()
    m.earn(100, "L1", occurred=day(0), order_id="o1")  # a purchase of 30.00 earned 100 points
    refunded = reversed_so_far = 0
    reversed_each = []
    for cents in (1000, 1000, 1000):
        refunded += cents
        due = reversal_due(
            earned=100,
            purchase_amount=3000,
            refunded_total=refunded,
            already_reversed=reversed_so_far,
        )
        reversed_now, forgiven = m.refund("o1", due, day(1), allow_negative=False)
        reversed_so_far += reversed_now + forgiven
        reversed_each.append(reversed_now)
    assert reversed_each == [33, 33, 34]
    assert m.lot("L1").remaining == 0 and m.balances.available == 0


def test_a_refund_takes_pending_points_of_its_own_purchase_first() -> None:
    m = Member()
    m.earn(100, "L1", occurred=day(0))
    m.earn(40, "L2", occurred=day(1), pending_days=14, order_id="o2")
    assert m.refund("o2", 40, day(2), allow_negative=False) == (40, 0)
    assert (m.lot("L1").remaining, m.lot("L2").remaining) == (100, 0)
    assert (m.balances.available, m.balances.pending) == (100, 0)


def test_a_refund_after_the_points_were_spent_takes_other_points_first() -> None:
    m = Member()
    m.earn(100, "L1", occurred=day(0), order_id="o1")
    m.earn(100, "L2", occurred=day(1), order_id="o2")
    m.earn(100, "L3", occurred=day(2), order_id="o3")
    m.spend(150, day(3))
    assert m.refund("o1", 100, day(4), allow_negative=False) == (100, 0)
    assert [lot.remaining for lot in m.lots] == [0, 0, 50]


@pytest.mark.parametrize(("allow_negative", "debt", "forgiven"), [(True, 80, 0), (False, 0, 80)])
def test_refund_after_points_were_spent_drives_the_balance_negative_only_if_the_program_allows(
    allow_negative: bool, debt: int, forgiven: int
) -> None:
    m = Member()
    m.earn(100, "L1", occurred=day(0), order_id="o1")
    m.spend(80, day(1))
    assert m.refund("o1", 100, day(2), allow_negative=allow_negative) == (100 - forgiven, forgiven)
    assert (m.balances.available, m.balances.debt) == (0, debt)


def test_debt_is_repaid_from_the_next_points_that_become_available() -> None:
    m = Member()
    m.earn(100, "L1", occurred=day(0), order_id="o1")
    m.spend(100, day(1))
    m.refund("o1", 100, day(2), allow_negative=True)
    m.earn(30, "L2", occurred=day(3))
    assert (m.balances.available, m.balances.debt) == (0, 70)
    m.earn(100, "L3", occurred=day(4), pending_days=14)
    assert (m.balances.pending, m.balances.debt) == (100, 70)  # pending points do not repay
    assert view(m.lots, m.balances, day(18)) == Balances(
        available=30, debt=0, lifetime_earned=230, lifetime_spent=100
    )


def test_a_hold_commits_exactly_the_points_it_reserved() -> None:
    m = Member()
    m.earn(30, "L1", occurred=day(0))
    m.earn(100, "L2", occurred=day(1))
    held = m.hold(50, day(2))
    assert [(d.lot_id, d.points) for d in held.draws] == [("L1", 30), ("L2", 20)]
    assert (m.balances.available, m.balances.held) == (80, 50)
    m.earn(10, "L3", occurred=day(2))
    change = m.book(commit_hold(m.lots, m.balances, held, now=day(2), reason="order 7"))
    assert kinds(change) == [("spend", "held", -30, "L1"), ("spend", "held", -20, "L2")]
    assert m.balances == Balances(available=90, lifetime_earned=140, lifetime_spent=50)


def test_a_hold_that_timed_out_cannot_be_committed_only_released() -> None:
    m = Member()
    m.earn(100, "L1", occurred=day(0))
    held = m.hold(60, day(1), minutes=15)
    with pytest.raises(HoldExpired):
        commit_hold(m.lots, m.balances, held, now=day(1) + timedelta(minutes=15), reason="late")
    change = m.book(release(m.lots, m.balances, held, now=day(2), policy=MONTH, reason="timeout"))
    assert kinds(change) == [("release", "available", 60, "L1")]
    assert (m.lot("L1").remaining, m.balances.held) == (100, 0)


def test_release_after_expiry() -> None:
    m = Member()
    m.earn(100, "L1", occurred=day(0), policy=MONTH)
    held = m.hold(60, day(29.9), minutes=24 * 60)
    change = m.book(release(m.lots, m.balances, held, now=day(30.5), policy=MONTH, reason="cancel"))
    new_id = released_lot_id("L1", "r1")
    assert kinds(change) == [
        ("expire", "available", -40, "L1"),
        ("release", "available", 60, new_id),
    ]
    assert m.lot(new_id).expires_at == day(60.5)  # the program's expiry, counted from the release
    assert m.balances == Balances(available=60, lifetime_earned=100)


def test_an_admin_adds_points_that_expire_per_the_program() -> None:
    m = Member()
    change = m.book(
        adjust(
            m.lots,
            m.balances,
            member_id="m1",
            points=25,
            now=day(0),
            policy=MONTH,
            allow_negative=False,
            reason="goodwill",
            lot_id="A1",
        )
    )
    assert kinds(change) == [("adjust", "available", 25, "A1")]
    assert m.lot("A1").expires_at == day(30) and m.balances.lifetime_earned == 25


@pytest.mark.parametrize(("allow_negative", "debt"), [(True, 20), (False, None)])
def test_an_admin_removes_points_oldest_first_and_below_zero_only_if_allowed(
    allow_negative: bool, debt: int | None
) -> None:
    m = Member()
    m.earn(30, "L1", occurred=day(0))
    m.earn(50, "L2", occurred=day(1))

    def remove(points: int) -> Change:
        return adjust(
            m.lots,
            m.balances,
            member_id="m1",
            points=-points,
            now=day(2),
            policy=MONTH,
            allow_negative=allow_negative,
            reason="fraud",
        )

    assert kinds(m.book(remove(40))) == [
        ("adjust", "available", -30, "L1"),
        ("adjust", "available", -10, "L2"),
    ]
    if debt is None:
        with pytest.raises(InsufficientPoints):
            remove(60)
    else:
        m.book(remove(60))
        assert (m.balances.available, m.balances.debt) == (0, debt)


def test_earning_nothing_is_a_bug() -> None:
    with pytest.raises(AssertionError):
        Member().earn(0, "L1", occurred=day(0))


def test_verify_names_what_does_not_add_up() -> None:
    m = Member()
    m.earn(100, "L1", occurred=day(0))
    m.spend(30, day(1))
    assert verify(m.entries, Balances(available=71, lifetime_earned=100, lifetime_spent=30)) == [
        "available: entries sum to 70, balance says 71"
    ]
    bad = Entry(kind="earn", points=5, balance="held", lot_id=None, reason="?", at=day(1))
    assert verify([bad], Balances(held=5, lifetime_earned=5)) == ["entry 0: earn cannot move held"]


def test_expiry_policy() -> None:
    assert expiry_for(day(0), NO_EXPIRY) is None
    assert expiry_for(day(0), MONTH) == day(30)
    assert pending_until(day(0), 14) == day(14)


def test_the_ledger_core_imports_no_io() -> None:
    core = Path(__file__).resolve().parents[2] / "service" / "core"
    forbidden = ("litestar", "sqlalchemy", "asyncpg", "service.store", "service.api")
    for name in ("ledger.py", "_booking.py", "lots.py", "entries.py"):
        tree = ast.parse((core / name).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules: Sequence[str] = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            else:
                continue
            assert not [m for m in modules if m.startswith(forbidden)], (name, modules)


# --- a random walk against a reference model ---------------------------------------------------


class RefLot:
    """The reference's view of a lot: plain integers and dates."""

    def __init__(
        self,
        lot_id: str,
        earned: datetime,
        activates: datetime,
        expires: datetime | None,
        points: int,
        order: str | None,
    ) -> None:
        self.lot_id, self.earned, self.activates, self.expires = lot_id, earned, activates, expires
        self.remaining, self.order, self.active = points, order, False

    def key(self) -> tuple[datetime, datetime, str]:
        return (self.activates, self.earned, self.lot_id)

    def ever_active(self) -> bool:
        return self.expires is None or self.expires > self.activates


class Reference:
    """An independent, deliberately naive ledger: integers per lot and running totals."""

    def __init__(self, allow_negative: bool, policy: ExpiryPolicy) -> None:
        self.allow_negative, self.policy = allow_negative, policy
        self.lots: dict[str, RefLot] = {}
        self.holds: dict[str, tuple[datetime, list[tuple[str, int]]]] = {}
        self.debt = self.earned = self.spent = self.expired = self.reversed = self.removed = 0

    def fifo(self, *, active: bool = True) -> list[RefLot]:
        lots = [x for x in self.lots.values() if x.remaining and x.active == active]
        return sorted(lots, key=RefLot.key)

    def repay(self) -> None:
        for lot in self.fifo():
            paid = min(self.debt, lot.remaining)
            lot.remaining -= paid
            self.debt -= paid

    def catch_up(self, now: datetime) -> None:
        for lot in sorted(self.lots.values(), key=RefLot.key):
            if lot.remaining and not lot.active and lot.ever_active() and lot.activates <= now:
                lot.active = True
                self.repay()
            if lot.remaining and lot.expires is not None and lot.expires <= now:
                self.expired += lot.remaining
                lot.remaining = 0

    def available(self) -> int:
        return sum(x.remaining for x in self.fifo())

    def pending(self) -> int:
        return sum(x.remaining for x in self.fifo(active=False))

    def held(self) -> int:
        return sum(n for _, draws in self.holds.values() for _, n in draws)

    def add(self, lot: RefLot, now: datetime) -> None:
        self.lots[lot.lot_id] = lot
        lot.active = lot.ever_active() and lot.activates <= now
        self.repay()
        self.catch_up(now)

    def take(self, points: int) -> tuple[list[tuple[str, int]], int]:
        draws = []
        for lot in self.fifo():
            n = min(points, lot.remaining)
            if n:
                lot.remaining -= n
                points -= n
                draws.append((lot.lot_id, n))
        return draws, points

    def release(self, rid: str, now: datetime) -> None:
        for lot_id, n in self.holds.pop(rid)[1]:
            lot = self.lots[lot_id]
            if lot.expires is not None and lot.expires <= now:
                new_id = released_lot_id(lot_id, rid)
                self.lots[new_id] = RefLot(
                    new_id, now, now, expiry_for(now, self.policy), n, lot.order
                )
                self.lots[new_id].active = True
            else:
                lot.remaining += n
        self.repay()

    def refund(self, order: str, points: int) -> int:
        """Returns the points forgiven."""
        left = points
        for lot in sorted(
            (x for x in self.lots.values() if x.order == order and x.remaining), key=RefLot.key
        ):
            n = min(left, lot.remaining)
            lot.remaining -= n
            left -= n
        left = self.take(left)[1]
        self.reversed += points
        if self.allow_negative:
            self.debt += left
            return 0
        self.reversed -= left
        return left


class Purchase:
    def __init__(self, earned: int, amount: int) -> None:
        self.earned, self.amount, self.refunded, self.settled = earned, amount, 0, 0


class LedgerWalk(RuleBasedStateMachine):
    """Random earn / spend / hold / commit / release / refund / adjust / clock moves."""

    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.member = Member()
        self.holds: dict[str, Hold] = {}
        self.purchases: dict[str, Purchase] = {}
        self.serial = 0
        self.ref = Reference(False, NO_EXPIRY)

    def next_id(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}{self.serial:04d}"

    @initialize(allow_negative=st.booleans(), days=st.sampled_from([0, 1, 3, 10]))
    def program(self, allow_negative: bool, days: int) -> None:
        policy = ExpiryPolicy(kind="rolling", days=days) if days else NO_EXPIRY
        self.ref = Reference(allow_negative, policy)

    @rule(
        points=st.integers(1, 200),
        late_hours=st.integers(0, 24 * 12),
        pending_days=st.integers(0, 3),
        amount=st.none() | st.integers(1, 10_000),
    )
    def earn(self, points: int, late_hours: int, pending_days: int, amount: int | None) -> None:
        self.ref.catch_up(self.now)
        occurred = self.now - timedelta(hours=late_hours)
        lot_id = self.next_id("L")
        order_id = None if amount is None else self.next_id("o")
        if order_id is not None and amount is not None:
            self.purchases[order_id] = Purchase(points, amount)
        self.member.earn(
            points,
            lot_id,
            occurred=occurred,
            now=self.now,
            pending_days=pending_days,
            policy=self.ref.policy,
            order_id=order_id,
        )
        activates = pending_until(occurred, pending_days)
        expires = expiry_for(occurred, self.ref.policy)
        self.ref.earned += points
        self.ref.add(RefLot(lot_id, occurred, activates, expires, points, order_id), self.now)

    @rule(points=st.integers(1, 300))
    def spend(self, points: int) -> None:
        self.ref.catch_up(self.now)
        if points > self.ref.available():
            with pytest.raises(InsufficientPoints):
                self.member.spend(points, self.now)
            return
        self.member.spend(points, self.now)
        assert self.ref.take(points)[1] == 0
        self.ref.spent += points

    @rule(points=st.integers(1, 300), hours=st.integers(1, 48))
    def hold(self, points: int, hours: int) -> None:
        minutes = hours * 60  # whole hours, so commits land exactly on the timeout too
        self.ref.catch_up(self.now)
        rid = self.next_id("r")
        if points > self.ref.available():
            with pytest.raises(InsufficientPoints):
                self.member.hold(points, self.now, rid=rid, minutes=minutes)
            return
        self.holds[rid] = self.member.hold(points, self.now, rid=rid, minutes=minutes)
        draws, short = self.ref.take(points)
        assert short == 0
        assert [(d.lot_id, d.points) for d in self.holds[rid].draws] == draws
        self.ref.holds[rid] = (self.now + timedelta(minutes=minutes), draws)

    @precondition(lambda self: self.holds)
    @rule(data=st.data())
    def commit(self, data: st.DataObject) -> None:
        self.ref.catch_up(self.now)
        rid = data.draw(st.sampled_from(sorted(self.holds)))
        m = self.member
        if self.now >= self.ref.holds[rid][0]:
            with pytest.raises(HoldExpired):
                commit_hold(m.lots, m.balances, self.holds[rid], now=self.now, reason="checkout")
            return
        m.book(
            commit_hold(m.lots, m.balances, self.holds.pop(rid), now=self.now, reason="checkout")
        )
        self.ref.spent += sum(n for _, n in self.ref.holds.pop(rid)[1])

    @precondition(lambda self: self.holds)
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        self.ref.catch_up(self.now)
        rid = data.draw(st.sampled_from(sorted(self.holds)))
        m = self.member
        m.book(
            release(
                m.lots,
                m.balances,
                self.holds.pop(rid),
                now=self.now,
                policy=self.ref.policy,
                reason="cancel",
            )
        )
        self.ref.release(rid, self.now)

    @precondition(lambda self: any(p.refunded < p.amount for p in self.purchases.values()))
    @rule(data=st.data())
    def refund(self, data: st.DataObject) -> None:
        self.ref.catch_up(self.now)
        open_orders = sorted(o for o, p in self.purchases.items() if p.refunded < p.amount)
        order_id = data.draw(st.sampled_from(open_orders))
        purchase = self.purchases[order_id]
        purchase.refunded += data.draw(st.integers(1, purchase.amount - purchase.refunded))
        due = reversal_due(
            earned=purchase.earned,
            purchase_amount=purchase.amount,
            refunded_total=purchase.refunded,
            already_reversed=purchase.settled,
        )
        reversed_now, forgiven = self.member.refund(
            order_id, due, self.now, allow_negative=self.ref.allow_negative
        )
        purchase.settled += reversed_now + forgiven
        assert purchase.settled <= purchase.earned
        if purchase.refunded == purchase.amount:
            assert purchase.settled == purchase.earned
        assert forgiven == self.ref.refund(order_id, due)

    @rule(points=st.integers(-200, 200).filter(bool))
    def adjust(self, points: int) -> None:
        self.ref.catch_up(self.now)
        m = self.member
        lot_id = self.next_id("A")

        def run() -> Change:
            return adjust(
                m.lots,
                m.balances,
                member_id="m1",
                points=points,
                now=self.now,
                policy=self.ref.policy,
                allow_negative=self.ref.allow_negative,
                reason="admin",
                lot_id=lot_id,
            )

        if points > 0:
            m.book(run())
            self.ref.earned += points
            self.ref.add(
                RefLot(
                    lot_id, self.now, self.now, expiry_for(self.now, self.ref.policy), points, None
                ),
                self.now,
            )
        elif -points > self.ref.available() and not self.ref.allow_negative:
            with pytest.raises(InsufficientPoints):
                run()
        else:
            m.book(run())
            self.ref.debt += self.ref.take(-points)[1]
            self.ref.removed -= points

    @rule(hours=st.integers(1, 24 * 5))
    def clock_moves(self, hours: int) -> None:
        self.now += timedelta(hours=hours)

    @rule()
    def worker_runs(self) -> None:
        self.member.book(mature(self.member.lots, self.member.balances, self.now))

    @invariant()
    def agrees_with_the_reference(self) -> None:
        m, ref = self.member, self.ref
        assert verify(m.entries, m.balances) == []
        seen = mature(m.lots, m.balances, self.now)  # what a read shows before the worker runs
        assert verify([*m.entries, *seen.entries], seen.balances) == []
        ref.catch_up(self.now)
        assert {lot.lot_id: lot.remaining for lot in seen.lots} == {
            x.lot_id: x.remaining for x in ref.lots.values()
        }
        b = seen.balances
        assert (b.available, b.pending, b.held, b.debt) == (
            ref.available(),
            ref.pending(),
            ref.held(),
            ref.debt,
        )
        assert (b.lifetime_earned, b.lifetime_spent) == (ref.earned, ref.spent)
        assert min(b.available, b.pending, b.held, b.debt) >= 0
        assert ref.allow_negative or b.debt == 0
        assert b.debt == 0 or b.available == 0
        entries = [*m.entries, *seen.entries]
        expired = -sum(e.points for e in entries if e.kind == "expire")
        reversed_ = sum(
            e.points if e.balance == "debt" else -e.points for e in entries if e.kind == "reverse"
        )
        assert (expired, reversed_) == (ref.expired, ref.reversed)
        assert ref.earned == (
            b.available
            + b.pending
            + b.held
            + ref.spent
            + ref.expired
            + ref.reversed
            + ref.removed
            - b.debt
        )


LedgerWalk.TestCase.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None, print_blob=True
)
test_a_random_walk_agrees_with_the_reference_model = LedgerWalk.TestCase
