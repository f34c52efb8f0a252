"""The dashboard in a real browser: Debian's headless Chromium, driven by Selenium, against the
real app on a live local server with a seeded program. Each page is opened and screenshotted
(to $DASHBOARD_SCREENSHOTS, else build/screenshots); the charts must have drawn; sessions,
forged cookies, member tokens and CSRF are checked as a browser meets them.

Without chromium and chromedriver these tests skip, unless REQUIRE_BROWSER=1 (CI): then they
fail. One live server and one browser serve the whole module (an xdist group)."""

from __future__ import annotations

import shutil
from typing import Any

import pytest
from dashboard_live import REPO, Live, run_browser, screenshots_dir, serve_seeded
from helpers import bearer
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from service.dashboard.session import COOKIE

pytestmark = pytest.mark.xdist_group("dashboard-browser")


@pytest.fixture(scope="module")
def live(pg_admin_url, template_db):
    """The live server on a seeded program, for the whole module."""
    yield from serve_seeded(pg_admin_url, template_db)


@pytest.fixture(scope="module")
def browser(live):
    """One headless Chromium for the module."""
    yield from run_browser()


DOCS_IMAGE = REPO / "docs" / "images" / "dashboard-overview.png"

CANVAS_DRAWN = """
return Array.from(document.querySelectorAll('canvas')).map((c) => {
  if (!c.width || !c.height) return false;
  const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) return true;
  return false;
});
"""


def go(driver: Any, live: Live, path: str) -> None:
    driver.get(live.url + path)


def heading(driver: Any) -> str:
    return driver.find_element(By.TAG_NAME, "h1").text


def shot(driver: Any, name: str) -> None:
    driver.save_screenshot(str(screenshots_dir() / f"{name}.png"))


def whole_page_shot(driver: Any, name: str) -> None:
    """The whole page in one picture (the viewport stretched to its height, then restored)."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    metrics = {"width": 1366, "deviceScaleFactor": 1, "mobile": False}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {**metrics, "height": height})
    shot(driver, name)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {**metrics, "height": 768})


def sign_in(driver: Any, live: Live, credential: str) -> None:
    driver.delete_all_cookies()
    go(driver, live, "/dashboard/sign-in")
    field = driver.find_element(By.ID, "api-key")
    field.send_keys(credential)
    field.submit()
    WebDriverWait(driver, 10).until(ec.presence_of_element_located((By.TAG_NAME, "h1")))


def signed_in(driver: Any, live: Live) -> None:
    """Sign in with the admin key unless this browser already holds a session."""
    go(driver, live, "/dashboard/sign-in")
    if driver.get_cookie(COOKIE) is None or heading(driver) == "Sign in":
        sign_in(driver, live, live.admin)
    assert driver.get_cookie(COOKIE) is not None


def charts_drawn(driver: Any) -> list[bool]:
    WebDriverWait(driver, 10).until(
        lambda d: d.execute_script("return document.body.dataset.charts") == "drawn"
    )
    return list(driver.execute_script(CANVAS_DRAWN))


def test_a_page_without_the_cookie_redirects_to_sign_in(browser, live):
    browser.delete_all_cookies()
    for path in ("/dashboard", "/dashboard/rules", "/dashboard/members/alice"):
        go(browser, live, path)
        assert browser.current_url == f"{live.url}/dashboard/sign-in", path
        assert heading(browser) == "Sign in"
        assert "Alice" not in browser.page_source
    shot(browser, "sign-in")


def test_a_member_token_does_not_open_it(browser, live):
    sign_in(browser, live, live.member_token)
    assert heading(browser) == "Sign in"
    assert "member token never opens" in browser.find_element(By.ID, "signin-error").text
    assert browser.get_cookie(COOKIE) is None
    go(browser, live, "/dashboard")
    assert browser.current_url.endswith("/dashboard/sign-in")


def test_a_forged_cookie_is_refused(browser, live):
    signed_in(browser, live)
    real = browser.get_cookie(COOKIE)["value"]
    key_id, expires, signature = real.split(".")
    for forged in (
        f"{key_id}.{int(expires) + 86400}.{signature}",  # a longer session, same signature
        f"{key_id}.{expires}.{'A' * len(signature)}",  # a made-up signature
        "000000000000.9999999999.forged",
    ):
        browser.delete_all_cookies()
        browser.add_cookie({"name": COOKIE, "value": forged, "path": "/dashboard"})
        go(browser, live, "/dashboard/members/alice")
        assert browser.current_url.endswith("/dashboard/sign-in"), forged
        assert "Alice Archer" not in browser.page_source


def test_sign_in_and_open_each_page(browser, live):
    sign_in(browser, live, live.admin)
    assert browser.current_url == f"{live.url}/dashboard"
    pages = {
        "overview": ("/dashboard", "Overview"),
        "rules": ("/dashboard/rules", "Rules"),
        "members": ("/dashboard/members?q=a", "Members"),
        "member": ("/dashboard/members/alice", "Member Alice Archer"),
        "experiments": ("/dashboard/experiments", "Experiments"),
        "experiment": ("/dashboard/experiments/welcome-2026", "Experiment welcome-2026"),
    }
    browser.get_log("browser")  # what earlier tests left (a refused sign-in's 403)
    for name, (path, title) in pages.items():
        go(browser, live, path)
        assert heading(browser) == title, name
        assert browser.find_element(By.CSS_SELECTOR, "html").get_attribute("lang") == "en"
        current = browser.find_element(By.CSS_SELECTOR, "nav a[aria-current=page]").text
        assert current in ("Overview", "Rules", "Members", "Experiments")
        drawn = charts_drawn(browser)
        assert all(drawn), f"{name}: a chart did not draw ({drawn})"
        if name == "overview":
            assert len(drawn) >= 10, drawn
        errors = [e["message"] for e in browser.get_log("browser")]
        assert not errors, f"{name}: the console says {errors}"  # CSP refusals included
        shot(browser, name)
        if name == "overview":
            DOCS_IMAGE.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(screenshots_dir() / "overview.png", DOCS_IMAGE)
            whole_page_shot(browser, "overview-whole")


TABLE_FIGURES = """
const table = document.querySelector(arguments[0] + ' table');
return Array.from(table.querySelectorAll('tbody tr')).map((tr) => [
  tr.querySelector('th').textContent.trim(),
  ...Array.from(tr.querySelectorAll('td')).map(
    (td) => (td.dataset.value === undefined ? null : Number(td.dataset.value))),
]);
"""


def report(live: Live, name: str) -> Any:
    response = live.http.get(f"/v1/admin/reports/{name}", headers=bearer(live.admin))
    assert response.status_code == 200, response.text
    return response.json()


def expected_tables(live: Live) -> dict[str, list[list[Any]]]:
    """Each overview chart's rows as the JSON reports give them: label, then each series."""
    liability, breakage = report(live, "liability"), report(live, "breakage")
    points, tiers = report(live, "points"), report(live, "tiers")
    levels, active = report(live, "engagement-levels"), report(live, "active-members")
    cohorts = [c for c in report(live, "cohorts")["cohorts"] if c["members"] > 0]
    weeks = max(len(c["rates"]) for c in cohorts)
    percent = lambda rate: None if rate is None else round(rate * 100, 2)  # noqa: E731
    return {
        "liability-history": [[d["day"], d["points"]] for d in liability["history"]],
        "liability-expiring": [[m["month"][:7], m["points"]] for m in liability["expiring"]],
        "breakage-months": [
            [m["month"][:7], m["earned"], m["expired"]] for m in breakage["months"]
        ],
        "breakage-rate": [[m["month"][:7], percent(m["rate"])] for m in breakage["months"]],
        "points-days": [[d["day"], d["earned"], d["spent"]] for d in points["days"]],
        "points-rules": [[r["rule_id"] or "(no rule)", r["points"]] for r in points["by_rule"]],
        "tiers": [[c["name"], c["members"]] for c in tiers["distribution"]],
        "engagement-days": [
            [d["day"], *(d["levels"].get(level, 0) for level in levels["levels"])]
            for d in levels["days"]
        ],
        "active-days": [[p["start"], p["members"]] for p in active["days"]],
        "active-months": [[p["start"][:7], p["members"]] for p in active["months"]],
        "cohorts": [
            [
                f"week {k}",
                *(percent(c["rates"][k]) if k < len(c["rates"]) else None for c in cohorts),
            ]
            for k in range(weeks)
        ],
    }


def test_the_overview_numbers_equal_the_json_reports(browser, live):
    signed_in(browser, live)
    go(browser, live, "/dashboard")
    assert all(charts_drawn(browser))
    for chart, rows in expected_tables(live).items():
        shown = browser.execute_script(TABLE_FIGURES, f"#{chart}")
        assert shown == rows, chart
        if chart != "breakage-rate":  # no lot of the seeded three weeks has expired yet
            assert any(v for row in rows for v in row[1:]), (
                f"{chart}: the seeded program shows nothing"
            )
    liability = report(live, "liability")
    active = report(live, "active-members")
    for figure, value in {
        "fig-outstanding": liability["outstanding"],
        "fig-available": liability["available"],
        "fig-pending": liability["pending"],
        "fig-dau": active["dau"],
        "fig-mau": active["mau"],
    }.items():
        shown = browser.find_element(By.CSS_SELECTOR, f"#{figure} dd").get_attribute("data-value")
        assert int(shown) == value, figure
    top = [[m["member_id"], f"{m['available']:,}"] for m in report(live, "top-members")["members"]]
    rows = browser.find_elements(By.CSS_SELECTOR, "#top-members tbody tr")
    assert [r.text.split(" ")[0] for r in rows] == [m for m, _ in top]
    assert all(available in row.text for row, (_, available) in zip(rows, top, strict=True))
    arms = [
        f"{e['experiment_id']} {a['arm']} {a['exposures']:,} {a['points']:,}"
        for e in report(live, "experiments")["experiments"]
        for a in e["arms"]
    ]
    shown = [
        r.text for r in browser.find_elements(By.CSS_SELECTOR, "#experiment-summaries tbody tr")
    ]
    assert shown == arms and arms


def test_keyboard_reaches_the_navigation(browser, live):
    signed_in(browser, live)
    go(browser, live, "/dashboard/members")
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys("\ue004")  # Tab: the skip link first
    assert browser.switch_to.active_element.text == "Skip to content"
    browser.switch_to.active_element.send_keys("\ue004")
    assert browser.switch_to.active_element.text == "Overview"


def test_search_a_member_and_open_their_ledger(browser, live):
    signed_in(browser, live)
    go(browser, live, "/dashboard/members")
    field = browser.find_element(By.ID, "member-q")
    field.send_keys("Bob")
    field.submit()
    results = WebDriverWait(browser, 10).until(
        ec.presence_of_element_located((By.ID, "search-results"))
    )
    assert "Bob <b>Bold</b>" in results.text  # shown as text, never as markup
    results.find_element(By.LINK_TEXT, "bob").click()
    assert heading(browser) == "Member Bob <b>Bold</b>"
    rows = browser.find_elements(By.CSS_SELECTOR, "#ledger tbody tr")
    ledger = live.http.get("/v1/members/bob/ledger", headers=bearer(live.admin)).json()
    assert len(rows) == len(ledger["entries"]) > 0
    first = ledger["entries"][0]
    assert first["reason"] in rows[0].text and str(first["points"]) in rows[0].text.replace(",", "")
    view = live.http.get("/v1/members/bob", headers=bearer(live.admin)).json()
    available = browser.find_element(By.CSS_SELECTOR, "#bal-available dd").get_attribute(
        "data-value"
    )
    assert int(available) == view["balances"]["available"]
    shot(browser, "member-ledger")


def test_a_dry_run_from_the_page(browser, live):
    signed_in(browser, live)
    go(browser, live, "/dashboard/rules")
    member = browser.find_element(By.ID, "dr-member")
    member.clear()
    member.send_keys("newcomer")
    Select(browser.find_element(By.ID, "dr-type")).select_by_visible_text("purchase")
    browser.find_element(By.CSS_SELECTOR, "#dry-run-form button[type=submit]").click()
    points = WebDriverWait(browser, 10).until(
        ec.presence_of_element_located((By.ID, "dry-run-points"))
    )
    body = {
        "event": {
            "type": "purchase",
            "member_id": "newcomer",
            "occurred_at": browser.find_element(By.ID, "dr-at").get_attribute("value"),
            "attributes": {"order_id": "try-1", "amount": "120.00", "currency": "EUR"},
        }
    }
    expected = live.http.post("/v1/admin/rules/dry-run", json=body, headers=bearer(live.admin))
    assert expected.status_code == 200, expected.text
    assert int(points.text) == expected.json()["points"] > 0
    shot(browser, "dry-run")


def test_the_diff_of_two_versions(browser, live):
    signed_in(browser, live)
    go(browser, live, "/dashboard/rules")
    browser.find_element(By.CSS_SELECTOR, "#diff-title ~ form button").click()
    diff = WebDriverWait(browser, 10).until(ec.presence_of_element_located((By.ID, "diff")))
    assert "experiment.yaml: added" in diff.text
    assert "welcome-bonus" in diff.text


def test_a_backtest_started_from_the_page_shows_progress_then_its_report(browser, live):
    signed_in(browser, live)
    go(browser, live, "/dashboard/rules")
    browser.find_element(By.CSS_SELECTOR, "#backtest-form button[type=submit]").click()
    WebDriverWait(browser, 10).until(ec.url_contains("/dashboard/rules/backtests/bt-"))
    assert heading(browser) == "Backtest"
    report = WebDriverWait(browser, 30).until(
        ec.presence_of_element_located((By.ID, "backtest-report"))
    )
    assert browser.find_element(By.ID, "backtest-status").text == "done"
    assert "Points net" in report.text
    shot(browser, "backtest")


def test_a_post_without_the_csrf_token_is_403(browser, live):
    signed_in(browser, live)
    go(browser, live, "/dashboard/rules")
    status = browser.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        const form = new URLSearchParams({type: 'purchase', member_id: 'x', attributes: '{}'});
        fetch('/dashboard/rules/dry-run', {method: 'POST', body: form, credentials: 'same-origin'})
          .then((r) => done(r.status));
        """
    )
    assert status == 403
