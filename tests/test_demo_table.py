"""Every row of the rule guide's demo program table ("The demo program, rule by rule", in
docs/rules.md) holds, through the real service, for a member in their birthday month and for one
outside it.

The rows are read from docs/rules.md itself. Each row needs a scenario here (keyed by its file and
rule cells), and each scenario names the phrases of its row it proves: a row added or reworded
without its scenario fails, and so does a scenario whose row is gone. Every purchase a scenario
posts also checks the birthday rule itself: `birthday-double` fires exactly when the purchase
falls in the member's birthday month on their own wall clock, and `base-earn` never with it.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from helpers import bearer, catch_up, purchase

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "rules.md"
TABLE = "## The demo program, rule by rule"


def demo_rows() -> dict[tuple[str, str], str]:
    """(file cell, rule cell) -> the "what it does" cell of each row of the guide's table."""
    section = GUIDE.read_text(encoding="utf-8").split(TABLE, 1)[1].split("\n## ", 1)[0]
    rows: dict[tuple[str, str], str] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            rows[(cells[0], cells[1])] = cells[2]
    return rows


class Demo:
    """One member story against the demo program, inside or outside the birthday month."""

    def __init__(self, client: Any, key: str, clock: Any, in_birthday_month: bool) -> None:
        self.client, self.key, self.clock = client, key, clock
        self.in_birthday_month = in_birthday_month
        self.birth_months: dict[str, int] = {}
        self.zones: dict[str, ZoneInfo] = {}
        self._ids = itertools.count(1)

    async def member(
        self, member_id: str, month: int, timezone: str | None = None, other: int | None = None
    ) -> None:
        """A member whose events happen in `month`: born in it in the birthday variant, else in
        `other` (default: half a year away)."""
        born = month if self.in_birthday_month else other or (month + 5) % 12 + 1
        body: dict[str, Any] = {"birthday": f"1990-{born:02d}-15"}
        if timezone is not None:
            body["timezone"] = timezone
        put = await self.client.put(f"/v1/members/{member_id}", json=body, headers=self.auth)
        assert put.status_code == 200, put.text
        self.birth_months[member_id] = born
        self.zones[member_id] = ZoneInfo(timezone or "Europe/Berlin")

    @property
    def auth(self) -> dict[str, str]:
        return bearer(self.key)

    @property
    def rate(self) -> int:
        """Points per EUR of the demo's earn rules for this variant's purchases."""
        return 20 if self.in_birthday_month else 10

    async def post(self, body: dict[str, Any]) -> dict[str, Any]:
        catch_up(self.clock, body)
        response = await self.client.post("/v1/events", json=body, headers=self.auth)
        assert response.status_code == 201, response.text
        answer: dict[str, Any] = response.json()
        if body["type"] == "purchase" and body["member_id"] in self.birth_months:
            member = body["member_id"]
            at = datetime.fromisoformat(body["occurred_at"].replace("Z", "+00:00"))
            birthday = at.astimezone(self.zones[member]).month == self.birth_months[member]
            assert ("birthday-double" in fired(answer)) == birthday, answer["effects"]
            assert ("base-earn" in fired(answer)) == (not birthday), answer["effects"]
        return answer

    async def buy(
        self, member_id: str, amount: str, at: str = "2026-03-02T10:00:00Z", **attributes: Any
    ) -> dict[str, Any]:
        body = purchase(f"e{next(self._ids)}", member_id, amount, at)
        body["attributes"].update(attributes)
        return await self.post(body)

    async def review(
        self, member_id: str, photo: bool = False, at: str = "2026-03-02T10:00:00Z"
    ) -> dict[str, Any]:
        attributes = {"product_id": "P-1", "rating": 5, "has_photo": photo, "text_length": 80}
        return await self.event("review", member_id, at, attributes)

    async def event(
        self, kind: str, member_id: str, at: str, attributes: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        body = {
            "id": f"e{next(self._ids)}",
            "type": kind,
            "member_id": member_id,
            "occurred_at": at,
            "attributes": attributes or {},
        }
        return await self.post(body)

    async def view(self, member_id: str) -> dict[str, Any]:
        response = await self.client.get(f"/v1/members/{member_id}", headers=self.auth)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result


def fired(answer: dict[str, Any]) -> set[str]:
    return {e["rule_id"] for e in answer["effects"]}


def points(answer: dict[str, Any], rule_id: str) -> int:
    return sum(
        e["points"] for e in answer["effects"] if e["type"] == "points" and e["rule_id"] == rule_id
    )


def earn_points(answer: dict[str, Any]) -> int:
    """Points of the purchase rules (`base-earn` or `birthday-double`)."""
    return points(answer, "base-earn") + points(answer, "birthday-double")


def floor_points(amount: str, rate: int, multiplier: str) -> int:
    return math.floor(Decimal(amount) * rate * Decimal(multiplier))


Scenario = Callable[[Demo], Awaitable[None]]
SCENARIOS: dict[tuple[str, str], tuple[tuple[str, ...], Scenario]] = {}


def row(file: str, rule: str, *claims: str) -> Callable[[Scenario], Scenario]:
    """Register the scenario proving the row (`file`, `rule`) and the phrases of it it proves."""

    def register(scenario: Scenario) -> Scenario:
        SCENARIOS[(file, rule)] = (claims, scenario)
        return scenario

    return register


@row(
    "`earn.yaml`",
    "`base-earn`",
    "outside the member's birthday month, every purchase earns "
    "`floor(event.amount * 10.0 * tier.multiplier)`",
    "a gold member at 1.5x gets 1,800 for 120 EUR",
)
async def _base_earn(demo: Demo) -> None:
    await demo.member("gus", month=3)
    first = await demo.buy("gus", "500.00")  # 5,000 points this year (10,000 doubled): gold
    assert earn_points(first) == 500 * demo.rate
    assert (await demo.view("gus"))["tier"]["current"] == "gold"
    second = await demo.buy("gus", "120.00")
    third = await demo.buy("gus", "9.99")
    if demo.in_birthday_month:
        assert (earn_points(second), earn_points(third)) == (3600, 299)  # birthday-double's
    else:
        assert (points(second, "base-earn"), points(third, "base-earn")) == (1800, 149)
        assert second["earned"] == 1800


@row(
    "`earn.yaml`",
    "`birthday-double`",
    "priority 20, `stop: true`",
    "in the member's birthday month (in their time zone) a purchase earns 20 points per EUR "
    "times the tier's multiplier instead",
    "stops `base-earn` so nobody gets both",
)
async def _birthday_double(demo: Demo) -> None:
    # 31 March 12:00 UTC is 1 April in Auckland: born in April, that is the birthday month;
    # born in March (the month in Berlin and UTC), it is not
    await demo.member("kiri", month=4, timezone="Pacific/Auckland", other=3)
    first = await demo.buy("kiri", "100.00", "2026-03-31T12:00:00Z")
    second = await demo.buy("kiri", "10.00", "2026-03-31T12:05:00Z")
    if demo.in_birthday_month:
        assert points(first, "birthday-double") == 2000 and first["earned"] == 2000
        assert (await demo.view("kiri"))["tier"]["current"] == "silver"
        assert points(second, "birthday-double") == floor_points("10.00", 20, "1.25") == 250
    else:
        assert points(first, "base-earn") == 1000 and points(second, "base-earn") == 100


@row(
    "`earn.yaml`",
    "`win-back`",
    "members who are `at_risk` or have not bought for over 90 days get 200 bonus points on "
    "top, at most once a month",
    "it runs before `birthday-double`, so it pays in the birthday month too",
)
async def _win_back(demo: Demo) -> None:
    await demo.member("ria", month=4)  # at risk: last seen 51 days ago, bought within 90
    await demo.member("wes", month=6)  # away for 93 days
    await demo.buy("ria", "10.00", "2026-03-02T10:00:00Z")
    await demo.buy("wes", "10.00", "2026-03-02T10:00:00Z")
    back = await demo.buy("ria", "10.00", "2026-04-22T10:00:00Z")
    assert points(back, "win-back") == 200 and earn_points(back) == 10 * demo.rate
    again = await demo.buy("ria", "10.00", "2026-04-23T10:00:00Z")
    assert points(again, "win-back") == 0  # once a month
    back = await demo.buy("wes", "10.00", "2026-06-03T10:00:00Z")
    assert points(back, "win-back") == 200 and earn_points(back) == 10 * demo.rate
    assert back["earned"] == 200 + 10 * demo.rate


@row(
    "`earn.yaml`",
    "`big-spender-badge`",
    "a basket of 500 EUR or more grants the `big-spender` badge, in the birthday month too",
)
async def _big_spender(demo: Demo) -> None:
    await demo.member("bea", month=3)
    assert "big-spender" not in (await demo.buy("bea", "499.99"))["badges"]
    assert "big-spender" in (await demo.buy("bea", "600.00"))["badges"]
    assert "big-spender" not in (await demo.buy("bea", "500.00"))["badges"]  # held already
    assert "big-spender" in (await demo.view("bea"))["badges"]


@row(
    "`reviews.yaml`",
    "`first-review-bonus`",
    "the first review ever earns 100 points and the `first-review` badge",
)
async def _first_review(demo: Demo) -> None:
    await demo.member("fay", month=3)
    first = await demo.review("fay")
    assert points(first, "first-review-bonus") == 100 and "first-review" in first["badges"]
    second = await demo.review("fay", at="2026-03-03T10:00:00Z")
    assert points(second, "first-review-bonus") == 0 and "first-review" not in second["badges"]


@row(
    "`reviews.yaml`",
    "`review-points` / `review-with-photo`",
    "25 points for a review, 50 with a photo; each at most 3 times a day",
)
async def _review_points(demo: Demo) -> None:
    await demo.member("rob", month=3)
    plain = [points(await demo.review("rob"), "review-points") for _ in range(4)]
    photo = [points(await demo.review("rob", True), "review-with-photo") for _ in range(4)]
    assert (plain, photo) == ([25, 25, 25, 0], [50, 50, 50, 0])
    next_day = await demo.review("rob", at="2026-03-03T10:00:00Z")
    assert points(next_day, "review-points") == 25


@row(
    "`referrals.yaml`",
    "`referral-bonus`",
    "500 points per referred friend, at most 10 over the member's lifetime",
)
async def _referral_bonus(demo: Demo) -> None:
    await demo.member("ros", month=3)
    paid = [
        points(
            await demo.event("referral", "ros", "2026-03-02T10:00:00Z", {"referee_id": f"f{i}"}),
            "referral-bonus",
        )
        for i in range(11)
    ]
    assert paid == [500] * 10 + [0]


LADDER = (("member", 0, "1.0"), ("silver", 2000, "1.25"), ("gold", 5000, "1.5"))
LADDER += (("platinum", 15000, "2.0"),)


def level(earned: int) -> tuple[str, str]:
    tier, multiplier = "member", "1.0"
    for name, threshold, factor in LADDER:
        if earned >= threshold:
            tier, multiplier = name, factor
    return tier, multiplier


@row(
    "`program.yaml`",
    "`tiers:`",
    "Member / Silver / Gold / Platinum at 0 / 2,000 / 5,000 / 15,000 points earned in the "
    "calendar year",
    "multipliers 1.0 / 1.25 / 1.5 / 2.0",
    "30 days of grace after the year ends",
)
async def _tiers(demo: Demo) -> None:
    await demo.member("tia", month=3)
    earned, seen = 0, []
    for day, amount in enumerate(("100.00", "100.00", "100.00", "200.00", "300.00", "400.00")):
        tier, multiplier = level(earned)
        answer = await demo.buy("tia", amount, f"2026-03-{2 + day:02d}T10:00:00Z")
        assert earn_points(answer) == floor_points(amount, demo.rate, multiplier), tier
        earned += answer["earned"]
        current = (await demo.view("tia"))["tier"]
        assert current["current"] == level(earned)[0]
        seen.append(current["current"])
    assert {"silver", "gold", "platinum"} <= set(seen)
    # kept until the end of 2026 plus 30 days (31 January 2027, 00:00 Berlin), then lapses
    assert current["lapses_at"] == "2027-01-30T23:00:00Z"
    demo.clock.set(datetime(2027, 1, 30, 22, 59, tzinfo=UTC))
    assert (await demo.view("tia"))["tier"]["current"] == "platinum"
    demo.clock.set(datetime(2027, 1, 30, 23, 0, tzinfo=UTC))
    assert (await demo.view("tia"))["tier"]["current"] == "member"


@row(
    "`program.yaml`",
    "badge `reviewer`",
    "levels bronze / silver / gold at 1 / 10 / 50 reviews (`counter: review`), no rule needed",
)
async def _reviewer_levels(demo: Demo) -> None:
    await demo.member("lev", month=3)
    reached = {}
    for n in range(1, 51):
        answer = await demo.review("lev", photo=n % 2 == 0)
        for effect in answer["effects"]:
            if effect["type"] == "badge" and effect["badge"] == "reviewer":
                reached[n] = effect["level_name"]
    assert reached == {1: "bronze", 10: "silver", 50: "gold"}


@row(
    "`challenges.yaml`",
    "`three-big-baskets`",
    "every week: 3 purchases of 50 EUR or more earn 300 points and the `weekly-hero` badge",
)
async def _three_big_baskets(demo: Demo) -> None:
    await demo.member("bas", month=3)
    week = []
    for day, amount in enumerate(("50.00", "49.99", "80.00", "50.00", "70.00")):
        week.append(await demo.buy("bas", amount, f"2026-03-{2 + day:02d}T10:00:00Z"))
    rewards = [points(a, "challenge:three-big-baskets") for a in week]
    assert rewards == [0, 0, 0, 300, 0]
    assert week[3]["badges"] == ["weekly-hero"]
    next_week = [
        await demo.buy("bas", "55.00", f"2026-03-{9 + day:02d}T10:00:00Z") for day in range(3)
    ]
    assert [points(a, "challenge:three-big-baskets") for a in next_week] == [0, 0, 300]


@row(
    "`challenges.yaml`",
    "`monthly-reviewer`",
    "every month, in order: a review, then a review with a photo: 150 points",
)
async def _monthly_reviewer(demo: Demo) -> None:
    await demo.member("mia", month=3)
    march = [
        await demo.review("mia", photo, f"2026-03-{2 + i:02d}T10:00:00Z")
        for i, photo in enumerate((False, False, True, True))
    ]
    assert [points(a, "challenge:monthly-reviewer") for a in march] == [0, 0, 150, 0]
    april = [
        await demo.review("mia", True, f"2026-04-{1 + i:02d}T10:00:00Z") for i in range(2)
    ]  # a photo review is a review too: it does the first step
    assert [points(a, "challenge:monthly-reviewer") for a in april] == [0, 150]


@row(
    "`streaks.yaml`",
    "`daily-checkin`",
    "check in (app open) on consecutive days: 100 points and `streak-week` at 7 days, 500 at "
    "30; one missed day a month is frozen",
)
async def _daily_checkin(demo: Demo) -> None:
    await demo.member("cai", month=3)
    days = [
        *(datetime(2026, 3, d, 8, tzinfo=UTC) for d in (2, 3, 4, 6, 7, 8, 9)),  # 5 March missed
        *(datetime(2026, 3, d, 8, tzinfo=UTC) for d in range(10, 32)),
        datetime(2026, 4, 1, 8, tzinfo=UTC),
    ]
    paid = {}
    for n, day in enumerate(days, start=1):
        answer = await demo.event("checkin", "cai", day.isoformat())
        if points(answer, "streak:daily-checkin"):
            paid[n] = (points(answer, "streak:daily-checkin"), answer["badges"])
    assert paid == {7: (100, ["streak-week"]), 30: (500, [])}


@row(
    "`referrals.yaml`",
    "`referral:`",
    "a friend who signs up (or makes a first purchase) with a member's code gets 250 points, "
    "and the member 500, on the friend's first purchase of 20 EUR or more; at most 10 friends",
)
async def _referral(demo: Demo) -> None:
    await demo.member("rex", month=3)
    got = await demo.client.get("/v1/members/rex/referral", headers=demo.auth)
    code = got.json()["code"]
    friends = [f"pal-{i}" for i in range(11)]
    for friend in friends:
        await demo.member(friend, month=3)
    # the first friend signs up with the code, then buys too little, then enough
    await demo.event("signup", friends[0], "2026-03-02T10:00:00Z", {"referral_code": code})
    small = await demo.buy(friends[0], "19.99")
    assert points(small, "referral:referee") == 0
    enough = await demo.buy(friends[0], "20.00")
    assert points(enough, "referral:referee") == 250
    # the second gives the code on a first purchase that qualifies at once
    first = await demo.buy(friends[1], "25.00", referral_code=code)
    assert points(first, "referral:referee") == 250
    for friend in friends[2:]:
        await demo.event("signup", friend, "2026-03-02T10:00:00Z", {"referral_code": code})
        answer = await demo.buy(friend, "30.00")
        assert points(answer, "referral:referee") == 250  # the eleventh friend too
    balances = (await demo.view("rex"))["balances"]
    assert balances["available"] + balances["pending"] == 10 * 500


ROWS = demo_rows()


def test_every_row_of_the_demo_table_has_a_scenario_and_every_scenario_a_row() -> None:
    assert len(ROWS) >= 13
    assert sorted(ROWS) == sorted(SCENARIOS)


def _row_id(key: tuple[str, str]) -> str:
    return re.sub(r"[^a-z:-]+", " ", key[1]).strip()


@pytest.mark.parametrize("in_birthday_month", [False, True], ids=["other-month", "birthday"])
@pytest.mark.parametrize("key", sorted(ROWS), ids=_row_id)
async def test_the_demo_table_row_holds(key, in_birthday_month, client, make_key, clock):
    claims, scenario = SCENARIOS[key]
    for claim in claims:
        assert claim in ROWS[key], f"the guide's row {key} no longer says: {claim}"
    demo = Demo(client, await make_key("admin"), clock, in_birthday_month)
    await scenario(demo)
