"""Batches: decided in order as sets; one poison event never fails the good ones."""

from __future__ import annotations

from helpers import bearer, purchase


def _review(event_id: str, member_id: str, product_id: str) -> dict[str, object]:
    return {
        "id": event_id,
        "type": "review",
        "member_id": member_id,
        "occurred_at": "2026-03-02T08:00:00Z",
        "attributes": {"product_id": product_id, "rating": 4, "has_photo": False, "text_length": 9},
    }


async def test_a_members_second_event_in_a_batch_sees_the_first(client, make_key):
    key = await make_key("events:write")
    events = [
        _review("r1", "ann", "P-1"),  # first review: 100 bonus + 25
        _review("r2", "ann", "P-2"),  # no longer the first: 25
    ]
    answer = await client.post("/v1/events/batch", json={"events": events}, headers=bearer(key))
    results = answer.json()["results"]
    assert [r["result"]["earned"] for r in results] == [125, 25]
    assert results[1]["result"]["balances"]["available"] == 150


async def test_an_event_the_database_cannot_store_is_refused_alone(client, make_key):
    key = await make_key("events:write")
    events = [
        purchase("p1", "bob", "10"),
        _review("r1", "bob", "P\u0000"),  # PostgreSQL keeps no NUL: the set fails, then alone
        purchase("p2", "carl", "20"),
    ]
    answer = await client.post("/v1/events/batch", json={"events": events}, headers=bearer(key))
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [r["status"] for r in results] == [201, 400, 201]
    assert results[1]["code"] == "nul_character"
    assert results[0]["result"]["earned"] == 100 and results[2]["result"]["earned"] == 200


async def test_an_event_that_fails_unexpectedly_is_not_booked_and_the_others_are(
    client, make_key, db
):
    key = await make_key("events:write", "members:read")
    async with db.transaction() as conn:  # an operator's constraint the service does not know
        await conn.raw.execute(
            """
            CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF NEW.event_id = 'poison' THEN RAISE EXCEPTION 'poison event'; END IF;
              RETURN NEW;
            END $$;
            CREATE TRIGGER refuse_poison BEFORE INSERT ON events
              FOR EACH ROW EXECUTE FUNCTION refuse_poison();
            """
        )
    events = [purchase("good-1", "dee", "10"), purchase("poison", "dee", "30")]
    events.append(purchase("good-2", "eve", "20"))
    answer = await client.post("/v1/events/batch", json={"events": events}, headers=bearer(key))
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [r["status"] for r in results] == [201, 500, 201]
    assert results[1]["code"] == "event_not_booked"
    dee = (await client.get("/v1/members/dee", headers=bearer(key))).json()
    assert dee["balances"]["pending"] == 100  # the good purchase only
    again = await client.post(
        "/v1/events", json=purchase("good-1", "dee", "10"), headers=bearer(key)
    )
    assert again.status_code == 200 and again.json()["replay"] is True
