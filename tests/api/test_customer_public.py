"""Public look-ups: the unit behind a QR code, the technician behind a badge, the price list."""

from __future__ import annotations

from sqlalchemy import select

from dispatch.customers import qr
from dispatch.network.models import ServicePoint, Technician
from tests.customer_support import cust, customer_app, demo_units, qr_sig  # noqa: F401  (fixtures)
from tests.helpers import assert_problem


def test_a_genuine_code_shows_the_model_and_warranty_but_no_person(cust, session, settings):
    owned, new = demo_units(session)
    hz = session.scalar(select(ServicePoint).where(ServicePoint.code == "HZ01"))
    body = cust.get(f"/api/v1/public/units/{owned.serial}?sig={qr_sig(settings, owned.serial)}"
                    f"&lat={hz.lat}&lon={hz.lon}").json
    assert body["genuine"] and body["activated"] and body["warranty_until"] and body["sku"] == "WP-RO500"
    assert body["authorised_point"]["code"] == "HZ01"
    assert not {"customer", "phone", "name", "address"} & set(body)
    fresh = cust.get(f"/api/v1/public/units/{new.serial}?sig={qr_sig(settings, new.serial)}")
    assert fresh.status_code == 200 and fresh.json["activated"] is False and fresh.json["warranty_until"] is None
    assert fresh.headers["Content-Language"] == "zh-CN"


def test_forged_signatures_and_guessed_serials_look_alike(cust, session, settings):
    owned, _ = demo_units(session)
    forged = cust.get(f"/api/v1/public/units/{owned.serial}?sig=AAAAAAAAAAAAAAAAAAAA")
    missing_sig = cust.get(f"/api/v1/public/units/{owned.serial}")
    guessed = "RO20259999999"
    guessed_signed_wrong = cust.get(f"/api/v1/public/units/{guessed}?sig=AAAAAAAAAAAAAAAAAAAA")
    # even a correctly signed serial that is not registered answers the same
    unregistered = cust.get(f"/api/v1/public/units/{guessed}?sig={qr_sig(settings, guessed)}")
    bodies = [assert_problem(r, 404, code="not-found") for r in (forged, missing_sig, guessed_signed_wrong,
                                                                   unregistered)]
    assert {b["detail"] for b in bodies} == {"该二维码不属于正品设备"}
    assert_problem(cust.get("/api/v1/public/units/not-a-serial?sig=x"), 404)


def test_the_badge_check_answers_who_and_for_whom_or_nothing(cust, session, settings):
    tech = session.scalar(select(Technician).join(ServicePoint).where(ServicePoint.code == "HZ01")
                          .order_by(Technician.badge).limit(1))
    body = cust.get(f"/api/v1/public/technicians/verify?badge={tech.badge}").json
    assert body["authorised"] is True and body["name"] == tech.name and body["service_point"]["code"] == "HZ01"
    assert body["photo_url"] and body["certificates"] and "phone" not in body
    signed = cust.get(f"/api/v1/public/technicians/verify?badge={tech.badge}"
                      f"&sig={qr.badge_signature(settings.qr_key, tech.badge)}").json
    assert signed["authorised"] is True
    nothing = {"authorised": False, "name": None, "badge": None, "photo_url": None, "service_point": None,
               "certificates": []}
    assert cust.get(f"/api/v1/public/technicians/verify?badge={tech.badge}&sig=WRONG").json == nothing
    assert cust.get("/api/v1/public/technicians/verify?badge=TNOBODY999").json == nothing
    suspended = session.scalar(select(Technician).join(ServicePoint).where(ServicePoint.code == "SZ03").limit(1))
    assert cust.get(f"/api/v1/public/technicians/verify?badge={suspended.badge}").json == nothing


def test_the_price_list_shows_fitting_parts_labour_and_warranty(cust):
    body = cust.get("/api/v1/public/products/WP-RO500/price-list").json
    assert body["parts"] and all(p["list_price"] for p in body["parts"])
    assert {rate["job_type"] for rate in body["labour"]} >= {"repair"}
    assert body["warranty"]["months"] == 24
    assert_problem(cust.get("/api/v1/public/products/NO-SUCH/price-list"), 404)


def test_public_look_ups_are_rate_limited_per_address(cust, settings):
    limit = settings.public_rate_limit[0]
    statuses = [cust.get("/api/v1/public/products/WP-RO500/price-list").status_code for _ in range(limit + 1)]
    assert statuses[:limit] == [200] * limit and statuses[-1] == 429
