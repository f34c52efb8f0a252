"""Rule management: publish, show and dry-run rulesets over HTTP; check, test, publish by CLI.

A bad ruleset is refused with every problem at file:line:col and the old version keeps running;
a good one switches this replica at once and every other replica within seconds.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from builders import ruleset_versions
from helpers import bearer, loyalty, member_token
from litestar.testing import AsyncTestClient

from service.app import create_app
from service.cli import main
from service.engine import load_ruleset
from service.store.tables import metadata

RULES_DIR = Path(__file__).resolve().parents[1] / "rules"
DEMO_VERSION = load_ruleset(RULES_DIR).version
BASE_FORMULA = "floor(event.amount * 10.0 * tier.multiplier)"


def demo_files() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(RULES_DIR.glob("*.yaml"))}


def twenty_per_euro() -> dict[str, str]:
    """The demo program with 20 instead of 10 points per EUR in the everyday rule."""
    files = demo_files()
    assert BASE_FORMULA in files["earn.yaml"]
    files["earn.yaml"] = files["earn.yaml"].replace(
        BASE_FORMULA, "floor(event.amount * 20.0 * tier.multiplier)"
    )
    return files


def broken_files() -> dict[str, str]:
    """The demo program with an unknown field (line 20) and a CEL typo (line 25) in earn.yaml."""
    files = demo_files()
    earn = files["earn.yaml"].replace("when: event.amount > 0.0", "when: event.ammount > 0.0")
    files["earn.yaml"] = earn.replace("    stop: true\n", "    stop: true\n    priorty: 3\n")
    return files


def purchase(amount: str = "120.00", member_id: str = "alice") -> dict[str, Any]:
    return {
        "id": "try-1",
        "type": "purchase",
        "member_id": member_id,
        "occurred_at": "2026-03-02T09:00:00Z",
        "attributes": {"order_id": "A-1", "amount": amount, "currency": "EUR"},
    }


async def count_rows(db) -> dict[str, int]:
    """Rows per table. SQL on purpose: every table of the schema, whichever, is unchanged."""
    async with db.connection() as conn:
        return {
            table.name: await conn.raw.fetchval(f'SELECT count(*) FROM "{table.name}"')
            for table in metadata.sorted_tables
        }


async def test_get_shows_the_active_demo_ruleset(client, make_key):
    admin = await make_key("admin")
    response = await client.get("/v1/admin/rules", headers=bearer(admin))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["version"] == DEMO_VERSION
    assert body["short_version"] == DEMO_VERSION[:16]
    assert body["program"] == {
        "name": "Northwind Outfitters Rewards",
        "timezone": "Europe/Berlin",
        "currency": "EUR",
    }
    assert body["files"] == [
        "challenges.yaml",
        "earn.yaml",
        "engagement.yaml",
        "program.yaml",
        "referrals.yaml",
        "reviews.yaml",
        "streaks.yaml",
    ]
    rules = {r["id"]: r for r in body["rules"]}
    assert rules["base-earn"]["on"] == "purchase"
    assert rules["base-earn"]["file"] == "earn.yaml"
    assert rules["base-earn"]["line"] > 0
    assert rules["review-points"]["on"] == "review"
    assert body["rules"][0]["id"] == "win-back"  # firing order: highest priority first
    assert body["activated_at"]


async def test_publishing_a_changed_ruleset_activates_it_at_once(client, make_key):
    admin = await make_key("admin")
    response = await client.post(
        "/v1/admin/rules", json={"files": twenty_per_euro()}, headers=bearer(admin)
    )
    assert response.status_code == 201, response.text
    published = response.json()
    assert published["changed"] is True
    assert published["version"] != DEMO_VERSION
    assert published["rules"] == 9

    shown = (await client.get("/v1/admin/rules", headers=bearer(admin))).json()
    assert shown["version"] == published["version"]
    assert client.app.state.app.runtime.rules.current.version == published["version"]
    tried = await client.post(
        "/v1/admin/rules/dry-run", json={"event": purchase("120.00")}, headers=bearer(admin)
    )
    assert tried.status_code == 200, tried.text
    assert tried.json()["points"] == 2400
    assert tried.json()["ruleset_version"] == published["version"]


async def test_publishing_the_active_version_again_is_a_no_op(client, make_key, db):
    admin = await make_key("admin")
    before = (await client.get("/v1/admin/rules", headers=bearer(admin))).json()
    response = await client.post(
        "/v1/admin/rules", json={"files": demo_files()}, headers=bearer(admin)
    )
    assert response.status_code == 200, response.text
    assert response.json()["changed"] is False
    assert response.json()["version"] == DEMO_VERSION
    after = (await client.get("/v1/admin/rules", headers=bearer(admin))).json()
    assert after["activated_at"] == before["activated_at"]
    assert len(await ruleset_versions(db)) == 1


async def test_a_bad_ruleset_is_refused_with_every_problem_and_the_old_one_keeps_running(
    client, make_key, db
):
    admin = await make_key("admin")
    response = await client.post(
        "/v1/admin/rules", json={"files": broken_files()}, headers=bearer(admin)
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "ruleset_refused"
    errors = {e["field"]: e["reason"] for e in problem["errors"]}
    assert "unknown field 'priorty'" in errors["earn.yaml:20:5"]
    assert "did you mean 'priority'" in errors["earn.yaml:20:5"]
    assert "unknown attribute 'event.ammount'" in errors["earn.yaml:25:16"]
    assert "did you mean 'amount'" in errors["earn.yaml:25:16"]
    assert DEMO_VERSION[:16] in problem["detail"]

    shown = (await client.get("/v1/admin/rules", headers=bearer(admin))).json()
    assert shown["version"] == DEMO_VERSION
    assert client.app.state.app.runtime.rules.current.version == DEMO_VERSION
    tried = await client.post(
        "/v1/admin/rules/dry-run", json={"event": purchase("120.00")}, headers=bearer(admin)
    )
    assert tried.json()["points"] == 1200 and tried.json()["ruleset_version"] == DEMO_VERSION
    assert len(await ruleset_versions(db)) == 1


async def test_a_yaml_syntax_error_and_a_missing_program_are_refused(client, make_key):
    admin = await make_key("admin")
    files = demo_files()
    files["reviews.yaml"] = "rules:\n  - id: [unclosed\n"
    response = await client.post("/v1/admin/rules", json={"files": files}, headers=bearer(admin))
    assert response.status_code == 422
    assert any(e["field"].startswith("reviews.yaml:") for e in response.json()["errors"])

    files["reviews.yaml"] = "rules: []\n# \x99\x1b\n"  # characters YAML does not allow
    response = await client.post("/v1/admin/rules", json={"files": files}, headers=bearer(admin))
    assert response.status_code == 422, response.text
    assert "reviews.yaml:2:3" in [e["field"] for e in response.json()["errors"]]

    files["reviews.yaml"] = "0000-0-0T0:00:00"  # a date that cannot be
    response = await client.post("/v1/admin/rules", json={"files": files}, headers=bearer(admin))
    assert response.status_code == 422, response.text
    assert "reviews.yaml:1:1" in [e["field"] for e in response.json()["errors"]]

    only_rules = {"earn.yaml": demo_files()["earn.yaml"]}
    response = await client.post(
        "/v1/admin/rules", json={"files": only_rules}, headers=bearer(admin)
    )
    assert response.status_code == 422
    assert {"field": "program.yaml", "reason": "file is missing"} in response.json()["errors"]


async def test_a_yaml_alias_bomb_is_refused_with_file_and_line_and_the_old_one_keeps_running(
    client, make_key
):
    admin = await make_key("admin")
    bomb = (
        "a: &a ["
        + ",".join("x" * 10)
        + "]\n"
        + "".join(
            f"{b}: &{b} [" + ",".join([f"*{a}"] * 10) + "]\n"
            for a, b in zip("abcdefghi", "bcdefghij", strict=True)
        )
    )
    files = {**demo_files(), "bomb.yaml": bomb}
    response = await client.post("/v1/admin/rules", json={"files": files}, headers=bearer(admin))
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["field"] == "bomb.yaml:1:4"
    assert error["reason"].startswith("anchors and aliases (&name, *name) are not allowed")
    shown = (await client.get("/v1/admin/rules", headers=bearer(admin))).json()
    assert shown["version"] == DEMO_VERSION


async def test_the_probes_string_building_rule_is_refused_at_publish(client, make_key):
    """Two maps over 99-element lists joining 32 copies of the order id: within the iteration
    limit, but a 1,000-character id made one purchase take seconds and gigabytes. It is
    refused with file and line; the active version keeps running (issue 14 R2)."""
    admin = await make_key("admin")
    ninety_nine = "[" + ",".join(str(i) for i in range(99)) + "]"
    terms = ["event.order_id"] * 32
    while len(terms) > 1:
        terms = ["(" + " + ".join(terms[i : i + 2]) + ")" for i in range(0, len(terms), 2)]
    when = f"size({ninety_nine}.map(i, {ninety_nine}.map(j, {terms[0]}))) > 0"
    rule = f"rules:\n  - id: probe\n    on: purchase\n    when: '{when}'\n"
    rule += "    actions: [{points: 1}]\n"
    files = {**demo_files(), "probe.yaml": rule}
    response = await client.post("/v1/admin/rules", json={"files": files}, headers=bearer(admin))
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["field"].startswith("probe.yaml:4:")
    assert "too costly to evaluate" in error["reason"]
    shown = (await client.get("/v1/admin/rules", headers=bearer(admin))).json()
    assert shown["version"] == DEMO_VERSION


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"files": {f"r{i}.yaml": "rules: []\n" for i in range(51)}}, "files"),
        ({"files": {"../etc/passwd.yaml": "x"}}, "files"),
        ({"files": {"notes.txt": "x"}}, "files"),
        ({"files": {}}, "files"),
        ({"files": {"program.yaml": "x"}, "dry_run": True}, "dry_run"),
        ({}, "files"),
    ],
)
async def test_a_malformed_publish_request_is_400(client, make_key, body, field):
    admin = await make_key("admin")
    response = await client.post("/v1/admin/rules", json=body, headers=bearer(admin))
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["field"].startswith(field)


async def test_more_than_one_megabyte_of_files_is_refused(client, make_key):
    admin = await make_key("admin")
    files = {**demo_files(), "big.yaml": "# " + "x" * 1_100_000 + "\n"}
    response = await client.post("/v1/admin/rules", json={"files": files}, headers=bearer(admin))
    assert response.status_code == 413, response.text  # the body is over the 1 MB limit
    assert response.headers["content-type"] == "application/problem+json"
    shown = (await client.get("/v1/admin/rules", headers=bearer(admin))).json()
    assert shown["version"] == DEMO_VERSION


async def test_publishing_through_one_replica_switches_the_other_within_seconds(
    client, make_key, settings, clock
):
    admin = await make_key("admin")
    other_app = create_app(settings, clock=clock)
    async with AsyncTestClient(app=other_app, raise_server_exceptions=False) as other:
        other_rules = other_app.state.app.runtime.rules
        assert other_rules.current.version == DEMO_VERSION
        response = await client.post(
            "/v1/admin/rules", json={"files": twenty_per_euro()}, headers=bearer(admin)
        )
        assert response.status_code == 201, response.text
        new_version = response.json()["version"]
        started = time.monotonic()
        while other_rules.current.version != new_version:
            assert time.monotonic() - started < 10, "the other replica did not switch in 10 s"
            await asyncio.sleep(0.05)
        tried = await other.post(
            "/v1/admin/rules/dry-run", json={"event": purchase("120.00")}, headers=bearer(admin)
        )
        assert tried.json()["points"] == 2400


async def test_dry_run_reports_effects_and_skips_and_writes_nothing(client, make_key, db):
    admin = await make_key("admin")
    before = await count_rows(db)
    response = await client.post(
        "/v1/admin/rules/dry-run", json={"event": purchase("120.00")}, headers=bearer(admin)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ruleset_version"] == DEMO_VERSION
    assert body["points"] == 1200
    assert body["fired"] == ["base-earn"]
    [effect] = [e for e in body["effects"] if e["type"] == "points"]  # + challenge progress
    assert effect["type"] == "points" and effect["rule_id"] == "base-earn"
    assert effect["points"] == 1200
    assert "120.00 EUR" in effect["reason"]
    skipped = {s["rule_id"]: s for s in body["skipped"]}
    for review_rule in ("first-review-bonus", "review-points", "review-with-photo"):
        assert skipped[review_rule]["reason"] == "wrong_type"
    assert skipped["referral-bonus"]["reason"] == "wrong_type"
    assert skipped["birthday-double"]["reason"] == "condition_false"
    assert skipped["big-spender-badge"]["reason"] == "condition_false"
    assert await count_rows(db) == before


async def test_dry_run_for_a_made_up_member(client, make_key, db):
    admin = await make_key("admin")
    before = await count_rows(db)
    gold = {
        "tier": "gold",
        "tier_multiplier": 1.5,
        "attributes": {"region": "north", "newsletter": True},
        "counters": {"engagement": "at_risk", "purchases": 4},
    }
    response = await client.post(
        "/v1/admin/rules/dry-run",
        json={"event": purchase("120.00"), "member": gold},
        headers=bearer(admin),
    )
    assert response.status_code == 200, response.text
    assert response.json()["points"] == 1800 + 200
    assert response.json()["fired"] == ["win-back", "base-earn"]

    review = {
        "id": "r-1",
        "type": "review",
        "member_id": "alice",
        "occurred_at": "2026-03-02T09:00:00Z",
        "attributes": {"product_id": "P-1", "rating": 5, "has_photo": True, "text_length": 10},
    }
    capped = {"rule_usage": {"review-with-photo:2026-03-02": {"times": 3}}, "badges": []}
    response = await client.post(
        "/v1/admin/rules/dry-run", json={"event": review, "member": capped}, headers=bearer(admin)
    )
    body = response.json()
    assert response.status_code == 200, response.text
    assert body["fired"] == ["first-review-bonus"]
    assert {"type": "badge", "badge": "first-review"}.items() <= body["effects"][1].items()
    skipped = {s["rule_id"]: s["reason"] for s in body["skipped"]}
    assert skipped["review-with-photo"] == "cap_reached"
    assert skipped["base-earn"] == "wrong_type"
    assert await count_rows(db) == before


async def test_dry_run_for_a_stored_member_writes_nothing(client, make_key, db):
    admin = await make_key("admin")
    put = await client.put(
        "/v1/members/bob", json={"birthday": "1990-03-10"}, headers=bearer(admin)
    )
    assert put.status_code == 200, put.text
    before = await count_rows(db)
    for member_id in ("bob", "nobody-yet"):
        response = await client.post(
            "/v1/admin/rules/dry-run",
            json={"event": purchase("50.00", member_id), "member_id": member_id},
            headers=bearer(admin),
        )
        assert response.status_code == 200, response.text
        body = response.json()
        if member_id == "bob":  # March birthday: double points, base rule stopped
            assert body["fired"] == ["birthday-double"] and body["points"] == 1000
        else:
            assert body["fired"] == ["base-earn"] and body["points"] == 500
    assert await count_rows(db) == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"attributes": {"order_id": "A-1", "amount": "lots", "currency": "EUR"}}, "amount"),
        ({"attributes": {"order_id": "A-1", "ammount": "1", "currency": "EUR"}}, "ammount"),
        ({"attributes": {"amount": "1", "currency": "EUR"}}, "order_id"),
    ],
)
async def test_dry_run_with_a_bad_attribute_is_422_naming_the_field(
    client, make_key, change, field
):
    admin = await make_key("admin")
    event = {**purchase(), **change}
    response = await client.post(
        "/v1/admin/rules/dry-run", json={"event": event}, headers=bearer(admin)
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == f"event.attributes.{field}"


async def test_dry_run_refuses_unknown_types_members_and_fields(client, make_key):
    admin = await make_key("admin")

    async def dry(body: dict[str, Any]) -> Any:
        return await client.post("/v1/admin/rules/dry-run", json=body, headers=bearer(admin))

    unknown_type = await dry({"event": {**purchase(), "type": "purchse"}})
    assert unknown_type.status_code == 422
    assert unknown_type.json()["errors"][0]["field"] == "event.type"
    assert "did you mean 'purchase'" in unknown_type.json()["errors"][0]["reason"]

    undeclared = await dry({"event": purchase(), "member": {"attributes": {"shoe_size": 44}}})
    assert undeclared.status_code == 422
    assert undeclared.json()["errors"][0]["field"] == "member.attributes.shoe_size"

    wrong_type = await dry({"event": purchase(), "member": {"attributes": {"newsletter": "y"}}})
    assert wrong_type.status_code == 422
    assert wrong_type.json()["errors"][0]["field"] == "member.attributes.newsletter"

    bad_zone = await dry({"event": purchase(), "member": {"timezone": "Mars/Olympus"}})
    assert bad_zone.status_code == 422
    assert bad_zone.json()["errors"][0]["field"] == "member.timezone"

    both = await dry({"event": purchase(), "member": {}, "member_id": "alice"})
    assert both.status_code == 400

    extra = await dry({"event": {**purchase(), "colour": "red"}})
    assert extra.status_code == 400
    [error] = extra.json()["errors"]
    assert error["field"] == "event.colour" and "colour" in error["reason"]

    naive = await dry({"event": {**purchase(), "occurred_at": "2026-03-02T09:00:00"}})
    assert naive.status_code == 400
    assert naive.json()["errors"][0]["field"] == "event.occurred_at"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/admin/rules", None),
        ("POST", "/v1/admin/rules", {"files": {"program.yaml": "x"}}),
        ("POST", "/v1/admin/rules/dry-run", {"event": purchase()}),
    ],
)
async def test_rule_routes_need_the_admin_scope(client, make_key, method, path, body):
    for scopes in (("members:read", "members:write", "events:write"), ("members:token",)):
        key = await make_key(*scopes)
        response = await client.request(method, path, json=body, headers=bearer(key))
        assert response.status_code == 403, response.text
    minter = await make_key("members:token")
    token = await member_token(client, minter, "alice")
    response = await client.request(method, path, json=body, headers=bearer(token))
    assert response.status_code == 403
    assert (await client.request(method, path, json=body)).status_code == 401


# -- the CLI ---------------------------------------------------------------------------------------


def test_cli_check_and_test_pass_on_the_demo_rules(capsys):
    assert main(["rules", "check", str(RULES_DIR)]) == 0
    assert capsys.readouterr().out.startswith("ok: 9 rules in 7 files")
    assert main(["rules", "test", str(RULES_DIR)]) == 0
    out = capsys.readouterr().out
    assert "22 passed, 0 failed" in out and "FAIL" not in out


def test_cli_check_and_test_fail_on_a_broken_copy(tmp_path, capsys):
    broken = tmp_path / "rules"
    shutil.copytree(RULES_DIR, broken)
    for name, text in broken_files().items():
        (broken / name).write_text(text, encoding="utf-8")
    assert main(["rules", "check", str(broken)]) == 1
    out = capsys.readouterr().out
    assert f"{broken}/earn.yaml:20:5: unknown field 'priorty'" in out
    assert f"{broken}/earn.yaml:25:16: unknown attribute 'event.ammount'" in out
    assert main(["rules", "test", str(broken)]) == 1
    assert f"{broken}/earn.yaml:25:16" in capsys.readouterr().out


def test_cli_test_fails_when_a_rule_file_test_fails(tmp_path, capsys):
    changed = tmp_path / "rules"
    shutil.copytree(RULES_DIR, changed)
    for name, text in twenty_per_euro().items():
        (changed / name).write_text(text, encoding="utf-8")
    assert main(["rules", "check", str(changed)]) == 0
    assert main(["rules", "test", str(changed)]) == 1
    out = capsys.readouterr().out
    assert "FAIL a bronze member earns 10 points per euro: expected 1200 points, got 2400" in out


def test_cli_rules_dir_defaults_to_the_setting(monkeypatch, capsys):
    monkeypatch.setenv("LOYALTY_RULES_DIR", str(RULES_DIR))
    assert main(["rules", "check"]) == 0
    assert "ok: 9 rules" in capsys.readouterr().out


async def _loyalty(database_url: str, *args: str, status: int = 0) -> tuple[str, str]:
    return await loyalty(*args, env={"DATABASE_URL": database_url}, status=status)


async def test_cli_publish_switches_the_running_service(client, make_key, database_url, tmp_path):
    admin = await make_key("admin")
    folder = tmp_path / "rules"
    folder.mkdir()
    for name, text in broken_files().items():
        (folder / name).write_text(text, encoding="utf-8")
    out, _ = await _loyalty(database_url, "rules", "publish", str(folder), status=1)
    assert f"{folder}/earn.yaml:20:5: unknown field 'priorty'" in out
    assert f"{folder}/earn.yaml:25:16: unknown attribute 'event.ammount'" in out
    assert client.app.state.app.runtime.rules.current.version == DEMO_VERSION

    for name, text in twenty_per_euro().items():
        (folder / name).write_text(text, encoding="utf-8")
    out, _ = await _loyalty(database_url, "rules", "publish", str(folder))
    version = out.strip().splitlines()[-1]
    assert len(version) == 64 and version != DEMO_VERSION
    rules = client.app.state.app.runtime.rules
    started = time.monotonic()
    while rules.current.version != version:
        assert time.monotonic() - started < 10, "the service did not switch in 10 s"
        await asyncio.sleep(0.05)
    shown = (await client.get("/v1/admin/rules", headers=bearer(admin))).json()
    assert shown["version"] == version

    out, _ = await _loyalty(database_url, "rules", "publish", str(folder))
    assert "already the active version" in out
