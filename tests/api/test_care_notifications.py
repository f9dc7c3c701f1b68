"""The outbox through HTTP: failed messages stay visible to HQ and their point, and can be retried."""

from __future__ import annotations

from sqlalchemy import select

from dispatch.care import notifications
from dispatch.care.models import Channel, NotificationStatus
from dispatch.network.models import ServicePoint
from tests.helpers import assert_problem


def _message(session, point_code: str, status: NotificationStatus, template: str = "maintenance_due"):
    point = session.scalar(select(ServicePoint).where(ServicePoint.code == point_code))
    message = notifications.queue(session, channel=Channel.SMS, recipient="13800001111", template=template,
                                  payload={"reference": f"J-{point_code}"}, service_point_id=point.id)
    message.status, message.attempts, message.last_error = status, 6, "SendError: gateway timeout"
    session.commit()
    return message


def test_failed_messages_are_listed_for_hq_and_for_their_own_point_only(api, session):
    hz01 = _message(session, "HZ01", NotificationStatus.FAILED)
    nb01 = _message(session, "NB01", NotificationStatus.FAILED)
    _message(session, "HZ01", NotificationStatus.SENT)
    hq = api.get("/api/v1/notifications/?status=failed", as_="admin")
    assert hq.status_code == 200
    assert {m["id"] for m in hq.json} >= {str(hz01.id), str(nb01.id)}
    assert all(m["status"] == "failed" and m["last_error"] for m in hq.json)
    own = api.get("/api/v1/notifications/?status=failed", as_="manager.hz01").json
    assert [m["id"] for m in own] == [str(hz01.id)]
    assert api.get("/api/v1/notifications/?status=failed", as_="reviewer").status_code == 200
    assert_problem(api.get("/api/v1/notifications/", as_="tech.hz01.1"), 403)
    assert_problem(api.get("/api/v1/notifications/?status=lost", as_="admin"), 422, field="status")


def test_a_failed_message_is_retried_on_request_and_only_a_failed_one(api, session):
    failed = _message(session, "HZ01", NotificationStatus.FAILED)
    sent = _message(session, "HZ01", NotificationStatus.SENT)
    assert_problem(api.post(f"/api/v1/notifications/{failed.id}/retry", as_="manager.nb01"), 404)
    retried = api.post(f"/api/v1/notifications/{failed.id}/retry", as_="manager.hz01")
    assert retried.status_code == 200
    assert retried.json["status"] == "pending" and retried.json["attempts"] == 0
    assert_problem(api.post(f"/api/v1/notifications/{sent.id}/retry", as_="admin"), 409)
    assert_problem(api.post(f"/api/v1/notifications/{failed.id}/retry", as_="reviewer"), 403)
