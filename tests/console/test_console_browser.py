"""The console in headless Chromium: a manager plans and applies a day and reassigns a job, a
reviewer gives verdicts on a sampled checklist, another point's manager is kept out, and axe-core
finds no accessibility violation on the main pages (labels, contrast, names), which are also
usable from the keyboard. Screenshots of the main pages go to the artifacts directory."""

from __future__ import annotations

import uuid

import pytest
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

from tests.console.conftest import WAIT_S, screenshot
from tests.dates import SUITE_TODAY
from tests.scenarios.steps import (
    ADMIN,
    caller_unit,
    a_booked_job_and_a_free_colleague,
    job,
    next_working_day,
    point_id,
    repair_call,
    take_in,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

MANAGER, OTHER_MANAGER, REVIEWER = "manager.hz01", "manager.hz02", "reviewer"
PASSWORD = "demo1234"


def wait(driver):
    return WebDriverWait(driver, WAIT_S)


def sign_in(driver, base: str, username: str) -> None:
    driver.get(f"{base}/console/sign-in")
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(PASSWORD, Keys.ENTER)
    wait(driver).until(ec.presence_of_element_located((By.CSS_SELECTOR, "header .who")))


def submit(driver, button_id: str) -> None:
    button = driver.find_element(By.ID, button_id)
    button.click()
    wait(driver).until(lambda _: _left(button))


def _left(element) -> bool:
    """Whether the page that held ``element`` has gone (``ec.staleness_of``, plus chromedriver's
    "unhandled inspector error: Cannot find context" when asked in the middle of the navigation:
    the old document's context is gone, which is what we wait for)."""
    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as exc:
        if "inspector error" in (exc.msg or "") or "Cannot find context" in (exc.msg or ""):
            return True
        raise
    return False


def flash(driver) -> str:
    return wait(driver).until(ec.presence_of_element_located((By.CSS_SELECTOR, ".flash"))).text


def test_a_manager_plans_and_applies_a_day_then_reassigns_a_job(browser, live_server, api, session):
    hz01 = point_id(api, "HZ01")
    day = next_working_day(api, MANAGER, SUITE_TODAY)
    unit = caller_unit(session, "HZ01", covered=True, on=day)
    taken = take_in(api, repair_call(unit, day, (9, 12), "drips under the sink")).json
    assert taken["status"] == "dispatched"

    sign_in(browser, live_server, MANAGER)
    assert browser.current_url.endswith(f"/console/points/{hz01}/board")
    browser.get(f"{live_server}/console/points/{hz01}/board?day={day.isoformat()}")
    queue = browser.find_element(By.CSS_SELECTOR, "#queue-h").find_element(By.XPATH, "..").text
    assert taken["reference"] in queue  # the new call waits in the unassigned queue
    screenshot(browser, "manager-board")

    submit(browser, "request-plan")  # the plan solves (inline here), the page follows it
    wait(browser).until(lambda d: d.find_element(By.ID, "plan-state").get_attribute("data-status") == "done")
    stops = browser.find_element(By.ID, "routes-h").find_element(By.XPATH, "..").text
    assert taken["reference"] in stops
    map_ok = browser.execute_script(
        "const i = document.querySelector('img.map'); return i.complete && i.naturalWidth > 0;")
    assert map_ok, "the plan's route map loads"
    screenshot(browser, "manager-plan")

    submit(browser, "apply-plan")
    assert "排程已应用" in flash(browser)
    scheduled = job(api, taken["id"], MANAGER)
    assert scheduled["status"] == "scheduled" and scheduled["technician_id"]

    booked, colleague, slot = a_booked_job_and_a_free_colleague(api, session, MANAGER, "HZ01", day,
                                                                skip=(unit.serial,))
    browser.get(f"{live_server}/console/jobs/{booked['id']}")
    Select(browser.find_element(By.ID, "technician_id")).select_by_value(colleague["id"])
    start = browser.find_element(By.ID, "scheduled_start")
    browser.execute_script("arguments[0].value = arguments[1]", start, slot.strftime("%Y-%m-%dT%H:%M"))
    browser.find_element(By.ID, "reason").send_keys("customer asked for the afternoon")
    screenshot(browser, "manager-job")
    browser.find_element(By.CSS_SELECTOR, "#reassign button[type=submit]").click()
    assert "工单已改派" in flash(browser)
    moved = job(api, booked["id"], MANAGER)
    assert moved["technician_id"] == colleague["id"]
    assert any(e.get("reason") == "customer asked for the afternoon" for e in moved["events"])
    assert colleague["name"] in browser.find_element(By.ID, "job-technician").text


def test_a_manager_offers_slots_to_callers_from_the_board_and_the_gantt_shows_the_visit(browser, live_server, api,
                                                                                          session):
    """A waiting job: from the queue to its ranked slots, booked with one click; a new caller:
    place, job type and product, then their name and the slot they chose. The board's timeline is
    the Gantt picture, with the booked visit as a work bar."""
    from axe_selenium_python import Axe

    hz01 = point_id(api, "HZ01")
    day = next_working_day(api, MANAGER, SUITE_TODAY)
    unit = caller_unit(session, "HZ01", covered=True, on=day)
    taken = take_in(api, repair_call(unit, day, (9, 17), "the filter light blinks")).json
    sign_in(browser, live_server, MANAGER)
    browser.get(f"{live_server}/console/points/{hz01}/board?day={day.isoformat()}")
    browser.find_element(By.CSS_SELECTOR, f"a[href*='job_id={taken['id']}']").click()
    wait(browser).until(ec.presence_of_element_located((By.ID, "slots")))
    rows = browser.find_elements(By.CSS_SELECTOR, "#slots tr.slot")
    ranked = api.get(f"/api/v1/jobs/{taken['id']}/slots?from={day}&to={day}", as_=MANAGER).json["slots"]
    assert [r.get_attribute("data-start") for r in rows] == [s["window_start"] for s in ranked]
    axe = Axe(browser)
    axe.inject()
    results = axe.run(options='{"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21aa"]}}')
    assert results["violations"] == [], axe.report(results["violations"])
    screenshot(browser, "manager-slots")
    submit(browser, "book-1")
    assert "时段已预约" in flash(browser)
    booked = job(api, taken["id"], MANAGER)
    assert booked["status"] == "scheduled" and booked["technician_id"] == ranked[0]["technician_id"]

    browser.get(f"{live_server}/console/points/{hz01}/board?day={day.isoformat()}")
    bars = browser.execute_script(
        "return Array.from(document.querySelectorAll('#gantt rect.work title')).map(t => t.textContent)")
    assert any(b.startswith(taken["reference"] + " ") for b in bars), bars
    lanes = browser.find_elements(By.CSS_SELECTOR, "#gantt g.technician")
    assert len(lanes) >= 2  # a row per technician of the point
    screenshot(browser, "manager-board-gantt")

    # a new caller: where and what, the ranked slots, then who they are and the slot they chose
    browser.find_element(By.ID, "offer-slots").click()
    point = api.get(f"/api/v1/service-points/{hz01}", as_=MANAGER).json
    browser.find_element(By.ID, "lat").send_keys(str(point["location"]["lat"] + 0.01))
    browser.find_element(By.ID, "lon").send_keys(str(point["location"]["lon"]))
    Select(browser.find_element(By.ID, "job_type")).select_by_value("install")
    Select(browser.find_element(By.ID, "product_sku")).select_by_value("WP-RO500")
    browser.execute_script("arguments[0].value = arguments[1]", browser.find_element(By.ID, "caller-day"),
                           day.isoformat())
    submit(browser, "show-caller-slots")
    wait(browser).until(ec.presence_of_element_located((By.ID, "slots")))
    browser.find_element(By.ID, "name").send_keys("王女士")
    browser.find_element(By.ID, "phone").send_keys("13712340000")
    browser.find_element(By.ID, "address").send_keys("9 Canal Street")
    submit(browser, "book-1")
    flash(browser)
    said = " ".join(f.text for f in browser.find_elements(By.CSS_SELECTOR, ".flash"))
    assert "来电工单已受理" in said and "时段已预约" in said
    new_id = browser.current_url.rsplit("/", 1)[-1]
    created = job(api, new_id, MANAGER)
    assert created["status"] == "scheduled" and created["type"] == "install"


def test_another_points_manager_cannot_open_the_first_points_pages(browser, live_server, api):
    hz01 = point_id(api, "HZ01")
    some_job = api.get(f"/api/v1/jobs?service_point_id={hz01}&page_size=1", as_=MANAGER).json[0]
    sign_in(browser, live_server, OTHER_MANAGER)
    for path in (f"/console/points/{hz01}/board", f"/console/points/{hz01}/stock",
                 f"/console/jobs/{some_job['id']}"):
        browser.get(f"{live_server}{path}")
        assert browser.find_element(By.TAG_NAME, "h1").text == "未找到", path
        assert some_job["reference"] not in browser.page_source
    browser.get(f"{live_server}/console/board")
    assert "HZ02" in browser.find_element(By.TAG_NAME, "h1").text


def test_a_reviewer_gives_verdicts_on_a_sampled_checklist(browser, live_server, api):
    queue = api.get("/api/v1/audits?status=open&page_size=100", as_=REVIEWER).json
    assert queue, "the demo leaves half of the newest lot open"
    sign_in(browser, live_server, REVIEWER)
    assert browser.current_url.endswith("/console/audits")
    screenshot(browser, "reviewer-queue")
    links = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "a.audit-link")]
    for link in links:  # the first open audit with evidence photos
        browser.get(link)
        photos = browser.find_elements(By.CSS_SELECTOR, "ul.photos img")
        if photos:
            break
    else:
        raise AssertionError("an open audit of the demo has evidence photos")
    audit_id = browser.current_url.rsplit("/", 1)[1]
    # the thumbnail loads (lazily: once scrolled into view), and opens full size in the dialog
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", photos[0])
    wait(browser).until(lambda d: d.execute_script(
        "return arguments[0].complete && arguments[0].naturalWidth > 0", photos[0]))
    photos[0].click()
    wait(browser).until(lambda d: d.find_element(By.ID, "photo-dialog").get_attribute("open") is not None)
    assert browser.execute_script("return document.getElementById('photo-full').naturalWidth > 0")
    browser.find_element(By.CSS_SELECTOR, "#photo-dialog button").click()
    step_choices = browser.find_elements(By.CSS_SELECTOR, "select[id^=step_]")
    assert step_choices, "each step has its own verdict"
    first_key = step_choices[0].get_attribute("id").removeprefix("step_")
    Select(step_choices[0]).select_by_value("missing_evidence")
    browser.find_element(By.ID, f"note_{first_key}").send_keys("photo does not show the seal")
    Select(browser.find_element(By.ID, "verdict")).select_by_value("minor")
    browser.find_element(By.ID, "note").send_keys("one step without proof")
    screenshot(browser, "reviewer-audit")
    submit(browser, "give-verdict")
    assert "结论已记录" in flash(browser)
    given = api.get(f"/api/v1/audits/{audit_id}", as_=REVIEWER).json
    audit = given.get("audit", given)
    assert audit["status"] == "verdict_given" and audit["verdict"] == "minor"
    findings = browser.find_element(By.ID, "verdicts").text
    assert first_key in findings and "photo does not show the seal" in findings

    browser.get(f"{live_server}/console/scorecards")
    assert browser.find_elements(By.CSS_SELECTOR, "figure svg[role=img] circle")  # the chart has points
    screenshot(browser, "reviewer-scorecards")


def test_a_reviewer_reads_the_flagged_points_corrective_plan(browser, live_server, api):
    """The demo's SZ02 is under correction: the flagged points page lists its plan, whose page
    shows the findings, the actions with the manager's answer and its evidence photo."""
    [plan] = api.get("/api/v1/corrective-plans?open=true", as_=REVIEWER).json
    sign_in(browser, live_server, REVIEWER)
    browser.get(f"{live_server}/console/flagged-points")
    row = browser.find_element(By.ID, "corrective-plans").text
    assert "SZ02" in row and "1 / 3" in row  # one of three actions answered
    flagged = browser.find_element(By.ID, "flagged").text  # the flagged SZ02 links to its open plan
    assert "SZ02" in flagged and plan["deadline"] in flagged
    browser.find_element(By.CSS_SELECTOR, "a.plan-link").click()
    wait(browser).until(ec.presence_of_element_located((By.ID, "plan-summary")))
    assert browser.current_url.endswith(f"/console/corrective-plans/{plan['id']}")
    assert browser.find_element(By.ID, "plan-status").text == "待处理"
    actions = browser.find_element(By.ID, "actions").text
    assert plan["actions"][0]["answer"] in actions and plan["actions"][2]["requirement"] in actions
    evidence = browser.find_element(By.CSS_SELECTOR, "#actions a").get_attribute("href")
    assert evidence.endswith(f"/console/attachments/{plan['actions'][0]['evidence'][0]}")
    screenshot(browser, "reviewer-corrective-plan")
    # another point's manager is kept out
    sign_in(browser, live_server, OTHER_MANAGER)
    browser.get(f"{live_server}/console/corrective-plans/{plan['id']}")
    assert browser.find_element(By.TAG_NAME, "h1").text == "未找到"
    assert not browser.find_elements(By.ID, "plan-summary")


MAIN_PAGES = {
    MANAGER: ["/console/board", "/console/board?day=tomorrow", "/console/kpis", "/console/worklists"],
    REVIEWER: ["/console/audits", "/console/scorecards", "/console/flagged-points", "/console/network",
               "/console/kpis", "/console/audit-log?verify=1", "/console/worklists"],
}


@pytest.mark.parametrize("username", [MANAGER, REVIEWER])
def test_main_pages_pass_axe_core(browser, live_server, username):
    from axe_selenium_python import Axe

    browser.get(f"{live_server}/console/sign-in")
    pages = [("sign-in", browser.current_url)]
    sign_in(browser, live_server, username)
    pages += [(path, f"{live_server}{path}") for path in MAIN_PAGES[username]]
    if username == REVIEWER:
        browser.get(f"{live_server}/console/audits")
        pages.append(("audit", browser.find_element(By.CSS_SELECTOR, "a.audit-link").get_attribute("href")))
    for label, url in pages:
        browser.get(url)
        axe = Axe(browser)
        axe.inject()
        results = axe.run(options='{"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21aa"]}}')
        assert results["violations"] == [], f"{label}: {axe.report(results['violations'])}"
        name = label.strip("/").replace("/", "-").replace("?", "-").replace("=", "-")
        screenshot(browser, f"{username}-{name}".replace(".", "-"))


def test_the_console_works_from_the_keyboard(browser, live_server):
    browser.get(f"{live_server}/console/sign-in")
    ActionChains(browser).send_keys(Keys.TAB).perform()
    active = browser.switch_to.active_element
    assert active.get_attribute("class") == "skip" and active.is_displayed()  # the skip link shows on focus
    active.send_keys(Keys.ENTER)
    assert browser.switch_to.active_element.get_attribute("id") == "content"
    focused = []
    for _ in range(8):  # tab through the form: every control is reachable, in order
        browser.switch_to.active_element.send_keys(Keys.TAB)
        focused.append(browser.switch_to.active_element.get_attribute("id") or
                       browser.switch_to.active_element.tag_name)
    assert focused.index("username") < focused.index("password")
    browser.find_element(By.ID, "username").send_keys(MANAGER, Keys.TAB)
    browser.switch_to.active_element.send_keys(PASSWORD, Keys.ENTER)  # Tab to the password, Enter signs in
    wait(browser).until(ec.presence_of_element_located((By.CSS_SELECTOR, "header .who")))
    browser.get(f"{live_server}/console/kpis")  # a fresh page: focus starts at the top
    ActionChains(browser).send_keys(Keys.TAB, Keys.TAB).perform()  # past the skip link
    active = browser.switch_to.active_element
    assert active.text == "调度看板"  # the navigation comes next
    assert browser.execute_script("return getComputedStyle(arguments[0]).outlineStyle", active) != "none"
    active.send_keys(Keys.ENTER)  # and follows with Enter
    wait(browser).until(ec.presence_of_element_located((By.ID, "jobs-h")))


def test_each_main_page_answers_for_its_role(browser, live_server, api):
    """HQ's pages as the admin: the network map, KPIs with the CSV link, the audit-log check."""
    sign_in(browser, live_server, ADMIN)
    assert browser.current_url.endswith("/console/network")
    assert len(browser.find_elements(By.CSS_SELECTOR, "figure svg polygon")) > 0  # regions drawn
    assert "HZ01" in browser.find_element(By.ID, "points").text
    screenshot(browser, "hq-network")
    browser.get(f"{live_server}/console/kpis")
    href = browser.find_element(By.ID, "kpi-csv").get_attribute("href")
    assert "/console/kpis.csv?" in href
    screenshot(browser, "hq-kpis")
    browser.get(f"{live_server}/console/audit-log?verify=1")
    assert browser.find_element(By.CSS_SELECTOR, "#verification .badge").text == "哈希链完整。"
    screenshot(browser, "hq-audit-log")
    assert uuid.UUID(point_id(api, "HZ01"))


def test_a_manager_calls_back_an_unhappy_customer_from_the_worklist(browser, live_server, api):
    [item] = api.get("/api/v1/worklist-items/?kind=low_rating_callback", as_=MANAGER,
                     headers={"Accept-Language": "zh-CN"}).json  # the title as the console writes it
    sign_in(browser, live_server, MANAGER)
    browser.find_element(By.LINK_TEXT, "待办清单").click()
    wait(browser).until(ec.presence_of_element_located((By.ID, "lists")))
    browser.find_element(By.CSS_SELECTOR, "tr[data-kind=low_rating_callback] a").click()
    row = wait(browser).until(ec.presence_of_element_located((By.ID, f"item-{item['id']}")))
    assert item["title"] in row.text
    screenshot(browser, "manager-worklists")
    Select(browser.find_element(By.ID, f"outcome-{item['id']}")).select_by_value("reached")
    Select(browser.find_element(By.ID, f"satisfied-{item['id']}")).select_by_value("no")
    Select(browser.find_element(By.ID, f"score-{item['id']}")).select_by_value("2")
    browser.find_element(By.ID, f"note-{item['id']}").send_keys("revisit booked for Monday")
    submit(browser, f"done-{item['id']}")
    assert "已完成" in flash(browser)
    assert not browser.find_elements(By.ID, f"item-{item['id']}")
    calls = api.get(f"/api/v1/jobs/{item['job_id']}/callbacks", as_=MANAGER).json
    assert [(c["outcome"], c["satisfied"], c["score"]) for c in calls][-1] == ("reached", False, 2)
