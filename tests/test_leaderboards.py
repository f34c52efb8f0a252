"""Leaderboards: ranks and ties, neighbours, periods in the program's time zone, segments,
hidden members, past periods, and histogram ranks equal to brute-force ranks."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from helpers import bearer, get, member_token

from service.core.boards import (
    ANONYMOUS,
    bucket_bounds,
    bucket_of,
    parse_period_key,
    period_key_for,
)
from service.engine import Event
from service.views import boards

PROGRAM = """
program:
  name: Board test program
  timezone: Europe/Berlin
event_types:
  play:
    points: int
member_attributes:
  region: string
leaderboards:
  - id: weekly
    name: Weekly points
    metric: points_earned
    period: week
  - id: daily
    name: Daily points
    metric: points_earned
    period: day
  - id: regional
    name: Monthly points per region
    metric: points_earned
    period: month
    segment: region
  - id: all-time
    name: All-time points
    metric: points_earned
    period: all_time
  - id: plays
    name: Most plays
    metric: count:play
    period: all_time
"""

RULES = """
rules:
  - id: play-points
    on: play
    when: event.points > 0
    actions:
      - points: event.points
"""


async def _setup(client, make_key):
    admin = await make_key("admin")
    files = {"program.yaml": PROGRAM, "play.yaml": RULES}
    response = await client.post("/v1/admin/rules", json={"files": files}, headers=bearer(admin))
    assert response.status_code == 201, response.text
    return admin


async def _play(client, key, event_id, member_id, points, at="2026-03-02T08:00:00Z"):
    body = {
        "id": event_id,
        "type": "play",
        "member_id": member_id,
        "occurred_at": at,
        "attributes": {"points": points},
    }
    response = await client.post("/v1/events", json=body, headers=bearer(key))
    assert response.status_code == 201, response.text


async def _profile(client, key, member_id, **fields):
    response = await client.put(f"/v1/members/{member_id}", json=fields, headers=bearer(key))
    assert response.status_code == 200, response.text


def _names(page):
    return [(e["rank"], e["name"], e["score"]) for e in page["entries"]]


async def test_ties_rank_by_who_reached_the_score_first(client, make_key, clock):
    admin = await _setup(client, make_key)
    for member, name in [("ann", "Ann"), ("bob", "Bob"), ("cat", "Cat"), ("dan", "Dan")]:
        await _profile(client, admin, member, display_name=name)
    await _play(client, admin, "e1", "bob", 50)
    clock.advance(timedelta(minutes=1))
    await _play(client, admin, "e2", "ann", 30)
    clock.advance(timedelta(minutes=1))
    await _play(client, admin, "e3", "cat", 50)  # ties bob, but later
    clock.advance(timedelta(minutes=1))
    await _play(client, admin, "e4", "dan", 10)
    clock.advance(timedelta(minutes=1))
    await _play(client, admin, "e5", "ann", 20)  # ann reaches 50 last

    page = await get(client, admin, "/v1/leaderboards/weekly")
    assert page["period_key"] == "2026-W10"
    assert _names(page) == [(1, "Bob", 50), (2, "Cat", 50), (3, "Ann", 50), (4, "Dan", 10)]
    assert _names(await get(client, admin, "/v1/leaderboards/weekly?limit=2")) == [
        (1, "Bob", 50),
        (2, "Cat", 50),
    ]
    # a count board counts events, not points
    plays = await get(client, admin, "/v1/leaderboards/plays")
    assert _names(plays)[0] == (1, "Ann", 2)


async def test_a_member_sees_rank_neighbours_and_the_gap(client, make_key, clock):
    admin = await _setup(client, make_key)
    scores = {"m1": 500, "m2": 400, "m3": 350, "m4": 300, "m5": 200, "m6": 100}
    for member, score in scores.items():
        await _profile(client, admin, member, display_name=member.upper())
        await _play(client, admin, f"e-{member}", member, score)
        clock.advance(timedelta(seconds=10))

    standing = await get(client, admin, "/v1/leaderboards/weekly/members/m4")
    assert (standing["rank"], standing["score"], standing["total"]) == (4, 300, 6)
    assert [(e["rank"], e["name"], e["score"]) for e in standing["above"]] == [
        (2, "M2", 400),
        (3, "M3", 350),
    ]
    assert [(e["rank"], e["name"]) for e in standing["below"]] == [(5, "M5"), (6, "M6")]
    assert standing["gap"] == 50
    top = await get(client, admin, "/v1/leaderboards/weekly/members/m1")
    assert (top["rank"], top["above"], top["gap"]) == (1, [], None)
    assert [e["rank"] for e in top["below"]] == [2, 3]

    token = await member_token(client, admin, "m6")
    me = await get(client, token, "/v1/me/leaderboards/weekly")
    assert (me["rank"], me["entry"]["you"], me["gap"]) == (6, True, 100)
    # another member's standing is not for this token; the public top is
    await get(client, token, "/v1/leaderboards/weekly/members/m4", status=403)
    assert _names(await get(client, token, "/v1/leaderboards/weekly"))[0] == (1, "M1", 500)
    # a member with no score this period is not ranked
    await _profile(client, admin, "newbie", display_name="New")
    absent = await get(client, admin, "/v1/leaderboards/weekly/members/newbie")
    assert (absent["ranked"], absent["rank"], absent["total"]) == (False, None, 0)


async def test_periods_roll_over_on_the_program_wall_clock(client, make_key, clock):
    admin = await _setup(client, make_key)
    clock.set(datetime(2026, 3, 30, 12, tzinfo=UTC))  # every event below is in the past
    # Berlin is UTC+1 until 29 March 2026: 22:30 UTC Sunday is 23:30 Sunday (week 10),
    # 23:30 UTC Sunday is 00:30 Monday in Berlin (week 11, and the next day).
    await _play(client, admin, "sun", "ann", 10, at="2026-03-08T22:30:00Z")
    await _play(client, admin, "mon", "bob", 20, at="2026-03-08T23:30:00Z")
    week10 = await get(client, admin, "/v1/leaderboards/weekly?period=2026-W10")
    week11 = await get(client, admin, "/v1/leaderboards/weekly?period=2026-W11")
    assert [e["score"] for e in week10["entries"]] == [10]
    assert [e["score"] for e in week11["entries"]] == [20]
    day = await get(client, admin, "/v1/leaderboards/daily?period=2026-03-09")
    assert [e["score"] for e in day["entries"]] == [20]
    # after the switch to summer time (UTC+2): 22:30 UTC Sunday 29 March is already Monday
    await _play(client, admin, "dst", "ann", 5, at="2026-03-29T22:30:00Z")
    week14 = await get(client, admin, "/v1/leaderboards/weekly?period=2026-W14")
    assert [e["score"] for e in week14["entries"]] == [5]
    everything = await get(client, admin, "/v1/leaderboards/all-time?period=all")
    assert [e["score"] for e in everything["entries"]] == [20, 15]


async def test_past_periods_stay_readable_and_bad_periods_are_refused(client, make_key, clock):
    admin = await _setup(client, make_key)
    await _play(client, admin, "w10", "ann", 40)
    clock.advance(timedelta(days=7))  # now in week 11
    current = await get(client, admin, "/v1/leaderboards/weekly")
    assert (current["period_key"], current["entries"]) == ("2026-W11", [])
    past = await get(client, admin, "/v1/leaderboards/weekly?period=2026-W10")
    assert _names(past)[0][2] == 40
    standing = await get(client, admin, "/v1/leaderboards/weekly/members/ann?period=2026-W10")
    assert standing["rank"] == 1
    # a late event counts in the period it occurred in
    await _play(client, admin, "late", "bob", 60, at="2026-03-03T12:00:00Z")
    past = await get(client, admin, "/v1/leaderboards/weekly?period=2026-W10")
    assert [e["score"] for e in past["entries"]] == [60, 40]

    for bad in ("2026-03", "2026-W54", "yesterday", "2026-W1"):
        problem = await get(client, admin, f"/v1/leaderboards/weekly?period={bad}", status=400)
        assert [e["field"] for e in problem["errors"]] == ["period"], problem
    await get(client, admin, "/v1/leaderboards/nope", status=404)
    await get(client, admin, "/v1/leaderboards/weekly?limit=101", status=400)
    reader = await make_key("events:write")
    await get(client, reader, "/v1/leaderboards/weekly", status=403)


async def test_segments_rank_members_within_their_own_segment(client, make_key, clock):
    admin = await _setup(client, make_key)
    await _profile(client, admin, "n1", display_name="N1", attributes={"region": "north"})
    await _profile(client, admin, "n2", display_name="N2", attributes={"region": "north"})
    await _profile(client, admin, "s1", display_name="S1", attributes={"region": "south"})
    await _profile(client, admin, "nomad", display_name="Nomad")
    for member, points in [("n1", 10), ("n2", 30), ("s1", 5), ("nomad", 100)]:
        await _play(client, admin, f"e-{member}", member, points)
        clock.advance(timedelta(seconds=1))

    north = await get(client, admin, "/v1/leaderboards/regional?segment=north")
    south = await get(client, admin, "/v1/leaderboards/regional?segment=south")
    assert _names(north) == [(1, "N2", 30), (2, "N1", 10)]
    assert _names(south) == [(1, "S1", 5)]
    n1 = await get(client, admin, "/v1/leaderboards/regional/members/n1")
    assert (n1["segment"], n1["rank"], n1["total"]) == ("north", 2, 2)
    nomad = await get(client, admin, "/v1/leaderboards/regional/members/nomad")
    assert (nomad["ranked"], nomad["segment"]) == (False, None)
    problem = await get(client, admin, "/v1/leaderboards/regional", status=400)
    assert [e["field"] for e in problem["errors"]] == ["segment"]
    problem = await get(client, admin, "/v1/leaderboards/weekly?segment=north", status=400)
    assert [e["field"] for e in problem["errors"]] == ["segment"]


async def test_hidden_members_are_anonymous_to_others_but_see_themselves(client, make_key):
    admin = await _setup(client, make_key)
    await _profile(client, admin, "shy", display_name="Shy Sue", hidden=True)
    await _profile(client, admin, "loud", display_name="Loud Larry")
    await _play(client, admin, "e1", "shy", 90)
    await _play(client, admin, "e2", "loud", 50)
    await _play(client, admin, "e3", "crm-000123", 20)  # no display name

    seen_by_key = _names(await get(client, admin, "/v1/leaderboards/weekly"))
    assert seen_by_key[:2] == [(1, ANONYMOUS, 90), (2, "Loud Larry", 50)]
    fallback = seen_by_key[2][1]
    assert fallback.startswith("Member #") and "crm-000123" not in fallback

    loud = await member_token(client, admin, "loud")
    page = await get(client, loud, "/v1/leaderboards/weekly")
    assert [(e["name"], e["you"]) for e in page["entries"][:2]] == [
        (ANONYMOUS, False),
        ("Loud Larry", True),
    ]
    assert (await get(client, loud, "/v1/me/leaderboards/weekly"))["above"][0]["name"] == ANONYMOUS

    shy = await member_token(client, admin, "shy")
    assert _names(await get(client, shy, "/v1/leaderboards/weekly"))[0] == (1, "Shy Sue", 90)
    mine = await get(client, shy, "/v1/me/leaderboards/weekly")
    assert (mine["rank"], mine["entry"]["name"]) == (1, "Shy Sue")


def test_bucket_layout_is_monotonic_and_bounds_hold_their_scores():
    previous = -1
    for score in [*range(0, 5000), *(random.Random(7).randrange(10**12) for _ in range(5000))]:
        bucket = bucket_of(score)
        low, high = bucket_bounds(bucket)
        assert low <= score < high
        if score < 5000:
            assert bucket >= previous
            previous = bucket
    assert bucket_bounds(bucket_of(10**6))[1] - bucket_bounds(bucket_of(10**6))[0] <= 10**6 // 32


def test_period_keys():
    berlin = "Europe/Berlin"
    assert period_key_for("week", datetime(2026, 3, 8, 23, 30, tzinfo=UTC), berlin) == "2026-W11"
    assert period_key_for("month", datetime(2026, 2, 28, 23, 30, tzinfo=UTC), berlin) == "2026-03"
    assert period_key_for("lifetime", datetime(2026, 2, 28, tzinfo=UTC), berlin) == "all"
    assert parse_period_key("week", "2025-W53") is None  # 2025 has 52 ISO weeks
    assert parse_period_key("week", "2026-W53") == "2026-W53"  # 2026 has 53
    assert parse_period_key("month", "2026-13") is None
    assert parse_period_key("day", "2026-02-30") is None
    assert parse_period_key("lifetime", "all") == "all"


@pytest.mark.no_replay  # scores are recorded straight into the store
async def test_histogram_rank_equals_brute_force_rank(client, make_key, runtime, db, clock):
    """Random scores (dense ties at low scores, sparse at high ones) for 300 members, several
    updates each so members cross buckets; every rank equals SQL's row_number()."""
    await _setup(client, make_key)
    await runtime.rules.refresh()
    ruleset = runtime.rules.current
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    members = [f"p{i:03d}" for i in range(300)]
    async with db.transaction() as conn:
        await conn.raw.executemany(
            "INSERT INTO members (member_id) VALUES ($1)", [(m,) for m in members]
        )
    now = clock.now()
    for round_no in range(4):
        for member in members:
            if rng.random() < 0.3:
                continue
            points = rng.choice([rng.randint(1, 5), rng.randint(1, 300), rng.randint(1, 10**6)])
            now += timedelta(milliseconds=rng.choice([0, 1]))  # some identical reached_at
            event = Event(
                id=f"r{round_no}-{member}",
                type="play",
                member_id=member,
                occurred_at=datetime(2026, 3, 2, 8, tzinfo=UTC),
                attributes={"points": points},
            )
            async with db.transaction() as conn:
                await boards.record(conn, ruleset, event, points, now)
    async with db.connection() as conn:  # SQL on purpose: the ranks computed directly
        expected = {
            r["member_id"]: r["rank"]
            for r in await conn.raw.fetch(
                "SELECT member_id, row_number() OVER "
                "(ORDER BY score DESC, reached_at, member_id) AS rank "
                "FROM board_scores WHERE board_id = 'all-time' AND period_key = 'all'"
            )
        }
    assert len(expected) > 250
    for member in rng.sample(sorted(expected), 200):
        standing = await boards.standing(
            runtime, "all-time", member, period="all", segment=None, viewer=None
        )
        assert standing.rank == expected[member], f"seed {seed}: {member}"
        assert standing.total == len(expected), f"seed {seed}"
    # the rebuilt histogram (all in one shard row per bucket) ranks the same
    async with db.transaction() as conn:
        assert await boards.rebuild_histogram(conn, "all-time", "all") == len(expected)
    for member in rng.sample(sorted(expected), 50):
        standing = await boards.standing(
            runtime, "all-time", member, period="all", segment=None, viewer=None
        )
        assert standing.rank == expected[member], f"seed {seed}: {member}"
