"""API keys over HTTP and the audit log: create (secret once), list, revoke; a key grants no
scope its creator lacks; every admin action is recorded (who, what, when)."""

from __future__ import annotations

from helpers import bearer


async def test_create_use_list_and_revoke_a_key(client, make_key):
    admin = bearer(await make_key("admin", name="ops-anna"))
    created = await client.post(
        "/v1/admin/keys", json={"name": "shop-backend", "scopes": ["events:write"]}, headers=admin
    )
    assert created.status_code == 201, created.text
    key = created.json()
    assert key["token"].startswith(f"lk_{key['key_id']}_") and key["created_by"] == "ops-anna"
    assert key["last_used_at"] is None
    # the new key works, for its scope only
    shop = bearer(key["token"])
    assert (await client.get("/v1/members", headers=shop)).status_code == 403
    event = {
        "id": "e-1",
        "type": "checkin",
        "member_id": "alice",
        "occurred_at": "2026-03-02T08:00:00Z",
        "attributes": {},
    }
    assert (await client.post("/v1/events", json=event, headers=shop)).status_code == 201
    listed = (await client.get("/v1/admin/keys", headers=admin)).json()["keys"]
    mine = next(k for k in listed if k["name"] == "shop-backend")
    assert "token" not in mine and "secret_hash" not in mine
    assert mine["scopes"] == ["events:write"] and mine["last_used_at"] is not None
    revoked = await client.delete(f"/v1/admin/keys/{key['key_id']}", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert (await client.post("/v1/events", json=event, headers=shop)).status_code == 401
    again = await client.delete(f"/v1/admin/keys/{key['key_id']}", headers=admin)
    assert again.status_code == 404


async def test_a_key_cannot_grant_scopes_its_creator_lacks(client, make_key):
    manager = bearer(await make_key("keys:manage", "members:read", name="support-lead"))
    ok = await client.post(
        "/v1/admin/keys", json={"name": "support", "scopes": ["members:read"]}, headers=manager
    )
    assert ok.status_code == 201, ok.text
    for scopes in (["admin"], ["members:read", "events:write"]):
        refused = await client.post(
            "/v1/admin/keys", json={"name": "more", "scopes": scopes}, headers=manager
        )
        assert refused.status_code == 403, refused.text
        assert refused.json()["code"] == "scope_not_held"
    # nor revoke a key holding scopes it lacks
    other = bearer(await make_key("admin", name="root"))
    listed = (await client.get("/v1/admin/keys", headers=other)).json()["keys"]
    root = next(k for k in listed if k["name"] == "root")
    refused = await client.delete(f"/v1/admin/keys/{root['key_id']}", headers=manager)
    assert refused.status_code == 403 and refused.json()["code"] == "scope_not_held"


async def test_bad_key_requests_name_the_field(client, make_key):
    admin = bearer(await make_key("admin"))
    cases = [
        ({"name": "x", "scopes": ["nope"]}, "scopes[0]"),
        ({"name": "x", "scopes": []}, "scopes"),
        ({"name": "", "scopes": ["admin"]}, "name"),
        ({"scopes": ["admin"]}, "name"),
        ({"name": "x", "scopes": ["admin"], "extra": 1}, "extra"),
    ]
    for body, field in cases:
        response = await client.post("/v1/admin/keys", json=body, headers=admin)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["errors"][0]["field"] == field, (body, response.json())
    await client.post("/v1/admin/keys", json={"name": "dup", "scopes": ["admin"]}, headers=admin)
    dup = await client.post(
        "/v1/admin/keys", json={"name": "dup", "scopes": ["admin"]}, headers=admin
    )
    assert dup.status_code == 409 and dup.json()["errors"][0]["field"] == "name"


async def test_every_admin_action_is_in_the_audit_log(client, make_key):
    admin = bearer(await make_key("admin", name="ops-anna"))
    created = await client.post(
        "/v1/admin/keys", json={"name": "pos", "scopes": ["events:write"]}, headers=admin
    )
    key_id = created.json()["key_id"]
    await client.delete(f"/v1/admin/keys/{key_id}", headers=admin)
    adjust = {"member_id": "alice", "points": 50, "reason": "goodwill"}
    assert (
        await client.post("/v1/admin/adjustments", json=adjust, headers=admin)
    ).status_code == 201
    await client.delete("/v1/members/alice", headers=admin)
    refused = await client.post("/v1/admin/keys", json={"name": "x"}, headers=admin)
    assert refused.status_code == 400
    reader = bearer(await make_key("members:read"))
    assert (await client.get("/v1/admin/audit", headers=reader)).status_code == 403
    log = (await client.get("/v1/admin/audit", headers=admin)).json()
    actions = [(e["action"], e["status"], e["actor"]) for e in reversed(log["entries"])]
    assert actions == [
        ("createKey", 201, "ops-anna"),
        ("revokeKey", 200, "ops-anna"),
        ("postAdjustment", 201, "ops-anna"),
        ("eraseMember", 200, "ops-anna"),
        ("createKey", 400, "ops-anna"),
    ]
    revoke = log["entries"][3]
    assert revoke["method"] == "DELETE" and revoke["detail"] == {"key_id": key_id}
    assert revoke["path"] == f"/v1/admin/keys/{key_id}" and revoke["at"]
    page = (await client.get("/v1/admin/audit", params={"limit": 2}, headers=admin)).json()
    assert len(page["entries"]) == 2 and page["next_cursor"]
    rest = await client.get(
        "/v1/admin/audit", params={"limit": 10, "cursor": page["next_cursor"]}, headers=admin
    )
    assert len(rest.json()["entries"]) == 3


async def test_keys_made_from_the_shell_are_in_the_audit_log_too(client, make_key, database_url):
    import asyncio
    import os
    import sys

    env = {**os.environ, "DATABASE_URL": database_url}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "service.cli",
        "keys",
        "create",
        "--name",
        "from-shell",
        "--scope",
        "members:read",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    assert out.decode().startswith("lk_")
    admin = bearer(await make_key("admin"))
    log = (await client.get("/v1/admin/audit", headers=admin)).json()["entries"]
    assert [(e["action"], e["method"], e["detail"]["name"]) for e in log] == [
        ("createKey", "CLI", "from-shell")
    ]
    assert log[0]["actor"].startswith("cli")
