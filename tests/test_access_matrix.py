"""Every route against every kind of credential: the expected answer for each cell.

The table below names each (method, route) of the app with its policy; a route the app serves
without a row here fails `test_every_route_has_a_row`, so a new route cannot ship unexamined.
"allowed" means anything but 401 and 403 (a minimal or empty body then gets 400, a made-up id 404).
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import jwt
from helpers import bearer, member_token

from service.auth import SCOPES, MemberTokens

SECRET = "test-secret-one-0123456789abcdef"
MEMBER = "alice"
OTHER = "bob"

KEY_KINDS = tuple(f"key:{scope}" for scope in SCOPES)
KINDS = (
    "none",
    "bad key",
    *KEY_KINDS,
    "member:self",
    "member:other",
    "member:expired",
    "member:tampered",
    "member:foreign-secret",
    "member:alg-none",
)
ALLOWED = "allowed"
INVALID = ("none", "bad key", "member:expired", "member:tampered", "member:foreign-secret")
INVALID = (*INVALID, "member:alg-none")


def _keys(scope: str | None) -> dict[str, int | str]:
    """Keys holding `scope` (or admin) are allowed, other keys 403; None: every key allowed."""
    return {
        kind: ALLOWED if scope is None or kind in (f"key:{scope}", "key:admin") else 403
        for kind in KEY_KINDS
    }


def key(scope: str) -> dict[str, int | str]:
    """An API key holding `scope`; member tokens refused."""
    return {
        **dict.fromkeys(INVALID, 401),
        **_keys(scope),
        "member:self": 403,
        "member:other": 403,
    }


def member_or_key(scope: str) -> dict[str, int | str]:
    """An API key holding `scope`, or the member's own token."""
    return {**key(scope), "member:self": ALLOWED}


def me() -> dict[str, int | str]:
    """A member token only (any member: it reads its own)."""
    return {
        **dict.fromkeys(INVALID, 401),
        **dict.fromkeys(KEY_KINDS, 403),
        "member:self": ALLOWED,
        "member:other": ALLOWED,
    }


def key_or_any_member(scope: str | None) -> dict[str, int | str]:
    """An API key holding `scope` (None: any key), or any member's token."""
    return {
        **dict.fromkeys(INVALID, 401),
        **_keys(scope),
        "member:self": ALLOWED,
        "member:other": ALLOWED,
    }


def public() -> dict[str, int | str]:
    """No credential needed; whatever is sent is not looked at."""
    return dict.fromkeys(KINDS, ALLOWED)


def dashboard_page() -> dict[str, int | str]:
    """A dashboard page: only its session cookie opens it; any bearer credential, an admin
    key's included, is redirected (303) to the sign-in page."""
    return dict.fromkeys(KINDS, 303)


def dashboard_form() -> dict[str, int | str]:
    """A dashboard form: without the session's CSRF token it is 403, whatever is sent."""
    return dict.fromkeys(KINDS, 403)


MATRIX: dict[tuple[str, str], dict[str, int | str]] = {
    ("GET", "/health/live"): public(),
    ("GET", "/health/ready"): public(),
    ("GET", "/metrics"): public(),
    ("GET", "/v1/members/{member_id:str}"): member_or_key("members:read"),
    ("PUT", "/v1/members/{member_id:str}"): key("members:write"),
    ("POST", "/v1/members/{member_id:str}/tokens"): key("members:token"),
    ("GET", "/v1/me"): me(),
    ("GET", "/v1/members/{member_id:str}/ledger"): member_or_key("members:read"),
    ("GET", "/v1/me/ledger"): me(),
    ("POST", "/v1/events"): key("events:write"),
    ("POST", "/v1/events/batch"): key("events:write"),
    ("GET", "/v1/admin/rules"): key("admin"),
    ("POST", "/v1/admin/rules"): key("admin"),
    ("POST", "/v1/admin/rules/dry-run"): key("admin"),
    ("GET", "/v1/admin/rules/versions"): key("admin"),
    ("GET", "/v1/admin/rules/versions/{version:str}"): key("admin"),
    ("GET", "/v1/admin/rules/versions/{a:str}/diff/{b:str}"): key("admin"),
    ("POST", "/v1/admin/rules/versions/{version:str}/rollback"): key("admin"),
    ("POST", "/v1/admin/rules/backtests"): key("admin"),
    ("GET", "/v1/admin/rules/backtests/{backtest_id:str}"): key("admin"),
    ("POST", "/v1/admin/adjustments"): key("admin"),
    ("POST", "/v1/admin/webhooks/endpoints"): key("admin"),
    ("GET", "/v1/admin/webhooks/endpoints"): key("admin"),
    ("GET", "/v1/admin/webhooks/endpoints/{endpoint_id:str}"): key("admin"),
    ("PATCH", "/v1/admin/webhooks/endpoints/{endpoint_id:str}"): key("admin"),
    ("DELETE", "/v1/admin/webhooks/endpoints/{endpoint_id:str}"): key("admin"),
    ("POST", "/v1/admin/webhooks/endpoints/{endpoint_id:str}/pause"): key("admin"),
    ("POST", "/v1/admin/webhooks/endpoints/{endpoint_id:str}/resume"): key("admin"),
    ("POST", "/v1/admin/webhooks/endpoints/{endpoint_id:str}/secret"): key("admin"),
    ("GET", "/v1/admin/webhooks/endpoints/{endpoint_id:str}/deliveries"): key("admin"),
    (
        "POST",
        "/v1/admin/webhooks/endpoints/{endpoint_id:str}/deliveries/{message_id:str}/redeliver",
    ): key("admin"),
    ("POST", "/v1/admin/webhooks/endpoints/{endpoint_id:str}/dead-letters/redeliver"): key("admin"),
    ("GET", "/v1/admin/experiments/{experiment_id:str}/report"): key("admin"),
    ("GET", "/v1/admin/experiments/{experiment_id:str}/members/{member_id:str}"): key("admin"),
    ("GET", "/v1/admin/reports/liability"): key("admin"),
    ("GET", "/v1/admin/reports/breakage"): key("admin"),
    ("GET", "/v1/admin/reports/points"): key("admin"),
    ("GET", "/v1/admin/reports/tiers"): key("admin"),
    ("GET", "/v1/admin/reports/engagement-levels"): key("admin"),
    ("GET", "/v1/admin/reports/active-members"): key("admin"),
    ("GET", "/v1/admin/reports/cohorts"): key("admin"),
    ("GET", "/v1/admin/reports/purchases"): key("admin"),
    ("GET", "/v1/admin/reports/top-members"): key("admin"),
    ("GET", "/v1/admin/reports/experiments"): key("admin"),
    ("GET", "/v1/rewards"): key_or_any_member(None),
    ("POST", "/v1/members/{member_id:str}/redemptions"): member_or_key("redemptions:write"),
    ("GET", "/v1/members/{member_id:str}/redemptions"): member_or_key("members:read"),
    ("POST", "/v1/redemptions/{redemption_id:str}/commit"): key("redemptions:write"),
    ("POST", "/v1/redemptions/{redemption_id:str}/cancel"): key("redemptions:write"),
    ("GET", "/v1/me/redemptions"): me(),
    ("GET", "/v1/leaderboards/{board:str}"): key_or_any_member("members:read"),
    ("GET", "/v1/leaderboards/{board:str}/members/{member_id:str}"): member_or_key("members:read"),
    ("GET", "/v1/me/leaderboards/{board:str}"): me(),
    ("GET", "/v1/members/{member_id:str}/challenges"): member_or_key("members:read"),
    ("GET", "/v1/me/challenges"): me(),
    ("GET", "/v1/members/{member_id:str}/badges"): member_or_key("members:read"),
    ("GET", "/v1/me/badges"): me(),
    ("GET", "/v1/members/{member_id:str}/referral"): member_or_key("members:read"),
    ("GET", "/v1/me/referral"): me(),
    ("GET", "/v1/members"): key("members:read"),
    ("GET", "/v1/members/{member_id:str}/events/{event_id:str}"): member_or_key("members:read"),
    ("GET", "/v1/members/{member_id:str}/catalog"): member_or_key("members:read"),
    ("GET", "/v1/me/catalog"): me(),
    ("DELETE", "/v1/members/{member_id:str}"): key("admin"),
    ("GET", "/v1/redemptions/{redemption_id:str}"): {
        **key("members:read"),
        "member:self": ALLOWED,
        "member:other": 403,
    },
    ("GET", "/v1/leaderboards"): key_or_any_member("members:read"),
    ("POST", "/v1/admin/keys"): key("keys:manage"),
    ("GET", "/v1/admin/keys"): key("keys:manage"),
    ("DELETE", "/v1/admin/keys/{key_id:str}"): key("keys:manage"),
    ("GET", "/v1/admin/audit"): key("admin"),
    ("GET", "/dashboard/static/{name:str}"): public(),
    ("GET", "/dashboard/sign-in"): public(),
    ("POST", "/dashboard/sign-in"): dashboard_form(),
    ("POST", "/dashboard/sign-out"): dashboard_form(),
    ("GET", "/dashboard"): dashboard_page(),
    ("GET", "/dashboard/rules"): dashboard_page(),
    ("POST", "/dashboard/rules/dry-run"): dashboard_form(),
    ("POST", "/dashboard/rules/backtests"): dashboard_form(),
    ("GET", "/dashboard/rules/backtests/{backtest_id:str}"): dashboard_page(),
    ("GET", "/dashboard/rules/backtests/{backtest_id:str}/progress"): dashboard_page(),
    ("GET", "/dashboard/members"): dashboard_page(),
    ("GET", "/dashboard/members/{member_id:str}"): dashboard_page(),
    ("GET", "/dashboard/experiments"): dashboard_page(),
    ("GET", "/dashboard/experiments/{experiment_id:str}"): dashboard_page(),
    **{
        ("GET", f"/schema{tail}"): public()
        for tail in (
            "",
            "/openapi.json",
            "/openapi.yaml",
            "/openapi.yml",
            "/swagger",
            "/redoc",
            "/rapidoc",
            "/elements",
            "/oauth2-redirect.html",
            "/{path:str}",
        )
    },
}
"""(method, route template) -> credential kind -> expected status (or "allowed")."""

PARAMS = {
    "{member_id:str}": MEMBER,
    "{board:str}": "weekly-points",
    "{redemption_id:str}": "rd_0000000000000000.YWxpY2U",  # a well-formed id naming alice
    "{event_id:str}": "no-such-event",
    "{key_id:str}": "000000000000",
    "{path:str}": "openapi.json",
    "{name:str}": "dashboard.css",
    "{experiment_id:str}": "welcome-2026",
    "{version:str}": "0123456789abcdef",  # no such version: 404 for an admin
    "{a:str}": "0123456789abcdef",
    "{b:str}": "fedcba9876543210",
    "{backtest_id:str}": "bt-0000000000000000",  # no such job: 404 for an admin
    "{endpoint_id:str}": "we_0000000000000000",  # no such endpoint: 404 for an admin
    "{message_id:str}": "msg_00000000000000000000000000",
}


def _served_routes(app) -> set[tuple[str, str]]:
    return {
        (method, route.path)
        for route in app.routes
        for method in getattr(route, "methods", ())
        if method not in ("OPTIONS", "HEAD")
    }


def _url(template: str) -> str:
    for name, value in PARAMS.items():
        template = template.replace(name, value)
    return template


def _tamper(token: str, member_id: str) -> str:
    """The same signature on a payload naming another member."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = member_id
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


async def _credentials(client, make_key, clock) -> dict[str, dict[str, str]]:
    headers: dict[str, dict[str, str]] = {"none": {}}
    headers["bad key"] = bearer("lk_0123456789ab_not-a-real-secret-at-all")
    for scope in SCOPES:
        headers[f"key:{scope}"] = bearer(await make_key(scope))
    minter = await make_key("members:token")
    own = await member_token(client, minter, MEMBER)
    headers["member:self"] = bearer(own)
    headers["member:other"] = bearer(await member_token(client, minter, OTHER))
    expired, _ = MemberTokens([SECRET], 900).mint(MEMBER, clock.now() - timedelta(hours=1))
    headers["member:expired"] = bearer(expired)
    headers["member:tampered"] = bearer(_tamper(own, MEMBER + "x"))
    foreign, _ = MemberTokens(["some-other-secret-0123456789abcdef"], 900).mint(MEMBER, clock.now())
    headers["member:foreign-secret"] = bearer(foreign)
    unsigned = jwt.encode(
        {"sub": MEMBER, "typ": "member", "exp": int(clock.now().timestamp()) + 600},
        key=None,
        algorithm="none",
    )
    headers["member:alg-none"] = bearer(unsigned)
    return headers


def test_every_route_has_a_row_and_every_cell_a_value(client):
    served = _served_routes(client.app)
    assert served - set(MATRIX) == set(), "routes without a row in MATRIX"
    assert set(MATRIX) - served == set(), "rows for routes the app no longer serves"
    for row, cells in MATRIX.items():
        assert set(cells) == set(KINDS), row


async def test_access_matrix(client, make_key, clock):
    credentials = await _credentials(client, make_key, clock)
    wrong: list[str] = []
    for (method, template), cells in MATRIX.items():
        url = _url(template)
        body = {} if method in ("POST", "PUT") else None
        for kind in KINDS:
            response = await client.request(
                method, url, json=body, headers=credentials[kind], follow_redirects=False
            )
            expected = cells[kind]
            status = response.status_code
            ok = status not in (401, 403) if expected == ALLOWED else status == expected
            if not ok or status >= 500:
                wrong.append(f"{method} {template} as {kind}: {status} (expected {expected})")
            if status in (401, 403):
                assert response.headers["content-type"] == "application/problem+json"
            if status == 401:
                assert response.headers["www-authenticate"].startswith("Bearer")
    assert not wrong, "\n".join(wrong)


async def test_options_reveals_nothing(client):
    """The automatic OPTIONS answer of every route lists methods and nothing else."""
    for _, template in MATRIX:
        response = await client.options(_url(template))
        assert response.status_code in (200, 204), (template, response.status_code)
        assert not response.content, template
