"""Evidence uploads through HTTP: images only (decoded, not trusted by name), size limits as 413
problems, the same bytes are the same attachment, EXIF beside the server time, scoped reads."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime

import pytest
from PIL import ExifTags, Image

from dispatch import clock
from tests.api.jobs_builders import MONDAY
from tests.api.sop_builders import TECH, on_site_job, publish_template, put_step, upload
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
    stored = settings.upload_dir / body["stored_sha256"][:2] / body["stored_sha256"][2:4] / body["stored_sha256"]
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == body["stored_sha256"] != body["sha256"]
    assert not list(settings.upload_dir.rglob(body["sha256"]))  # the upload itself is not kept


def test_uploading_the_same_bytes_again_returns_the_same_attachment_with_200(api, settings):
    data = jpeg(camera="Idem potent")
    first = upload(api, data)
    second = upload(api, data, filename="retry.jpg")
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json["id"] == first.json["id"] and second.json["filename"] == "photo.jpg"
    colleague = upload(api, data, as_="tech.hz01.2")  # an upload is its uploader's: a record of their own
    assert colleague.status_code == 201 and colleague.json["id"] != first.json["id"]
    elsewhere = upload(api, data, as_="tech.hz02.1")  # another point too, with the same hash
    assert elsewhere.status_code == 201
    assert elsewhere.json["id"] != first.json["id"] and elsewhere.json["sha256"] == first.json["sha256"]
    assert len(list(settings.upload_dir.rglob(first.json["stored_sha256"]))) == 1  # one blob


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


def test_metadata_and_bytes_are_for_the_uploader_and_hq_until_attached_then_for_the_point(api, session):
    data = png(color=(1, 2, 3))
    attachment = upload(api, data, filename="x.png").json
    path = f"/api/v1/attachments/{attachment['id']}"
    assert api.get(path, as_=TECH).json["sha256"] == attachment["sha256"]
    assert api.get(path, as_="reviewer").status_code == 200
    for outsider in ("manager.hz01", "tech.hz01.2", "manager.hz02", "tech.hz02.1"):  # not yet attached
        assert_problem(api.get(path, as_=outsider), 404)
        assert_problem(api.get(f"{path}/content", as_=outsider), 404)
    content = api.get(f"{path}/content", as_="reviewer")
    assert content.status_code == 200
    assert (content.data, content.mimetype) == (data, "image/png")  # nothing to drop from this one
    assert content.headers["X-Content-Type-Options"] == "nosniff"
    assert content.headers["ETag"].strip('"') == attachment["stored_sha256"]
    cached = api.get(f"{path}/content", as_="reviewer", headers={"If-None-Match": content.headers["ETag"]})
    assert cached.status_code == 304

    publish_template(api, session)
    job = on_site_job(api, session)
    photo = upload(api, jpeg(camera="Attach me")).json
    photo_path = f"/api/v1/attachments/{photo['id']}"
    assert_problem(api.get(photo_path, as_="manager.hz01"), 404)
    # a colleague cannot use it as evidence either (it does not exist for them)
    assert_problem(put_step(api, job, "photo_before", None, [photo["id"]], as_="tech.hz01.2"), 404)
    assert put_step(api, job, "photo_before", None, [photo["id"]]).status_code == 200
    assert api.get(photo_path, as_="manager.hz01").status_code == 200  # attached: the point's evidence
    assert api.get(f"{photo_path}/content", as_="tech.hz01.2").status_code == 200
    assert_problem(api.get(photo_path, as_="manager.hz02"), 404)


def test_a_colleagues_unattached_upload_cannot_be_attached_as_evidence(api, session):
    publish_template(api, session)
    job = on_site_job(api, session)
    theirs = upload(api, as_="tech.hz01.2").json["id"]
    body = assert_problem(put_step(api, job, "photo_before", None, [theirs]), 422, field="evidence.0")
    assert theirs in body["errors"]["evidence.0"][0]


def _exif(data: bytes):
    with Image.open(io.BytesIO(data)) as image:
        return image.getexif(), image.convert("RGB").tobytes(), dict(image.info)


@pytest.mark.parametrize("kind", ["jpeg", "png", "webp"])
def test_the_stored_copy_drops_gps_and_personal_exif_and_keeps_the_pixels(api, kind):
    """The row keeps what the server read (time, GPS, camera) as evidence metadata; the bytes
    anyone can download no longer carry it. The pixels are untouched (no re-encoding)."""
    data = photo_with_metadata(kind)
    response = upload(api, data, filename=f"site.{kind}")
    assert response.status_code == 201, response.json
    body = response.json
    assert body["gps_lat"] == pytest.approx(30.2611, abs=1e-5) and body["camera"] == "Xiaomi 13T"
    assert body["exif_taken_local"] == "2027-03-01T07:58:10"
    served = api.get(f"/api/v1/attachments/{body['id']}/content", as_="reviewer")
    assert served.status_code == 200 and len(served.data) < len(data)
    original_exif, original_pixels, _ = _exif(data)
    assert original_exif.get_ifd(ExifTags.IFD.GPSInfo)  # the fixture did carry GPS
    exif, pixels, info = _exif(served.data)
    assert not exif.get_ifd(ExifTags.IFD.GPSInfo) and not exif.get_ifd(ExifTags.IFD.Exif)
    assert dict(exif) == {ExifTags.Base.Orientation: 6}  # the photo still shows the right way up
    assert pixels == original_pixels
    assert not {"comment", "xmp", "XML:com.adobe.xmp", "Author"} & set(info)
    if kind == "jpeg":
        scan = data[data.index(b"\xff\xda"):data.index(b"trailing preview")]
        assert served.data.endswith(scan)  # the compressed image data byte for byte; nothing after it


def photo_with_metadata(kind: str) -> bytes:
    """A photo carrying GPS, capture time, camera, orientation and text metadata."""
    base = jpeg(size=(48, 32), taken=datetime(2027, 3, 1, 7, 58, 10), offset="+08:00", gps=(30.2611, 120.1302),
                camera="Xiaomi 13T", noisy=True)
    with Image.open(io.BytesIO(base)) as image:
        exif = image.getexif()
        exif[ExifTags.Base.Orientation] = 6
        exif[ExifTags.Base.Artist] = "Wang Wei"
        pixels = image.convert("RGB")
        pixels.load()
    if kind == "jpeg":
        out = io.BytesIO()
        pixels.save(out, "JPEG", quality=85, exif=exif, comment=b"home of Wang Wei")
        jpeg_bytes = out.getvalue()
        xmp = b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta><photoshop:City>Hangzhou</photoshop:City></x:xmpmeta>"
        app1 = b"\xff\xe1" + (len(xmp) + 2).to_bytes(2, "big") + xmp
        return jpeg_bytes[:2] + app1 + jpeg_bytes[2:] + b"trailing preview with EXIF"
    if kind == "png":
        from PIL import PngImagePlugin

        text = PngImagePlugin.PngInfo()
        text.add_text("Author", "Wang Wei")
        text.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>Hangzhou</x:xmpmeta>")
        out = io.BytesIO()
        pixels.save(out, "PNG", exif=exif, pnginfo=text)
        return out.getvalue()
    out = io.BytesIO()
    pixels.save(out, "WEBP", lossless=True, exif=exif, xmp=b"<x:xmpmeta>Hangzhou</x:xmpmeta>")
    return out.getvalue()
