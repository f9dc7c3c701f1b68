"""Problems speak the caller's language when asked (staff routes keep English by default)."""

from __future__ import annotations

import uuid

from tests.helpers import assert_problem


def test_a_staff_route_answers_in_english_unless_the_client_asks_for_chinese(api):
    path = f"/api/v1/jobs/{uuid.uuid4()}"
    english = assert_problem(api.get(path, as_="admin"), 404, code="not-found")
    assert english["title"] == "Not found"
    chinese = assert_problem(api.get(path, as_="admin", headers={"Accept-Language": "zh-CN,zh;q=0.9"}), 404)
    assert chinese["title"] == "未找到" and chinese["code"] == "not-found"
    assert chinese["detail"] != english["detail"] or chinese["detail"].isascii()


def test_validation_messages_and_the_detail_are_translated(api):
    response = api.post("/api/v1/auth/token", json={}, headers={"Accept-Language": "zh-CN"})
    body = assert_problem(response, 422, code="validation-error", field="username")
    assert body["title"] == "请求校验失败"
    assert body["errors"]["username"] == ["缺少必填字段。"]
    assert body["detail"] == "以下字段无效：password, username"
    english = assert_problem(api.post("/api/v1/auth/token", json={}, headers={"Accept-Language": "en"}), 422)
    assert english["errors"]["username"] == ["Missing data for required field."]
    assert english["detail"] == "invalid fields: password, username"


def test_an_unknown_route_names_itself_in_chinese(api):
    body = assert_problem(api.get("/api/v1/nowhere", headers={"Accept-Language": "zh"}), 404)
    assert body["title"] == "未找到" and body["detail"] == "/api/v1/nowhere 不存在"
