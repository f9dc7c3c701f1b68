"""Evidence uploads through HTTP: images only (decoded, not trusted by name), size limits as 413
problems, the same bytes are the same attachment, EXIF beside the server time, scoped reads."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime

import pytest

from dispatch import clock
from tests.api.jobs_builders import MONDAY
from tests.api.sop_builders import TECH, upload
from tests.helpers import assert_problem
from tests.unit.sop.evidence_images import jpeg, png, png_header_claiming

MAX_UPLOAD = 40_000
MAX_REQUEST = 120_000


@pytest.fixture
def settings(base_settings, tmp_path):
    """Small limits so the size tests stay small."""
    return base_settings.with_(upload_dir=tmp_path / "uploads", max_upload_bytes=MAX_UPLOAD,
                               max_request_bytes=MAX_REQUEST)


@pytest.fixture(autouse=True)
def monday():
    with clock.frozen(MONDAY):
        yield MONDAY


def test_an_image_upload_keeps_exif_time_and_gps_beside_the_server_receive_time(api, settings):
    data = jpeg(size=(120, 90), taken=datetime(2027, 3, 1, 7, 58, 10), offset="+08:00", gps=(30.2611, 120.1302),
                camera="Xiaomi 13T")
    response = upload(api, data, filename="../../etc/site survey.jpg")
    assert response.status_code == 201, response.json
    body = response.json
    assert response.headers["Location"].endswith(f"/api/v1/attachments/{body['id']}")
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert (body["media_type"], body["width"], body["height"], body["size_bytes"]) == (
        "image/jpeg", 120, 90, len(data))
    assert datetime.fromisoformat(body["received_at"]) == MONDAY
    assert datetime.fromisoformat(body["exif_taken_at"]) == datetime(2027, 2, 28, 23, 58, 10, tzinfo=UTC)
    assert (body["exif_taken_local"], body["exif_offset"]) == ("2027-03-01T07:58:10", "+08:00")
    assert body["gps_lat"] == pytest.approx(30.2611, abs=1e-5) and body["gps_lon"] == pytest.approx(120.1302, abs=1e-5)
    assert body["camera"] == "Xiaomi 13T"
    assert body["filename"] == "site survey.jpg"  # no path from the client survives
    stored = settings.upload_dir / body["sha256"][:2] / body["sha256"][2:4] / body["sha256"]
    assert stored.read_bytes() == data


def test_uploading_the_same_bytes_again_returns_the_same_attachment_with_200(api, settings):
    data = jpeg(camera="Idem potent")
    first = upload(api, data)
    second = upload(api, data, filename="retry.jpg")
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json["id"] == first.json["id"] and second.json["filename"] == "photo.jpg"
    colleague = upload(api, data, as_="tech.hz01.2")  # same point: same attachment
    assert (colleague.status_code, colleague.json["id"]) == (200, first.json["id"])
    elsewhere = upload(api, data, as_="tech.hz02.1")  # another point gets its own record of the same hash
    assert elsewhere.status_code == 201
    assert elsewhere.json["id"] != first.json["id"] and elsewhere.json["sha256"] == first.json["sha256"]
    assert len(list(settings.upload_dir.rglob(first.json["sha256"]))) == 1  # one blob


def test_a_non_image_renamed_jpg_is_a_422_naming_the_file_field(api):
    response = upload(api, b"MZ\x90\x00 this is not a photo at all" * 10, filename="holiday.jpg")
    body = assert_problem(response, 422, field="file")
    assert "not an image" in body["errors"]["file"][0]
    assert_problem(upload(api, b"", filename="empty.jpg"), 422, field="file")
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    assert_problem(upload(api, svg, filename="x.svg"), 422, field="file")


def test_a_decompression_bomb_is_refused_from_its_header(api):
    body = assert_problem(upload(api, png_header_claiming(12_000, 12_000), filename="bomb.png"), 422, field="file")
    assert "pixels" in body["errors"]["file"][0]


def test_a_missing_file_field_is_a_422_naming_it(api):
    response = api.post("/api/v1/attachments/", as_=TECH, data={"photo": (io.BytesIO(png()), "x.png")},
                        content_type="multipart/form-data")
    assert_problem(response, 422, field="file")


def test_a_file_over_the_upload_limit_is_a_413_problem(api):
    big = jpeg(size=(300, 240), noisy=True, quality=90)
    assert MAX_UPLOAD < len(big) < MAX_REQUEST
    body = assert_problem(upload(api, big, filename="big.jpg"), 413, code="payload-too-large")
    assert body["max_bytes"] == MAX_UPLOAD


def test_a_request_body_over_the_request_limit_is_a_413_problem(api):
    response = upload(api, b"\xff" * (MAX_REQUEST + 1), filename="huge.jpg")
    assert_problem(response, 413)


def test_metadata_and_bytes_are_for_the_uploaders_point_and_hq(api):
    data = png(color=(1, 2, 3))
    attachment = upload(api, data, filename="x.png").json
    path = f"/api/v1/attachments/{attachment['id']}"
    assert api.get(path, as_="manager.hz01").json["sha256"] == attachment["sha256"]
    assert api.get(path, as_="reviewer").status_code == 200
    assert_problem(api.get(path, as_="manager.hz02"), 404)
    assert_problem(api.get(f"{path}/content", as_="tech.hz02.1"), 404)
    content = api.get(f"{path}/content", as_="reviewer")
    assert content.status_code == 200
    assert (content.data, content.mimetype) == (data, "image/png")
    assert content.headers["X-Content-Type-Options"] == "nosniff"
    assert content.headers["ETag"].strip('"') == attachment["sha256"]
    cached = api.get(f"{path}/content", as_="reviewer", headers={"If-None-Match": content.headers["ETag"]})
    assert cached.status_code == 304
