"""Experiments through the service: members in the holdout get nothing but their exposure is
recorded with the points withheld, variants get their own points, the arm is shown to admins
only, a started experiment's split cannot change, and the lift report answers."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from builders import member_rows
from helpers import bearer, purchase

from service.core.experiments import Experiment, Variant, arm_of

RULES_DIR = Path(__file__).resolve().parents[1] / "rules"

BONUS = """\
rules:
  - id: welcome-bonus
    on: purchase
    experiment:
      id: welcome-2026
      holdout: {holdout}
      variants: {{A: 100, B: 200}}
    actions:
      - points: 150
    reason: "welcome bonus"
"""


def _files(holdout: str = "20%") -> dict[str, str]:
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(RULES_DIR.glob("*.yaml"))}
    return {**files, "experiment.yaml": BONUS.format(holdout=holdout)}


EXPERIMENT = Experiment(
    id="welcome-2026", holdout_bp=2000, variants=(Variant("A", 4000, 100), Variant("B", 4000, 200))
)


async def _publish(client, admin, files):
    return await client.post("/v1/admin/rules", json={"files": files}, headers=bearer(admin))


async def test_holdout_gets_nothing_variants_their_points_exposures_recorded(
    client, make_key, db, clock
):
    admin = await make_key("admin")
    assert (await _publish(client, admin, _files())).status_code == 201
    members = [f"x{n}" for n in range(24)]
    arms = {m: arm_of(EXPERIMENT, m) for m in members}
    assert set(arms.values()) == {"holdout", "A", "B"}
    for n, member in enumerate(members):
        body = purchase(f"p{n}", member, "10.00", "2026-03-02T08:00:00Z")
        response = await client.post("/v1/events", json=body, headers=bearer(admin))
        assert response.status_code == 201, response.text
        bonus = [e for e in response.json()["effects"] if e.get("rule_id") == "welcome-bonus"]
        expected = {"holdout": [], "A": [100], "B": [200]}[arms[member]]
        assert [e["points"] for e in bonus] == expected, (member, arms[member])
        assert "arm" not in response.text and "holdout" not in response.text
    rows = (await member_rows(db, *members)).exposures
    exposures = {
        r.member_id: (r.arm, r.points, r.given) for r in rows if r.experiment_id == "welcome-2026"
    }
    for member in members:  # the holdout's withheld points are the rule's own
        points = {"holdout": 150, "A": 100, "B": 200}[arms[member]]
        assert exposures[member] == (arms[member], points, arms[member] != "holdout")

    # admins see a member's arm; the member's own view says nothing of it
    shown = await client.get("/v1/admin/experiments/welcome-2026/members/x0", headers=bearer(admin))
    assert shown.status_code == 200 and shown.json()["arm"] == arms["x0"]
    me = await client.get("/v1/members/x0", headers=bearer(admin))
    assert "welcome-2026" not in me.text

    # the lift report, once the window has passed
    clock.set(clock.now() + timedelta(days=61))
    report = await client.get("/v1/admin/experiments/welcome-2026/report", headers=bearer(admin))
    assert report.status_code == 200, report.text
    body = report.json()
    assert [a["arm"] for a in body["arms"]] == ["holdout", "A", "B"]
    by_arm = {a["arm"]: a for a in body["arms"]}
    assert sum(a["members_exposed"] for a in body["arms"]) == 24
    assert by_arm["holdout"]["points_cost"] == 0
    counts = {arm: list(arms.values()).count(arm) for arm in ("A", "B")}
    assert by_arm["B"]["points_cost"] == 200 * counts["B"]
    assert by_arm["A"]["purchases_per_member"]["mean"] == 1.0
    assert body["method"].startswith("Welch's t")
    assert body["summary"]  # a plain sentence, even when nothing is significant
    bad = await client.get(
        "/v1/admin/experiments/welcome-2026/report?window_days=7", headers=bearer(admin)
    )
    assert bad.status_code == 400 and "window_days" in bad.text


async def test_the_split_cannot_change_once_started(client, make_key):
    admin = await make_key("admin")
    assert (await _publish(client, admin, _files("20%"))).status_code == 201
    changed = await _publish(client, admin, _files("30%"))
    assert changed.status_code == 422, changed.text
    errors = {e["field"]: e["reason"] for e in changed.json()["errors"]}
    assert list(errors) == ["experiment.yaml:2:1"]  # the rule's file and line
    [reason] = errors.values()
    assert "holdout 20%" in reason and "holdout 30%" in reason and "cannot change" in reason
    # the version in force stays, and so does the split
    unknown = await client.get("/v1/admin/experiments/nope/report", headers=bearer(admin))
    assert unknown.status_code == 404


async def test_a_bad_experiment_is_refused_with_its_line(client, make_key):
    admin = await make_key("admin")
    files = _files("120%")
    response = await _publish(client, admin, files)
    assert response.status_code == 422
    fields = [e["field"] for e in response.json()["errors"]]
    assert fields == ["experiment.yaml:6:16"], response.text
