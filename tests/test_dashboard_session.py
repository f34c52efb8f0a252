"""The dashboard's session and forms over HTTP (the app's test client): the cookie's flags, a
forged, tampered, expired or revoked session refused, CSRF tokens required, a member token
and a key without `admin` refused, user data escaped, static files cached, and the dashboard
kept out of the OpenAPI document."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

from helpers import bearer, member_token, purchase

from service.dashboard.session import COOKIE, NONCE_COOKIE, read_session

REPO = Path(__file__).resolve().parents[1]
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def _sign_in_form(client) -> str:
    page = await client.get("/dashboard/sign-in")
    assert page.status_code == 200
    return CSRF.search(page.text).group(1)


async def _sign_in(client, key: str):
    csrf = await _sign_in_form(client)
    return await client.post(
        "/dashboard/sign-in", data={"csrf": csrf, "api_key": key}, follow_redirects=False
    )


async def _csrf(client, path: str = "/dashboard/rules") -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    return CSRF.search(page.text).group(1)


async def test_sign_in_sets_a_strict_httponly_cookie_for_the_dashboard_only(client, make_key):
    signed = await _sign_in(client, await make_key("admin"))
    assert signed.status_code == 303 and signed.headers["location"] == "/dashboard"
    cookies = [c for c in signed.headers.get_list("set-cookie") if c.startswith(f"{COOKIE}=")]
    assert len(cookies) == 1
    flags = {part.strip().split("=")[0].lower() for part in cookies[0].split(";")[1:]}
    assert {"httponly", "path", "samesite", "max-age"} <= flags
    assert "Path=/dashboard" in cookies[0] and "SameSite=strict" in cookies[0]
    assert "Max-Age=28800" in cookies[0]  # eight hours
    assert "secure" not in flags  # plain http here: a Secure cookie would never come back
    assert (await client.get("/dashboard", follow_redirects=False)).status_code == 200


async def test_the_cookie_is_secure_behind_an_https_proxy(client, make_key):
    csrf = await _sign_in_form(client)
    signed = await client.post(
        "/dashboard/sign-in",
        data={"csrf": csrf, "api_key": await make_key("admin")},
        headers={"X-Forwarded-Proto": "https"},
        follow_redirects=False,
    )
    assert signed.status_code == 303
    assert all("Secure" in c for c in signed.headers.get_list("set-cookie"))


async def test_every_page_redirects_to_sign_in_without_a_session(client):
    for path in (
        "/dashboard",
        "/dashboard/rules",
        "/dashboard/members?q=a",
        "/dashboard/members/alice",
        "/dashboard/experiments",
        "/dashboard/experiments/x",
        "/dashboard/rules/backtests/bt-0",
        "/dashboard/rules/backtests/bt-0/progress",
    ):
        response = await client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"] == "/dashboard/sign-in", path


async def test_a_forged_tampered_or_expired_cookie_is_refused(client, make_key, clock):
    await _sign_in(client, await make_key("admin"))
    real = client.cookies[COOKIE]
    key_id, expires, signature = real.split(".")
    for forged in (
        f"{key_id}.{int(expires) + 3600}.{signature}",
        f"{'0' * len(key_id)}.{expires}.{signature}",
        f"{key_id}.{expires}.{signature[:-2]}AA",
        f"{key_id}.{expires}",
        "nonsense",
        "",
    ):
        client.cookies.set(COOKIE, forged, path="/dashboard")
        response = await client.get("/dashboard/members/alice", follow_redirects=False)
        assert response.status_code == 303, forged
        assert "alice" not in response.text
    client.cookies.set(COOKIE, real, path="/dashboard")
    assert (await client.get("/dashboard", follow_redirects=False)).status_code == 200
    clock.set(clock.now() + timedelta(hours=8, seconds=1))
    assert (await client.get("/dashboard", follow_redirects=False)).status_code == 303


async def test_a_revoked_key_ends_its_session_at_once(client, make_key):
    admin = await make_key("admin")
    keeper = await make_key("admin")
    await _sign_in(client, admin)
    assert (await client.get("/dashboard", follow_redirects=False)).status_code == 200
    key_id = admin.split("_")[1]
    revoked = await client.delete(f"/v1/admin/keys/{key_id}", headers=bearer(keeper))
    assert revoked.status_code == 200, revoked.text
    assert (await client.get("/dashboard", follow_redirects=False)).status_code == 303


async def test_a_member_token_or_a_key_without_admin_does_not_sign_in(client, make_key):
    minter = await make_key("members:token", "members:read")
    token = await member_token(client, minter, "alice")
    for credential, why in (
        (token, "member token never opens"),
        (minter, "lacks the admin scope"),
        ("lk_000000000000_wrong", "unknown or revoked"),
        ("", "not an API key"),
    ):
        refused = await _sign_in(client, credential)
        assert refused.status_code == 403, credential
        assert why in refused.text
        assert f"{COOKIE}=" not in refused.headers.get("set-cookie", "")
    # nor does any bearer credential open a page
    response = await client.get("/dashboard", headers=bearer(token), follow_redirects=False)
    assert response.status_code == 303


async def test_forms_without_their_csrf_token_are_403(client, make_key):
    admin = await make_key("admin")
    # the sign-in form: its token is bound to the nonce cookie the form's page set
    await _sign_in_form(client)
    for data in ({"api_key": admin}, {"api_key": admin, "csrf": "forged"}):
        refused = await client.post("/dashboard/sign-in", data=data, follow_redirects=False)
        assert refused.status_code == 403 and "csrf_refused" in refused.text
    client.cookies.delete(NONCE_COOKIE, path="/dashboard")
    other = await _sign_in_form(client)
    client.cookies.delete(NONCE_COOKIE, path="/dashboard")
    refused = await client.post("/dashboard/sign-in", data={"csrf": other, "api_key": admin})
    assert refused.status_code == 403  # a token without its nonce cookie

    await _sign_in(client, admin)
    csrf = await _csrf(client)
    for path in ("/dashboard/rules/dry-run", "/dashboard/rules/backtests", "/dashboard/sign-out"):
        for data in ({}, {"csrf": "forged"}, {"csrf": csrf[:-1]}):
            refused = await client.post(path, data=data, follow_redirects=False)
            assert refused.status_code == 403, (path, data)
    # with it, signing out drops the cookie
    out = await client.post("/dashboard/sign-out", data={"csrf": csrf}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/dashboard/sign-in"
    assert f'{COOKIE}=""' in out.headers["set-cookie"]


async def test_a_csrf_token_of_one_session_does_not_serve_another(client, make_key):
    await _sign_in(client, await make_key("admin"))
    first = await _csrf(client)
    client.cookies.clear()
    assert (await _sign_in(client, await make_key("admin"))).status_code == 303
    refused = await client.post("/dashboard/rules/dry-run", data={"csrf": first})
    assert refused.status_code == 403


async def test_user_data_is_escaped(client, make_key, clock):
    admin = await make_key("admin")
    name = '<script>alert("x")</script>'
    put = await client.put(
        "/v1/members/mallory", json={"display_name": name}, headers=bearer(admin)
    )
    assert put.status_code in (200, 201)
    event = purchase("p1", "mallory", "10.00", clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert (await client.post("/v1/events", json=event, headers=bearer(admin))).status_code == 201
    await _sign_in(client, admin)
    for path in ("/dashboard/members?q=mall", "/dashboard/members/mallory", "/dashboard"):
        page = await client.get(path)
        assert page.status_code == 200, path
        assert name not in page.text and "&lt;script&gt;" in page.text, path
    missing = await client.get("/dashboard/members/%3Cb%3E")
    assert missing.status_code == 404 and "<b>" not in missing.text


async def test_pages_are_not_cached_framed_or_scripted_from_elsewhere(client, make_key):
    await _sign_in(client, await make_key("admin"))
    page = await client.get("/dashboard")
    assert page.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert '<html lang="en">' in page.text


async def test_a_dry_run_and_a_backtest_from_the_forms(client, make_key, clock):
    admin = await make_key("admin")
    await _sign_in(client, admin)
    csrf = await _csrf(client)
    at = clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    attributes = json.dumps({"order_id": "A-1", "amount": "12.00", "currency": "EUR"})
    form = {"csrf": csrf, "type": "purchase", "member_id": "zoe", "occurred_at": at}
    tried = await client.post("/dashboard/rules/dry-run", data={**form, "attributes": attributes})
    assert tried.status_code == 200
    assert 'id="dry-run-points">120<' in tried.text
    bad = await client.post("/dashboard/rules/dry-run", data={**form, "attributes": "[1"})
    assert bad.status_code == 200 and "not a JSON object" in bad.text
    started = await client.post(
        "/dashboard/rules/backtests", data={"csrf": csrf, "days": "7"}, follow_redirects=False
    )
    assert started.status_code == 303, started.text
    job_page = started.headers["location"]
    assert job_page.startswith("/dashboard/rules/backtests/bt-")
    progress = await client.get(f"{job_page}/progress")
    assert progress.status_code == 200
    assert progress.json()["status"] in ("running", "done")
    assert (await client.get(job_page)).status_code == 200
    refused = await client.post("/dashboard/rules/backtests", data={"csrf": csrf, "days": "0"})
    assert refused.status_code == 200 and "Not started" in refused.text


async def test_static_files_are_cached_for_a_year_and_nothing_else_is_served(client):
    served = await client.get("/dashboard/static/chart.umd.js")
    assert served.status_code == 200
    assert "max-age=31536000" in served.headers["cache-control"]
    assert served.headers["content-type"].startswith("text/javascript")
    for name in ("../guard.py", "nothing.js", "%2e%2e%2fsession.py"):
        assert (await client.get(f"/dashboard/static/{name}")).status_code == 404


def test_the_served_chart_library_is_the_pinned_one():
    lock = json.loads((REPO / "service/dashboard/assets/package-lock.json").read_text())
    pinned = lock["packages"]["node_modules/chart.js"]["version"]
    served = (REPO / "service/dashboard/static/chart.umd.js").read_bytes()
    assert f"Chart.js v{pinned}".encode() in served[:200]
    installed = REPO / "service/dashboard/assets/node_modules/chart.js/dist/chart.umd.js"
    if installed.exists():  # after `npm ci` (CI runs it, and compares the two as well)
        assert installed.read_bytes() == served


async def test_the_dashboard_is_not_in_the_openapi_document(client):
    document = (await client.get("/schema/openapi.json")).json()
    assert not [p for p in document["paths"] if p.startswith("/dashboard")]


def test_a_session_reads_back_only_under_its_secret():
    from datetime import UTC, datetime

    from service.dashboard.session import sign_session

    now = datetime(2026, 3, 2, tzinfo=UTC)
    session = sign_session("one", "abc123", now)
    assert read_session("one", session.cookie, now) == session
    assert read_session("two", session.cookie, now) is None
    assert read_session("one", session.cookie, now + timedelta(hours=8)) is None


async def test_sign_in_and_a_backtest_from_the_page_are_in_the_audit_log(client, make_key):
    admin = await make_key("admin", name="pm-audited")
    await _sign_in(client, admin)
    csrf = await _csrf(client)
    await client.post("/dashboard/rules/dry-run", data={"csrf": csrf, "type": "purchase"})
    started = await client.post(
        "/dashboard/rules/backtests", data={"csrf": csrf}, follow_redirects=False
    )
    assert started.status_code == 303
    audit = await client.get("/v1/admin/audit", headers=bearer(admin))
    assert audit.status_code == 200, audit.text
    key_id = admin.split("_")[1]
    actions = [(e["action"], e["status"]) for e in audit.json()["entries"] if e["key_id"] == key_id]
    assert ("dashboardSignIn", 303) in actions and ("dashboardBacktest", 303) in actions
    assert not [a for a, _ in actions if a == "dashboardDryRun"]
