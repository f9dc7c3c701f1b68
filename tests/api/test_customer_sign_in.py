"""Customer sign-in by SMS code: the happy path, the token's reach, and the abuse cases."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from dispatch import clock
from dispatch.care.models import Notification
from dispatch.customers.models import OtpCode
from dispatch.customers.sessions import CODE_TTL, MAX_ATTEMPTS
from tests.customer_support import CODE, DEMO_PHONE, cust, customer_app  # noqa: F401  (fixtures)
from tests.helpers import assert_problem


def test_a_customer_signs_in_with_a_code_texted_in_chinese(cust, session):
    response = cust.request_code(DEMO_PHONE)
    assert response.status_code == 202 and response.json["expires_in"] == int(CODE_TTL.total_seconds())
    [sms] = [m for m in cust.deliver() if m.recipient == DEMO_PHONE]
    assert "登录验证码" in sms.body
    code = CODE.search(sms.body)[1]
    answer = cust.client.post("/api/v1/customer/session", json={"phone": DEMO_PHONE, "code": code})
    assert answer.status_code == 200 and answer.json["new_customer"] is False
    me = cust.get("/api/v1/customer/me", answer.json["access_token"])
    assert me.status_code == 200 and me.json["phone"] == DEMO_PHONE
    stored = session.scalar(select(OtpCode).where(OtpCode.phone == DEMO_PHONE))
    assert code not in stored.code_hash and stored.consumed_at is not None
    message = session.scalar(select(Notification).where(Notification.template == "sign_in_code"))
    session.refresh(message)
    assert message.payload["code"] == "******"  # the outbox forgets the code once the SMS is final


def test_a_code_is_good_once(cust):
    cust.request_code(DEMO_PHONE)
    code = cust.code_sent_to(DEMO_PHONE)
    body = {"phone": DEMO_PHONE, "code": code}
    assert cust.client.post("/api/v1/customer/session", json=body).status_code == 200
    assert_problem(cust.client.post("/api/v1/customer/session", json=body), 401, code="unauthorized")


def test_a_code_dies_after_its_lifetime_and_when_a_newer_one_is_sent(cust):
    cust.request_code(DEMO_PHONE)
    first = cust.code_sent_to(DEMO_PHONE)
    cust.request_code(DEMO_PHONE)
    second = cust.code_sent_to(DEMO_PHONE)
    if first != second:
        assert_problem(cust.client.post("/api/v1/customer/session", json={"phone": DEMO_PHONE, "code": first}), 401)
    with clock.frozen(clock.utcnow() + CODE_TTL + timedelta(seconds=1)):
        assert_problem(cust.client.post("/api/v1/customer/session", json={"phone": DEMO_PHONE, "code": second}), 401)


def test_brute_forcing_a_code_burns_it_after_five_wrong_guesses(cust):
    cust.request_code(DEMO_PHONE)
    code = cust.code_sent_to(DEMO_PHONE)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(MAX_ATTEMPTS):
        assert_problem(cust.client.post("/api/v1/customer/session", json={"phone": DEMO_PHONE, "code": wrong}), 401)
    # even the right code no longer works: the guesses killed it
    assert_problem(cust.client.post("/api/v1/customer/session", json={"phone": DEMO_PHONE, "code": code}), 401)


def test_wrong_codes_from_one_address_are_rate_limited_across_numbers(cust, settings):
    limit = settings.otp_verify_rate_limit[0]
    answers = [cust.client.post("/api/v1/customer/session", json={"phone": f"1390000{n:04d}", "code": "000000"})
               for n in range(limit + 1)]
    assert [a.status_code for a in answers[:limit]] == [401] * limit
    body = assert_problem(answers[-1], 429, code="rate-limited")
    assert answers[-1].headers["Retry-After"] and body["title"] == "请求过于频繁"


def test_codes_per_number_and_per_address_are_rate_limited(cust, settings):
    per_number = settings.otp_phone_rate_limit[0]
    answers = [cust.request_code("13911112222") for _ in range(per_number + 1)]
    assert [a.status_code for a in answers[:per_number]] == [202] * per_number
    assert_problem(answers[-1], 429)
    per_address = settings.otp_address_rate_limit[0]
    statuses = [cust.request_code(f"1380000{n:04d}").status_code for n in range(per_address)]
    assert 429 in statuses


def test_an_unknown_number_gets_the_same_answer_and_becomes_a_customer_only_with_the_code(cust, session):
    phone = "13977776666"
    known, unknown = cust.request_code(DEMO_PHONE), cust.request_code(phone)
    assert known.status_code == unknown.status_code == 202 and known.json == unknown.json
    code = cust.code_sent_to(phone)
    answer = cust.client.post("/api/v1/customer/session", json={"phone": phone, "code": code},
                              headers={"Accept-Language": "en"})
    assert answer.status_code == 200 and answer.json["new_customer"] is True
    assert answer.json["customer"]["locale"] == "en"


def test_customer_and_staff_tokens_do_not_cross(cust, api):
    token = cust.sign_in()
    assert_problem(cust.get("/api/v1/jobs", token), 401)
    staff = api.token("admin")
    assert_problem(cust.get("/api/v1/customer/me", staff), 401)
    assert_problem(cust.get("/api/v1/customer/me"), 401)


def test_signing_out_ends_every_session(cust):
    token = cust.sign_in()
    assert cust.call("DELETE", "/api/v1/customer/me/sessions", token).status_code == 204
    body = assert_problem(cust.get("/api/v1/customer/me", token), 401)
    assert body["detail"] == "本次登录已失效，请重新登录"


def test_the_profile_keeps_a_language_and_errors_follow_it(cust):
    token = cust.sign_in()
    changed = cust.call("PATCH", "/api/v1/customer/me", token, json={"locale": "en", "name": "Li Lei"})
    assert changed.status_code == 200 and changed.json["locale"] == "en"
    body = assert_problem(cust.get("/api/v1/customer/jobs/00000000-0000-4000-8000-000000000000", token), 404)
    assert body["title"] == "Not found"
    assert cust.get("/api/v1/customer/me", token).headers["Content-Language"] == "en"
    cust.call("PATCH", "/api/v1/customer/me", token, json={"locale": None})
    body = assert_problem(cust.get("/api/v1/customer/jobs/00000000-0000-4000-8000-000000000000", token), 404)
    assert body["title"] == "未找到"


def test_the_demo_prints_how_to_sign_in_as_the_demo_customer_and_a_working_qr_link(customer_app, cust, capsys):
    from dispatch.cli import _print_customer_sign_in

    with customer_app.app_context():
        _print_customer_sign_in("127.0.0.1", 5000, customer_app.extensions["dispatch"].settings)
    printed = capsys.readouterr().out
    assert f'"phone":"{DEMO_PHONE}"' in printed and "/customer/otp" in printed and "/customer/session" in printed
    qr_url = next(word for word in printed.split() if "/public/units/" in word)
    assert cust.get(qr_url.removeprefix("http://127.0.0.1:5000")).json["genuine"] is True
