"""SOP templates through HTTP: drafts, publishing immutable versions, who may do what, and which
template a job gets (the most specific published one)."""

from __future__ import annotations

import pytest

from dispatch import clock
from tests.api.jobs_builders import MONDAY
from tests.api.sop_builders import STEPS, checklist, publish_template, repair_unit, scheduled_job
from tests.helpers import assert_problem

BASE = "/api/v1/sop/templates"


@pytest.fixture(autouse=True)
def monday():
    with clock.frozen(MONDAY):
        yield MONDAY


def new_template(api, **overrides):
    body = {"code": "WH-INSTALL-EH60-T", "title": "EH-60 installation", "job_type": "install",
            "category": "water_heater", "product_sku": "WH-EH60",
            "steps": [{"key": "site_photo", "title": "Site photo", "kind": "photo"},
                      {"key": "voltage", "title": "Mains voltage", "kind": "number", "unit": "V", "min": 198,
                       "max": 242, "decimals": 0}]} | overrides
    return api.post(f"{BASE}/", as_="admin", json=body)


def test_an_admin_creates_a_template_whose_first_version_is_a_draft(api):
    response = new_template(api)
    assert response.status_code == 201, response.json
    template = response.json
    assert response.headers["Location"].endswith(f"{BASE}/{template['id']}")
    assert (template["code"], template["product_sku"], template["published_version"], template["draft_version"]) == (
        "WH-INSTALL-EH60-T", "WH-EH60", None, 1)
    version = api.get(f"{BASE}/{template['id']}/versions/1", as_="admin").json
    assert (version["status"], version["content_sha256"], version["template_code"]) == (
        "draft", None, "WH-INSTALL-EH60-T")
    assert [(s["position"], s["key"], s["kind"]) for s in version["steps"]] == [
        (1, "site_photo", "photo"), (2, "voltage", "number")]
    assert (version["steps"][1]["min"], version["steps"][1]["max"], version["steps"][1]["unit"]) == (198, 242, "V")


def test_only_admins_write_templates_and_drafts_are_hidden_from_the_points(api):
    for who in ("reviewer", "manager.hz01", "tech.hz01.1"):
        assert_problem(api.post(f"{BASE}/", as_=who, json={
            "code": "X-1", "title": "x", "job_type": "install", "category": "water_heater"}), 403)
    template = new_template(api).json
    assert_problem(api.get(f"{BASE}/{template['id']}/versions/1", as_="manager.hz01"), 404)
    assert api.get(f"{BASE}/{template['id']}/versions", as_="manager.hz01").json == []
    assert_problem(api.post(f"{BASE}/{template['id']}/versions/1/publish", as_="manager.hz01"), 403)
    assert_problem(api.put(f"{BASE}/{template['id']}/versions/1", as_="tech.hz01.1",
                           json={"title": "x", "steps": []}), 403)


@pytest.mark.parametrize(("step", "field"), [
    ({"key": "a", "title": "A", "kind": "confirm", "after": ["voltage"]}, "steps.0.after"),
    ({"key": "Bad Key", "title": "A", "kind": "confirm"}, "steps.0.key"),
    ({"key": "a", "title": "A", "kind": "number", "min": 5, "max": 1}, "steps.0.max"),
    ({"key": "a", "title": "A", "kind": "choice", "options": ["only one"]}, "steps.0.options"),
    ({"key": "a", "title": "A", "kind": "confirm", "unit": "V"}, "steps.0.unit"),
    ({"key": "a", "title": "A", "kind": "number", "lt_step": "nothing_earlier"}, "steps.0.lt_step"),
    ({"key": "a", "title": "A", "kind": "dance"}, "steps.0.kind"),
])
def test_a_bad_step_is_a_422_naming_the_step_and_setting(api, step, field):
    assert_problem(new_template(api, steps=[step]), 422, field=field)


def test_codes_are_unique_and_one_template_covers_a_scope(api):
    assert new_template(api).status_code == 201
    assert_problem(new_template(api), 409)
    same_scope = assert_problem(new_template(api, code="ANOTHER-EH60"), 409)
    assert same_scope["template_code"] == "WH-INSTALL-EH60-T"
    assert_problem(new_template(api, code="X-2", product_sku="NOPE"), 422, field="product_sku")
    assert_problem(new_template(api, code="X-3", product_sku="WP-RO500"), 422, field="product_sku")  # a purifier


def test_publishing_freezes_a_version_and_the_next_draft_becomes_version_two(api):
    template = new_template(api).json
    base = f"{BASE}/{template['id']}"
    assert_problem(api.post(f"{base}/versions", as_="admin"), 409)  # version 1 is still a draft
    edited = api.put(f"{base}/versions/1", as_="admin", json={
        "title": "EH-60 installation (fixed)", "description": "wall first",
        "steps": [{"key": "wall_ok", "title": "Wall is load-bearing", "kind": "confirm"},
                  {"key": "site_photo", "title": "Site photo", "kind": "photo", "min_count": 2}]})
    assert edited.status_code == 200, edited.json
    assert [s["key"] for s in edited.json["steps"]] == ["wall_ok", "site_photo"]
    published = api.post(f"{base}/versions/1/publish", as_="admin")
    assert published.status_code == 200, published.json
    v1 = published.json
    assert (v1["status"], v1["title"], len(v1["content_sha256"])) == ("published", "EH-60 installation (fixed)", 64)
    assert v1["published_at"] is not None and v1["published_by"] is not None

    immutable = api.put(f"{base}/versions/1", as_="admin", json={"title": "sneaky", "steps": []})
    assert_problem(immutable, 409, code="version-immutable")
    assert_problem(api.post(f"{base}/versions/1/publish", as_="admin"), 409, code="version-immutable")

    draft = api.post(f"{base}/versions", as_="admin")
    assert draft.status_code == 201, draft.json
    assert (draft.json["number"], draft.json["status"]) == (2, "draft")
    assert draft.headers["Location"].endswith(f"{base}/versions/2")
    assert [s["key"] for s in draft.json["steps"]] == ["wall_ok", "site_photo"]  # starts from v1's content
    assert_problem(api.post(f"{base}/versions", as_="admin"), 409)  # one draft at a time
    api.put(f"{base}/versions/2", as_="admin", json={"title": "EH-60 installation v2", "steps": [
        {"key": "wall_ok", "title": "Wall is load-bearing", "kind": "confirm"}]})
    assert api.post(f"{base}/versions/2/publish", as_="admin").status_code == 200

    versions = api.get(f"{base}/versions", as_="manager.hz01").json
    assert [(v["number"], v["status"]) for v in versions] == [(1, "published"), (2, "published")]
    again = api.get(f"{base}/versions/1", as_="tech.hz01.1").json
    assert again["content_sha256"] == v1["content_sha256"] and len(again["steps"]) == 2  # v1 unchanged
    summary = api.get(f"{base}", as_="tech.hz01.1").json
    assert (summary["published_version"], summary["draft_version"], summary["title"]) == (
        2, None, "EH-60 installation v2")


def test_a_draft_without_steps_cannot_be_published(api):
    template = new_template(api, steps=[]).json
    assert_problem(api.post(f"{BASE}/{template['id']}/versions/1/publish", as_="admin"), 422)


def test_templates_are_listed_by_code_and_filtered(api):
    heaters = api.get(f"{BASE}/?category=water_heater&page_size=50", as_="tech.hz01.1").json
    assert [t["code"] for t in heaters] == ["WH-INSTALL", "WH-MAINT", "WH-REPAIR"]
    installs = api.get(f"{BASE}/?job_type=install&page_size=50", as_="manager.hz01").json
    assert [t["code"] for t in installs] == ["WH-INSTALL", "WP-INSTALL", "WP-INSTALL-UF300"]
    assert all(t["published_version"] == 1 for t in installs)


def test_the_most_specific_published_template_applies(api, session):
    def applicable(sku, job_type="install"):
        return api.get(f"{BASE}/applicable", as_="manager.hz01",
                       query_string={"job_type": job_type, "product_sku": sku})

    assert applicable("WP-UF300").json["template_code"] == "WP-INSTALL-UF300"  # the model's own
    assert applicable("WP-RO500").json["template_code"] == "WP-INSTALL"  # the category's
    assert applicable("WH-EH60", "maintenance").json["template_code"] == "WH-MAINT"
    draft_only = new_template(api).json  # a model template that is only a draft does not apply yet
    assert applicable("WH-EH60").json["template_code"] == "WH-INSTALL"
    api.post(f"{BASE}/{draft_only['id']}/versions/1/publish", as_="admin")
    chosen = applicable("WH-EH60").json
    assert (chosen["template_code"], chosen["number"]) == ("WH-INSTALL-EH60-T", 1)
    assert [s["key"] for s in chosen["steps"]] == ["site_photo", "voltage"]
    assert_problem(applicable("NOPE"), 422, field="product_sku")


def test_a_scheduled_job_gets_the_model_template_over_the_category_template(api, session):
    sku = repair_unit(session).product.sku
    before = checklist(api, scheduled_job(api, session))
    assert (before["template_code"], before["version_number"]) == ("WP-REPAIR", 1)
    publish_template(api, session, steps=STEPS)
    after = checklist(api, scheduled_job(api, session))
    assert after["template_code"] == "TEST-REPAIR-MODEL"
    assert api.get(f"{BASE}/applicable", as_="admin",
                   query_string={"job_type": "repair", "product_sku": sku}).json["template_code"] == "TEST-REPAIR-MODEL"
