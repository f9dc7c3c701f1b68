"""The customer's own units and visits: self-activation, fault report, tracking, cancel and
reschedule within the point's rules, the bill, rating, complaints; and probing another's ids."""

from __future__ import annotations

import base64
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from dispatch.clock import utcnow
from dispatch.jobs.models import Job, JobStatus
from dispatch.network.models import Region, ServicePoint
from tests.customer_support import (  # noqa: F401  (fixtures)
    cust,
    customer_app,
    demo_units,
    other_customer_unit,
    qr_sig,
)
from tests.dates import SUITE_TODAY, local, next_weekday
from tests.helpers import assert_problem
from tests.integration.care_support import care_hooks_only, drive  # noqa: F401  (fixture)

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32).decode()


def _activation(session, settings, serial: str, **overrides) -> dict:
    hz = session.scalar(select(ServicePoint).where(ServicePoint.code == "HZ01"))
    body = {"serial": serial, "sig": qr_sig(settings, serial), "purchased_on": str(SUITE_TODAY - timedelta(days=3)),
            "address": "8 Lakeside Road", "location": {"lat": hz.lat, "lon": hz.lon}, "invoice_photo": PNG}
    return body | overrides


def _sold_far_away(session, unit) -> None:
    """Pretend the unit was sold in the district farthest from Hangzhou's point."""
    hz = session.scalar(select(ServicePoint).where(ServicePoint.code == "HZ01"))
    districts = session.scalars(select(Region).where(Region.boundary.is_not(None))).all()
    far = max(districts, key=lambda r: abs(r.boundary["coordinates"][0][0][1] - hz.lat)
              + abs(r.boundary["coordinates"][0][0][0] - hz.lon))
    unit.sold_region_id = far.id
    session.commit()


class TestSelfActivation:
    def test_a_customer_activates_the_unit_they_scanned_once(self, cust, session, settings):
        token = cust.sign_in()
        _, new = demo_units(session)
        first = cust.post("/api/v1/customer/units/activation", token, json=_activation(session, settings, new.serial))
        assert first.status_code == 201, first.json
        assert first.json["warranty_status"] == "in_warranty" and first.json["flags"] == []
        assert new.serial in {u["serial"] for u in cust.get("/api/v1/customer/units", token).json}
        again = cust.post("/api/v1/customer/units/activation", token, json=_activation(session, settings, new.serial))
        assert assert_problem(again, 409)["detail"].startswith("该设备的保修卡已激活")

    def test_a_forged_code_cannot_activate(self, cust, session, settings):
        token = cust.sign_in()
        _, new = demo_units(session)
        body = _activation(session, settings, new.serial, sig="AAAAAAAAAAAAAAAAAAAA")
        assert_problem(cust.post("/api/v1/customer/units/activation", token, json=body), 404)

    def test_far_and_late_activations_are_flagged_for_hq_not_refused(self, cust, api, session, settings):
        token = cust.sign_in()
        _, new = demo_units(session)
        _sold_far_away(session, new)
        late = str(SUITE_TODAY - timedelta(days=100))
        body = _activation(session, settings, new.serial, purchased_on=late)
        answer = cust.post("/api/v1/customer/units/activation", token, json=body)
        assert answer.status_code == 201 and set(answer.json["flags"]) == {"far_from_sale_region", "late"}
        review = api.get("/api/v1/self-activations", as_="admin").json
        [row] = [r for r in review if r["unit_id"] == str(new.id)]
        assert set(row["flags"]) == {"far_from_sale_region", "late"} and row["distance_km"] > 100
        done = api.post(f"/api/v1/self-activations/{row['id']}/review", as_="admin", json={"note": "invoice checked"})
        assert done.status_code == 200 and done.json["reviewed_at"]
        assert_problem(api.get("/api/v1/self-activations", as_="manager.hz01"), 403)
        assert_problem(api.post(f"/api/v1/self-activations/{row['id']}/review", as_="manager.hz01",
                                json={"note": "x"}), 403)
        assert_problem(api.post(f"/api/v1/self-activations/{row['id']}/review", as_="admin", json={"note": "x"}), 409)


class TestVisits:
    def _report(self, cust, session, token, **extra):
        owned, _ = demo_units(session)
        day = next_weekday(2, SUITE_TODAY + timedelta(days=1))
        body = {"unit_id": str(owned.id), "description": "漏水 / leaking under the sink",
                "window_start": local(day, 9).isoformat(), "window_end": local(day, 12).isoformat()} | extra
        return cust.post("/api/v1/customer/jobs", token, json=body)

    def test_a_fault_report_is_dispatched_like_any_intake_and_tracked(self, cust, api, session):
        token = cust.sign_in()
        answer = self._report(cust, session, token)
        assert answer.status_code == 201, answer.json
        visit = answer.json
        assert visit["status"] == "dispatched" and visit["service_point"]["code"] == "HZ01" and visit["can_cancel"]
        staff = api.get(f"/api/v1/jobs/{visit['id']}", as_="manager.hz01")
        assert staff.status_code == 200 and staff.json["type"] == "repair"
        mine = cust.get("/api/v1/customer/jobs", token).json
        assert [v["id"] for v in mine] == [visit["id"]]

    def test_tracking_shows_the_technician_and_eta_window_and_the_way(self, cust, session, uow_factory,
                                                                     care_hooks_only):
        token = cust.sign_in()
        visit = self._report(cust, session, token).json
        start = local(next_weekday(2, SUITE_TODAY + timedelta(days=1)), 10)
        drive(uow_factory, uuid.UUID(visit["id"]), to=JobStatus.SCHEDULED, start=start)
        tracked = cust.get(f"/api/v1/customer/jobs/{visit['id']}", token).json
        assert tracked["status"] == "scheduled" and tracked["technician"]["badge"]
        assert tracked["technician"]["photo_url"] and tracked["eta_start"] < tracked["eta_end"]
        assert tracked["on_the_way"] is False

    def test_cancel_and_reschedule_follow_the_points_rules(self, cust, session, uow_factory, care_hooks_only):
        token = cust.sign_in()
        visit = self._report(cust, session, token).json
        day = next_weekday(3, SUITE_TODAY + timedelta(days=2))
        drive(uow_factory, uuid.UUID(visit["id"]), to=JobStatus.SCHEDULED, start=local(day, 10))
        moved = cust.post(f"/api/v1/customer/jobs/{visit['id']}/reschedule", token,
                          json={"window_start": local(day, 14).isoformat(), "window_end": local(day, 17).isoformat()})
        assert moved.status_code == 200, moved.json
        assert moved.json["status"] == "dispatched" and moved.json["reschedules_left"] == 1
        job = session.get(Job, uuid.UUID(visit["id"]))
        session.refresh(job)
        assert job.window_start == local(day, 14)
        # inside the notice period the customer is sent to the point
        drive(uow_factory, job.id, to=JobStatus.SCHEDULED, start=local(day, 15))
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr("dispatch.customers.visits.utcnow", lambda: local(day, 14))
            late = cust.post(f"/api/v1/customer/jobs/{visit['id']}/cancellation", token, json={"reason": "away"})
        body = assert_problem(late, 422, code="rule-violation")
        assert "2 小时" in body["detail"]
        ok = cust.post(f"/api/v1/customer/jobs/{visit['id']}/cancellation", token, json={"reason": "fixed it myself"})
        assert ok.status_code == 200 and ok.json["status"] == "cancelled"
        assert_problem(cust.post(f"/api/v1/customer/jobs/{visit['id']}/cancellation", token, json={}), 409)

    def test_the_bill_is_confirmed_signed_and_the_visit_rated(self, cust, session, uow_factory, care_hooks_only):
        token = cust.sign_in()
        visit = self._report(cust, session, token).json
        assert_problem(cust.get(f"/api/v1/customer/jobs/{visit['id']}/bill", token), 409)
        drive(uow_factory, uuid.UUID(visit["id"]), start=local(next_weekday(2, SUITE_TODAY + timedelta(days=1)), 10))
        bill = cust.get(f"/api/v1/customer/jobs/{visit['id']}/bill", token).json
        assert bill["lines"] and all("list_unit_price" in line for line in bill["lines"])
        assert bill["signed_on_site"] is False and bill["confirmed_at"] is None
        path = f"/api/v1/customer/jobs/{visit['id']}/bill/confirmation"
        assert_problem(cust.post(path, token, json={"total": bill["total"]}), 422, field="signature")
        assert_problem(cust.post(path, token, json={"total": "99999.00", "signer_name": "Li", "signature": PNG}), 409)
        done = cust.post(path, token, json={"total": bill["total"], "signer_name": "李雷", "signature": PNG})
        assert done.status_code == 201 and done.json["confirmed_at"]
        assert_problem(cust.post(path, token, json={"total": bill["total"], "signer_name": "Li", "signature": PNG}),
                       409)
        rated = cust.post(f"/api/v1/customer/jobs/{visit['id']}/rating", token, json={"score": 5, "comment": "好"})
        assert rated.status_code == 201 and rated.json["score"] == 5
        assert_problem(cust.post(f"/api/v1/customer/jobs/{visit['id']}/rating", token, json={"score": 4}), 409)

    def test_complaints_are_filed_and_followed_from_the_account(self, cust, api, session):
        token = cust.sign_in()
        visit = self._report(cust, session, token).json
        filed = cust.post("/api/v1/customer/complaints", token,
                          json={"category": "after_sales", "summary": "nobody called", "job_id": visit["id"]})
        assert filed.status_code == 201, filed.json
        assert filed.json["service_point_id"] is not None
        assert [c["id"] for c in cust.get("/api/v1/customer/complaints", token).json] == [filed.json["id"]]
        assert cust.get(f"/api/v1/customer/complaints/{filed.json['id']}", token).status_code == 200
        staff = api.get(f"/api/v1/complaints/{filed.json['id']}", as_="manager.hz01")
        assert staff.status_code == 200


class TestProbing:
    """A customer probing another customer's ids gets exactly what a missing id gets."""

    def test_another_customers_job_unit_and_complaint_answer_404(self, cust, api, session, settings):
        token = cust.sign_in()
        theirs = other_customer_unit(session)
        job = session.scalar(select(Job).where(Job.customer_id == theirs.customer_id).limit(1))
        assert job is not None
        missing = str(uuid.uuid4())
        for path in ("/api/v1/customer/jobs/{}", "/api/v1/customer/jobs/{}/bill",
                     "/api/v1/customer/complaints/{}"):
            foreign = cust.get(path.format(job.id), token)
            nobody = cust.get(path.format(missing), token)
            assert foreign.status_code == nobody.status_code == 404, path
            assert foreign.json["title"] == nobody.json["title"]
        for path, body in (("/api/v1/customer/jobs/{}/cancellation", {}),
                           ("/api/v1/customer/jobs/{}/rating", {"score": 5}),
                           ("/api/v1/customer/jobs/{}/reschedule",
                            {"window_start": (utcnow() + timedelta(days=3)).isoformat(),
                             "window_end": (utcnow() + timedelta(days=3, hours=2)).isoformat()})):
            assert cust.post(path.format(job.id), token, json=body).status_code == 404, path
            assert cust.post(path.format(missing), token, json=body).status_code == 404, path
        report = cust.post("/api/v1/customer/jobs", token, json={"unit_id": str(theirs.id), "description": "x"})
        assert_problem(report, 404)
        complaint = cust.post("/api/v1/customer/complaints", token,
                              json={"category": "after_sales", "summary": "x", "job_id": str(job.id)})
        assert_problem(complaint, 404)
