"""Rule versions kept readable: a program manager lists every published version with its
activations, reads one version's files, sees what changed between two, and rolls back to an
earlier one; over HTTP (scope `admin`) and from the CLI, on the service's database."""

from __future__ import annotations

import asyncio
import getpass
import time
import uuid
from typing import Any

import pytest
from builders import ruleset_versions
from helpers import bearer, loyalty, member_token, purchase
from test_rules_admin import DEMO_VERSION, demo_files, twenty_per_euro

from service.store.migrate import migrate

VERSIONS = "/v1/admin/rules/versions"
EXTRA_RULE = (
    "rules:\n"
    "  - id: weekend-bonus\n"
    "    on: purchase\n"
    "    when: event.amount > 100.0\n"
    "    actions: [{points: 5}]\n"
)


async def publish(client, admin: str, files: dict[str, str]) -> str:
    response = await client.post("/v1/admin/rules", json={"files": files}, headers=bearer(admin))
    assert response.status_code == 201, response.text
    version: str = response.json()["version"]
    return version


async def listed(client, admin: str, **params: Any) -> dict[str, Any]:
    response = await client.get(VERSIONS, params=params, headers=bearer(admin))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# -- list ----------------------------------------------------------------------------------------


async def test_versions_are_listed_newest_first_with_the_active_one_and_the_history(
    client, make_key
):
    admin = await make_key("admin", name="manager")
    twenty = await publish(client, admin, twenty_per_euro())

    body = await listed(client, admin)
    assert [v["version"] for v in body["versions"]] == [twenty, DEMO_VERSION]
    new, demo = body["versions"]
    assert new["short_version"] == twenty[:16]
    assert (new["active"], demo["active"]) == (True, False)
    assert (new["published_by"], demo["published_by"]) == ("api:manager", "serve")
    assert new["rules"] == demo["rules"] == 9
    assert new["files"] == sorted(demo_files()) == demo["files"]
    assert new["created_at"] > demo["created_at"]
    assert (new["activations"], demo["activations"]) == (1, 1)
    assert new["last_activated_at"] > demo["last_activated_at"]
    history = [(a["version"], a["activated_by"]) for a in body["activations"]]
    assert history == [(twenty, "api:manager"), (DEMO_VERSION, "serve")]
    assert body["activations"][0]["activated_at"] == new["last_activated_at"]
    assert body["more"] is False

    shown = (await client.get("/v1/admin/rules", headers=bearer(admin))).json()
    assert shown["activated_at"] == new["last_activated_at"]

    first = await listed(client, admin, limit=1)
    assert [v["version"] for v in first["versions"]] == [twenty]
    assert [a["version"] for a in first["activations"]] == [twenty]
    assert first["more"] is True


@pytest.mark.parametrize("limit", ["0", "501", "lots"])
async def test_a_bad_limit_is_400_naming_it(client, make_key, limit):
    admin = await make_key("admin")
    response = await client.get(VERSIONS, params={"limit": limit}, headers=bearer(admin))
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "limit"


async def test_a_version_stored_before_counts_were_kept_is_counted_once(client, make_key, db):
    admin = await make_key("admin")
    async with db.transaction() as conn:  # SQL on purpose: rows as stored before migration 0009
        await conn.raw.execute("UPDATE rulesets SET rule_count = NULL")
    [demo] = (await listed(client, admin))["versions"]
    assert demo["rules"] == 9
    assert [v["rule_count"] for v in await ruleset_versions(db)] == [9]


async def test_the_migration_starts_the_history_with_the_version_active_then(
    pg_admin_url, template_db
):
    import asyncpg

    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(pg_admin_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{pg_admin_url.rpartition('/')[0]}/{name}"
    try:
        await asyncio.to_thread(migrate, url, "0007")
        conn = await asyncpg.connect(url)  # SQL on purpose: rows of the schema before 0009
        try:
            await conn.execute(
                "INSERT INTO rulesets (version, files, published_by) VALUES "
                "('aaaa', '{}', 'cli:old'), ('bbbb', '{}', 'cli:new')"
            )
            await conn.execute(
                "INSERT INTO active_ruleset (version, activated_at) "
                "VALUES ('bbbb', '2026-11-30T10:00:00Z')"
            )
            await asyncio.to_thread(migrate, url)
            rows = await conn.fetch(
                "SELECT version, activated_at, activated_by FROM ruleset_activations"
            )
            assert [(r["version"], r["activated_at"].isoformat()) for r in rows] == [
                ("bbbb", "2026-11-30T10:00:00+00:00")
            ]
            assert rows[0]["activated_by"] is None
            assert (
                await conn.fetchval("SELECT count(*) FROM rulesets WHERE rule_count IS NULL") == 2
            )
        finally:
            await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


# -- show ----------------------------------------------------------------------------------------


async def test_one_version_is_shown_by_its_full_id_or_a_short_prefix(client, make_key):
    admin = await make_key("admin")
    twenty = await publish(client, admin, twenty_per_euro())
    for given in (DEMO_VERSION, DEMO_VERSION[:16], DEMO_VERSION[:8], DEMO_VERSION[:8].upper()):
        response = await client.get(f"{VERSIONS}/{given}", headers=bearer(admin))
        assert response.status_code == 200, (given, response.text)
        body = response.json()
        assert body["version"] == DEMO_VERSION
        assert body["files"] == demo_files()
        assert (body["active"], body["published_by"], body["rules"]) == (False, "serve", 9)
        assert body["created_at"] and body["last_activated_at"]
    shown = (await client.get(f"{VERSIONS}/{twenty[:10]}", headers=bearer(admin))).json()
    assert shown["active"] is True and shown["files"] == twenty_per_euro()


async def test_an_unknown_version_is_404_naming_the_field(client, make_key):
    admin = await make_key("admin")
    unknown = "0" * 8 if not DEMO_VERSION.startswith("0" * 8) else "f" * 8
    for path in (f"{VERSIONS}/{unknown}", f"{VERSIONS}/{unknown * 8}"):
        response = await client.get(path, headers=bearer(admin))
        assert response.status_code == 404, response.text
        assert response.headers["content-type"] == "application/problem+json"
        [error] = response.json()["errors"]
        assert error["field"] == "version" and unknown in error["reason"]


@pytest.mark.parametrize("given", ["1234567", "not-a-version", "g" * 8, "a" * 65])
async def test_what_is_not_8_to_64_hex_digits_is_400_naming_the_field(client, make_key, given):
    admin = await make_key("admin")
    response = await client.get(f"{VERSIONS}/{given}", headers=bearer(admin))
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["field"] == "version"


@pytest.mark.no_replay  # a second version is stored by raw SQL, its files not its hash
async def test_a_prefix_two_versions_start_with_is_409_naming_the_field(client, make_key, db):
    admin = await make_key("admin")
    twin = DEMO_VERSION[:8] + ("0" if DEMO_VERSION[8] != "0" else "1") * 56
    async with db.transaction() as conn:
        await conn.raw.execute(
            "INSERT INTO rulesets (version, files) VALUES ($1, $2)", twin, {"program.yaml": ""}
        )
    response = await client.get(f"{VERSIONS}/{DEMO_VERSION[:8]}", headers=bearer(admin))
    assert response.status_code == 409, response.text
    problem = response.json()
    assert problem["code"] == "ambiguous_version"
    assert problem["errors"][0]["field"] == "version"
    assert DEMO_VERSION[:16] in problem["detail"] and twin[:16] in problem["detail"]
    rollback = await client.post(f"{VERSIONS}/{DEMO_VERSION[:8]}/rollback", headers=bearer(admin))
    assert rollback.status_code == 409, rollback.text
    longer = await client.get(f"{VERSIONS}/{DEMO_VERSION[:9]}", headers=bearer(admin))
    assert longer.status_code == 200 and longer.json()["version"] == DEMO_VERSION


# -- diff ----------------------------------------------------------------------------------------


async def test_a_diff_shows_each_file_and_the_changed_line_and_the_rules(client, make_key):
    admin = await make_key("admin")
    twenty = await publish(client, admin, twenty_per_euro())
    response = await client.get(
        f"{VERSIONS}/{DEMO_VERSION[:8]}/diff/{twenty[:12]}", headers=bearer(admin)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["a"], body["b"]) == (DEMO_VERSION, twenty)
    files = {f["file"]: f for f in body["files"]}
    assert list(files) == sorted(demo_files())
    earn = files.pop("earn.yaml")
    assert earn["status"] == "changed"
    lines = earn["diff"].splitlines()
    assert lines[:2] == ["--- a/earn.yaml", "+++ b/earn.yaml"]
    assert "-      - points: floor(event.amount * 10.0 * tier.multiplier)" in lines
    assert "+      - points: floor(event.amount * 20.0 * tier.multiplier)" in lines
    assert sum(line.startswith(("-", "+")) for line in lines) == 4  # the headers and one line
    assert all(f["status"] == "same" and f.get("diff") is None for f in files.values())
    assert body["rules"] == {"added": [], "removed": [], "changed": ["base-earn"]}


async def test_a_diff_names_added_and_removed_files_and_rules(client, make_key):
    admin = await make_key("admin")
    files = demo_files()
    files.pop("referrals.yaml")
    files["weekend.yaml"] = EXTRA_RULE
    changed = await publish(client, admin, files)
    response = await client.get(f"{VERSIONS}/{DEMO_VERSION}/diff/{changed}", headers=bearer(admin))
    assert response.status_code == 200, response.text
    body = response.json()
    status = {f["file"]: f["status"] for f in body["files"]}
    assert status["referrals.yaml"] == "removed" and status["weekend.yaml"] == "added"
    diffs = {f["file"]: f["diff"] for f in body["files"]}
    assert diffs["weekend.yaml"].startswith("--- /dev/null\n+++ b/weekend.yaml\n")
    assert "+  - id: weekend-bonus\n" in diffs["weekend.yaml"]
    assert diffs["referrals.yaml"].startswith("--- a/referrals.yaml\n+++ /dev/null\n")
    assert body["rules"]["added"] == ["weekend-bonus"]
    assert body["rules"]["removed"] == ["referral-bonus"]
    assert body["rules"]["changed"] == []

    same = await client.get(f"{VERSIONS}/{changed}/diff/{changed}", headers=bearer(admin))
    assert {f["status"] for f in same.json()["files"]} == {"same"}
    unknown = await client.get(f"{VERSIONS}/{DEMO_VERSION}/diff/{'0' * 63}1", headers=bearer(admin))
    assert unknown.status_code == 404
    assert unknown.json()["errors"][0]["field"] == "b"


# -- rollback ------------------------------------------------------------------------------------


async def test_rolling_back_activates_the_old_version_everywhere_it_counts(client, make_key, db):
    admin = await make_key("admin", name="ops")
    events = await make_key("events:write", "members:read")
    twenty = await publish(client, admin, twenty_per_euro())

    response = await client.post(f"{VERSIONS}/{DEMO_VERSION[:10]}/rollback", headers=bearer(admin))
    assert response.status_code == 201, response.text
    rolled = response.json()
    assert (rolled["version"], rolled["changed"], rolled["rules"]) == (DEMO_VERSION, True, 9)
    assert client.app.state.app.runtime.rules.current.version == DEMO_VERSION
    shown = (await client.get("/v1/admin/rules", headers=bearer(admin))).json()
    assert shown["version"] == DEMO_VERSION and shown["activated_at"] == rolled["activated_at"]

    body = await listed(client, admin)
    history = [(a["version"], a["activated_by"]) for a in body["activations"]]
    assert history == [(DEMO_VERSION, "api:ops"), (twenty, "api:ops"), (DEMO_VERSION, "serve")]
    versions = {v["version"]: v for v in body["versions"]}
    assert [v["version"] for v in body["versions"]] == [twenty, DEMO_VERSION]  # by creation
    assert versions[DEMO_VERSION]["active"] and not versions[twenty]["active"]
    assert versions[DEMO_VERSION]["activations"] == 2
    assert versions[DEMO_VERSION]["published_by"] == "serve"  # the first publisher stays
    assert versions[DEMO_VERSION]["last_activated_at"] == rolled["activated_at"]

    booked = await client.post(
        "/v1/events", json=purchase("e-1", "alice", "120.00"), headers=bearer(events)
    )
    assert booked.status_code == 201, booked.text
    ledger = await client.get("/v1/members/alice/ledger", headers=bearer(events))
    [entry] = [e for e in ledger.json()["entries"] if e["rule_id"] == "base-earn"]
    assert entry["points"] == 1200  # 10 per EUR again, not 20
    assert entry["ruleset_version"] == DEMO_VERSION

    again = await client.post(f"{VERSIONS}/{DEMO_VERSION}/rollback", headers=bearer(admin))
    assert again.status_code == 200, again.text
    assert again.json()["changed"] is False
    assert len((await listed(client, admin))["activations"]) == 3
    assert len(await ruleset_versions(db)) == 2


async def test_rolling_back_to_an_unknown_version_is_404_and_changes_nothing(client, make_key):
    admin = await make_key("admin")
    response = await client.post(f"{VERSIONS}/{'ab' * 32}/rollback", headers=bearer(admin))
    assert response.status_code == 404, response.text
    assert response.json()["errors"][0]["field"] == "version"
    assert client.app.state.app.runtime.rules.current.version == DEMO_VERSION
    assert len((await listed(client, admin))["activations"]) == 1


# -- access --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", VERSIONS),
        ("GET", f"{VERSIONS}/{DEMO_VERSION[:8]}"),
        ("GET", f"{VERSIONS}/{DEMO_VERSION[:8]}/diff/{DEMO_VERSION[:8]}"),
        ("POST", f"{VERSIONS}/{DEMO_VERSION[:8]}/rollback"),
    ],
)
async def test_version_routes_need_the_admin_scope(client, make_key, method, path):
    for scopes in (("members:read", "members:write", "events:write"), ("members:token",)):
        key = await make_key(*scopes)
        response = await client.request(method, path, headers=bearer(key))
        assert response.status_code == 403, response.text
    minter = await make_key("members:token")
    token = await member_token(client, minter, "alice")
    assert (await client.request(method, path, headers=bearer(token))).status_code == 403
    assert (await client.request(method, path)).status_code == 401


# -- the CLI ---------------------------------------------------------------------------------------


async def _loyalty(database_url: str, tmp_path, *args: str, status: int = 0) -> tuple[str, str]:
    """The `loyalty` command, run where there is no rules folder."""
    env = {"DATABASE_URL": database_url, "LOYALTY_RULES_DIR": str(tmp_path / "no-rules-here")}
    return await loyalty(*args, env=env, cwd=tmp_path, status=status)


async def test_cli_lists_shows_diffs_and_rolls_back_without_a_rules_folder(
    client, make_key, database_url, tmp_path
):
    admin = await make_key("admin", name="manager")
    twenty = await publish(client, admin, twenty_per_euro())

    out, err = await _loyalty(database_url, tmp_path, "rules", "versions")
    lines = out.splitlines()
    assert lines[1].startswith(f"* {twenty[:16]}  ") and lines[1].endswith("  api:manager")
    assert "      7      9      1  " in lines[1]
    assert lines[2].startswith(f"  {DEMO_VERSION[:16]}  ") and lines[2].endswith("  serve")
    at = lines.index("activations, latest first:")
    assert lines[at + 1].endswith(f"  {twenty[:16]}  api:manager")
    assert lines[at + 2].endswith(f"  {DEMO_VERSION[:16]}  serve")

    out, err = await _loyalty(
        database_url, tmp_path, "rules", "show", DEMO_VERSION[:8], "--file", "earn.yaml"
    )
    assert out == demo_files()["earn.yaml"]
    out, err = await _loyalty(database_url, tmp_path, "rules", "show", twenty)
    assert f"version {twenty} (active): 9 rules in 7 files" in out
    assert "==> earn.yaml <==" in out and "floor(event.amount * 20.0" in out

    out, err = await _loyalty(database_url, tmp_path, "rules", "diff", DEMO_VERSION[:8], twenty[:8])
    assert out.startswith("--- a/earn.yaml\n+++ b/earn.yaml\n")
    assert "+      - points: floor(event.amount * 20.0 * tier.multiplier)\n" in out
    assert "rules changed: base-earn" in err

    out, err = await _loyalty(database_url, tmp_path, "rules", "show", "0" * 63 + "1", status=1)
    assert "error: version: no stored ruleset version" in err

    out, err = await _loyalty(database_url, tmp_path, "rules", "rollback", DEMO_VERSION[:8])
    assert out.startswith(f"rolled back to {DEMO_VERSION[:16]}: 9 rules in 7 files")
    assert out.strip().splitlines()[-1] == DEMO_VERSION
    rules = client.app.state.app.runtime.rules
    started = time.monotonic()
    while rules.current.version != DEMO_VERSION:
        assert time.monotonic() - started < 10, "the service did not switch in 10 s"
        await asyncio.sleep(0.05)
    history = (await listed(client, admin))["activations"]
    assert (history[0]["version"], history[0]["activated_by"]) == (
        DEMO_VERSION,
        f"cli:{getpass.getuser()}",
    )

    out, _ = await _loyalty(database_url, tmp_path, "rules", "rollback", DEMO_VERSION)
    assert "already the active version" in out


async def test_cli_folder_commands_still_want_a_folder(database_url, tmp_path):
    _, err = await _loyalty(database_url, tmp_path, "rules", "publish", status=2)
    assert "is not a folder" in err
