"""Evidence without a database: decoding proves an image, EXIF time and GPS are read, the local
store is content-addressed."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from dispatch.errors import ValidationFailed
from dispatch.sop.attachments import inspect_image
from dispatch.sop.storage import LocalEvidenceStore
from tests.unit.sop.evidence_images import jpeg, png, png_header_claiming

SHANGHAI = ZoneInfo("Asia/Shanghai")


def rejected(data: bytes, **kw) -> str:
    with pytest.raises(ValidationFailed) as caught:
        inspect_image(data, tz=SHANGHAI, **kw)
    assert caught.value.field == "file"
    return caught.value.detail


def test_a_jpeg_with_exif_gives_capture_time_with_its_offset_gps_and_camera():
    data = jpeg(size=(80, 60), taken=datetime(2026, 11, 23, 10, 15, 30), offset="+08:00",
                gps=(30.2593, -120.1354), gps_time=datetime(2026, 11, 23, 2, 15, 29), camera="Xiaomi 13T")
    facts = inspect_image(data, tz=UTC)
    assert (facts.media_type, facts.width, facts.height) == ("image/jpeg", 80, 60)
    assert facts.exif_taken_local == "2026-11-23T10:15:30"
    assert facts.exif_offset == "+08:00"
    assert facts.exif_taken_at == datetime(2026, 11, 23, 2, 15, 30, tzinfo=UTC)
    assert facts.gps_lat == pytest.approx(30.2593, abs=1e-5)
    assert facts.gps_lon == pytest.approx(-120.1354, abs=1e-5)  # W is negative
    assert facts.gps_at == datetime(2026, 11, 23, 2, 15, 29, tzinfo=UTC)
    assert facts.camera == "Xiaomi 13T"


def test_an_exif_time_without_offset_is_read_in_the_networks_time_zone():
    facts = inspect_image(jpeg(taken=datetime(2026, 11, 23, 10, 0)), tz=SHANGHAI)
    assert facts.exif_offset is None
    assert facts.exif_taken_at == datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def test_an_image_without_exif_has_no_capture_facts():
    facts = inspect_image(png(), tz=SHANGHAI)
    assert facts.media_type == "image/png"
    assert (facts.exif_taken_at, facts.gps_lat, facts.gps_at, facts.camera) == (None, None, None, None)


def test_text_renamed_to_jpg_is_not_an_image():
    assert "not an image" in rejected(b"%PDF-1.7 totally a photo, trust me\n" * 20)


def test_formats_outside_the_allow_list_are_refused_even_when_pillow_reads_them():
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "BMP")
    assert "not an image" in rejected(buffer.getvalue())


def test_a_truncated_jpeg_is_refused_as_damaged():
    data = jpeg(size=(200, 150), quality=95, noisy=True)
    assert "damaged" in rejected(data[: len(data) // 2])


def test_an_image_over_the_pixel_cap_is_refused_before_it_is_decoded():
    assert "pixels" in rejected(png_header_claiming(20_000, 20_000))  # 400 MP: Pillow's own bomb limit too
    assert "pixels" in rejected(png_header_claiming(9_000, 7_000))  # 63 MP: over our 50 MP cap
    assert "pixels" in rejected(png(size=(100, 100)), max_pixels=9_999)


def test_the_local_store_is_content_addressed_and_writing_twice_is_harmless(tmp_path):
    store = LocalEvidenceStore(tmp_path)
    data = png()
    sha = hashlib.sha256(data).hexdigest()
    store.put(sha, data)
    store.put(sha, data)
    assert store.path(sha) == tmp_path / sha[:2] / sha[2:4] / sha
    with store.open(sha) as fh:
        assert fh.read() == data
    assert [p.name for p in store.path(sha).parent.iterdir()] == [sha]  # no temporary files left behind
    with pytest.raises(ValueError):
        store.path("../../etc/passwd")
    with pytest.raises(FileNotFoundError):
        store.open("0" * 64)
