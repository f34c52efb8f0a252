"""The dry run of a draft: rule files that are not published, tried on a stored member.

A draft is loaded and checked exactly as publishing would (a bad one is refused 422 with every
problem at file:line:col), evaluated as of the member's stored state, and never stored: the
active version stays what it was and no row changes. Over HTTP (`files` in the dry-run body)
and by CLI (`loyalty rules dry-run DIR --member M --event JSON`, on the database directly).
"""

from __future__ import annotations

import json
import shutil
from typing import Any

from helpers import bearer
from test_rules_admin import (
    DEMO_VERSION,
    RULES_DIR,
    _loyalty,
    broken_files,
    count_rows,
    demo_files,
    purchase,
    twenty_per_euro,
)

from service.engine import load_ruleset_from_files

TWO_REVIEWS = """\
challenges:
  - id: two-reviews-a-week
    name: Two reviews this week
    description: Review 2 products this week and earn 100 points.
    every: week
    steps:
      - on: review
        count: 2
    reward: {points: 100}
"""


def with_challenge() -> dict[str, str]:
    """The demo program and one new (unpublished) challenge in its own file."""
    return {**demo_files(), "weekly-reviews.yaml": TWO_REVIEWS}


def review(event_id: str, member_id: str = "alice") -> dict[str, Any]:
    return {
        "id": event_id,
        "type": "review",
        "member_id": member_id,
        "occurred_at": "2026-03-02T08:00:00Z",
        "attributes": {"product_id": "P-9", "rating": 5, "has_photo": False, "text_length": 80},
    }


async def active_version(client: Any, admin: str) -> str:
    shown = await client.get("/v1/admin/rules", headers=bearer(admin))
    version: str = shown.json()["version"]
    return version


async def test_a_draft_is_evaluated_and_not_published(client, make_key, db):
    admin = await make_key("admin")
    draft = twenty_per_euro()
    before = await count_rows(db)
    response = await client.post(
        "/v1/admin/rules/dry-run",
        json={"files": draft, "event": purchase("120.00")},
        headers=bearer(admin),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ruleset"] == "draft"
    assert body["ruleset_version"] == load_ruleset_from_files(draft).version != DEMO_VERSION
    assert body["points"] == 2400 and body["fired"] == ["base-earn"]
    assert all(e["ruleset_version"] == body["ruleset_version"] for e in body["effects"])
    assert await active_version(client, admin) == DEMO_VERSION
    assert client.app.state.app.runtime.rules.current.version == DEMO_VERSION
    assert await count_rows(db) == before  # no ruleset stored, nothing booked

    active = await client.post(
        "/v1/admin/rules/dry-run", json={"event": purchase("120.00")}, headers=bearer(admin)
    )
    assert active.json()["ruleset"] == "active"
    assert active.json()["ruleset_version"] == DEMO_VERSION and active.json()["points"] == 1200


async def test_a_draft_challenge_is_tried_on_the_stored_member(client, make_key, db):
    admin, checkout = await make_key("admin"), await make_key("events:write")
    posted = await client.post("/v1/events", json=review("rev-1"), headers=bearer(checkout))
    assert posted.status_code == 201, posted.text
    before = await count_rows(db)
    response = await client.post(
        "/v1/admin/rules/dry-run",
        json={"files": with_challenge(), "event": review("rev-2"), "member_id": "alice"},
        headers=bearer(admin),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ruleset"] == "draft"
    [progress] = [e for e in body["effects"] if e["type"] == "challenge"]
    assert progress["challenge"] == "two-reviews-a-week"
    assert (progress["progress"], progress["target"], progress["completed"]) == (1, 2, False)
    skipped = {s["rule_id"]: s["reason"] for s in body["skipped"]}
    assert skipped["first-review-bonus"] == "condition_false"  # alice's stored first review
    assert body["points"] == 25 and body["fired"] == ["review-points"]
    assert await count_rows(db) == before
    assert await active_version(client, admin) == DEMO_VERSION


async def test_a_bad_draft_is_refused_as_publishing_refuses_it(client, make_key, db):
    admin = await make_key("admin")
    tried = await client.post(
        "/v1/admin/rules/dry-run",
        json={"files": broken_files(), "event": purchase()},
        headers=bearer(admin),
    )
    published = await client.post(
        "/v1/admin/rules", json={"files": broken_files()}, headers=bearer(admin)
    )
    assert tried.status_code == published.status_code == 422, tried.text
    assert tried.headers["content-type"].startswith("application/problem+json")
    assert tried.json()["code"] == "ruleset_refused"
    assert tried.json()["errors"] == published.json()["errors"]
    assert tried.json()["detail"] == published.json()["detail"]
    fields = {e["field"] for e in tried.json()["errors"]}
    assert {"earn.yaml:20:5", "earn.yaml:25:16"} <= fields

    bad_name = await client.post(
        "/v1/admin/rules/dry-run",
        json={"files": {"../program.yaml": "x"}, "event": purchase()},
        headers=bearer(admin),
    )
    assert bad_name.status_code == 400
    assert bad_name.json()["errors"][0]["field"].startswith("files")


async def test_the_event_is_checked_against_the_draft_program(client, make_key):
    """An event type only the draft declares is tried; the active program refuses it."""
    admin = await make_key("admin")
    files = demo_files()
    files["program.yaml"] = files["program.yaml"].replace(
        "event_types:\n", "event_types:\n  app_opened:\n    screen: string\n", 1
    )
    files["app.yaml"] = (
        "rules:\n  - id: app-points\n    on: app_opened\n    actions:\n      - points: 5\n"
    )
    event = {**purchase(), "type": "app_opened", "attributes": {"screen": "home"}}
    tried = await client.post(
        "/v1/admin/rules/dry-run", json={"files": files, "event": event}, headers=bearer(admin)
    )
    assert tried.status_code == 200, tried.text
    assert tried.json()["points"] == 5 and tried.json()["fired"] == ["app-points"]
    active = await client.post(
        "/v1/admin/rules/dry-run", json={"event": event}, headers=bearer(admin)
    )
    assert active.status_code == 422, active.text
    assert active.json()["errors"][0]["field"] == "event.type"


# -- the CLI ---------------------------------------------------------------------------------------


def dry_run(folder) -> tuple[str, ...]:
    """The arguments of `loyalty rules dry-run FOLDER --member`; the member comes next."""
    return ("rules", "dry-run", str(folder), "--member")


async def test_cli_dry_run_tries_a_draft_folder_on_a_stored_member(
    client, make_key, db, database_url, tmp_path
):
    admin, checkout = await make_key("admin"), await make_key("events:write")
    assert (
        await client.post("/v1/events", json=review("rev-1"), headers=bearer(checkout))
    ).is_success
    folder = tmp_path / "rules"
    shutil.copytree(RULES_DIR, folder)
    (folder / "weekly-reviews.yaml").write_text(TWO_REVIEWS, encoding="utf-8")
    before = await count_rows(db)
    event = json.dumps({"type": "review", "attributes": review("x")["attributes"]})
    out, err = await _loyalty(database_url, *dry_run(folder), "alice", "--event", event)
    body = json.loads(out)
    assert body["ruleset"] == "draft"
    assert body["ruleset_version"] == load_ruleset_from_files(with_challenge()).version
    # now, by the machine's clock: a new month, so the demo's monthly-reviewer counts it too
    [progress] = [e for e in body["effects"] if e.get("challenge") == "two-reviews-a-week"]
    assert (progress["progress"], progress["target"]) == (1, 2)
    assert body["fired"] == ["review-points"] and body["points"] == 25
    assert "not published" in err and "nothing was written" in err
    assert await count_rows(db) == before
    assert await active_version(client, admin) == DEMO_VERSION

    (tmp_path / "event.json").write_text(json.dumps(purchase("120.00", "bob")), encoding="utf-8")
    out, err = await _loyalty(
        database_url, *dry_run(folder), "bob", "--event", str(tmp_path / "event.json")
    )
    assert json.loads(out)["points"] == 1200


async def test_cli_dry_run_refuses_a_bad_draft_and_a_bad_event(database_url, tmp_path):
    folder = tmp_path / "rules"
    folder.mkdir()
    for name, text in broken_files().items():
        (folder / name).write_text(text, encoding="utf-8")
    event = json.dumps({"type": "review", "attributes": review("x")["attributes"]})
    out, _ = await _loyalty(database_url, *dry_run(folder), "alice", "--event", event, status=1)
    assert f"{folder}/earn.yaml:20:5: unknown field 'priorty'" in out
    assert f"{folder}/earn.yaml:25:16: unknown attribute 'event.ammount'" in out

    shutil.rmtree(folder)
    shutil.copytree(RULES_DIR, folder)
    _, err = await _loyalty(
        database_url,
        *dry_run(folder),
        "alice",
        "--event",
        '{"type": "review", "attributes": {"product_id": "P-1"}}',
        status=1,
    )
    assert "event.attributes." in err
    _, err = await _loyalty(database_url, *dry_run(folder), "alice", "--event", "[1]", status=2)
    assert "--event" in err
