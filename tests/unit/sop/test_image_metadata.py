"""Lossless metadata stripping of evidence images: what is dropped, what is kept byte for byte."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from PIL import ExifTags, Image, PngImagePlugin

from dispatch.sop.image_metadata import UnreadableStructure, strip_metadata
from tests.unit.sop.evidence_images import jpeg

PERSONAL = dict(taken=datetime(2027, 3, 1, 7, 58, 10), gps=(30.2611, 120.1302), camera="Xiaomi 13T")


def read(data: bytes):
    with Image.open(io.BytesIO(data)) as image:
        return image.getexif(), image.convert("RGB").tobytes(), dict(image.info)


def resaved(fmt: str, **options) -> bytes:
    with Image.open(io.BytesIO(jpeg(size=(40, 24), noisy=True, **PERSONAL))) as image:
        exif = image.getexif()
        pixels = image.convert("RGB")
        pixels.load()
    out = io.BytesIO()
    pixels.save(out, fmt, exif=exif, **options)
    return out.getvalue()


@pytest.mark.parametrize("options", [{}, {"progressive": True}, {"progressive": True, "optimize": True}])
def test_a_jpeg_loses_exif_xmp_comments_and_trailers_and_keeps_its_scans(options):
    data = resaved("JPEG", quality=90, comment=b"Wang Wei", **options) + b"\x00appended preview"
    cleaned = strip_metadata(data, "image/jpeg")
    exif, pixels, info = read(cleaned)
    assert dict(exif) == {} and "comment" not in info
    assert pixels == read(data)[1]
    first_scan = data.index(b"\xff\xda")
    assert data[first_scan:data.rindex(b"\xff\xd9") + 2] in cleaned  # every scan, byte for byte
    assert cleaned.endswith(b"\xff\xd9")


def test_a_jpeg_with_restart_markers_and_an_icc_profile_keeps_both():
    with Image.open(io.BytesIO(jpeg(size=(64, 64), noisy=True, **PERSONAL))) as image:
        pixels = image.convert("RGB")
        pixels.load()
    out = io.BytesIO()
    icc = b"\x00" * 128  # Pillow stores any bytes given as the profile
    pixels.save(out, "JPEG", restart_marker_blocks=1, icc_profile=icc, exif=image.getexif())
    data = out.getvalue()
    assert b"\xff\xd0" in data
    cleaned = strip_metadata(data, "image/jpeg")
    exif, decoded, info = read(cleaned)
    assert dict(exif) == {} and info.get("icc_profile") == icc and decoded == read(data)[1]


def test_an_orientation_is_written_back_as_the_only_tag_and_upright_needs_none():
    data = jpeg(**PERSONAL)
    assert dict(read(strip_metadata(data, "image/jpeg", orientation=8))[0]) == {ExifTags.Base.Orientation: 8}
    assert b"Exif" not in strip_metadata(data, "image/jpeg", orientation=1)


def test_a_png_loses_exif_and_text_chunks():
    text = PngImagePlugin.PngInfo()
    text.add_text("Author", "Wang Wei")
    text.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta/>", zip=True)
    data = resaved("PNG", pnginfo=text)
    cleaned = strip_metadata(data, "image/png", orientation=3)
    exif, pixels, info = read(cleaned)
    assert dict(exif) == {ExifTags.Base.Orientation: 3} and "Author" not in info and "XML:com.adobe.xmp" not in info
    assert pixels == read(data)[1]


def test_a_webp_loses_exif_and_xmp_chunks_and_their_header_flags():
    data = resaved("WEBP", lossless=True, xmp=b"<x:xmpmeta/>")
    cleaned = strip_metadata(data, "image/webp")
    exif, pixels, info = read(cleaned)
    assert dict(exif) == {} and "xmp" not in info and pixels == read(data)[1]
    assert b"EXIF" not in cleaned and b"XMP " not in cleaned


@pytest.mark.parametrize("media_type, data", [
    ("image/jpeg", b"\xff\xd8\xff\xe1\xff\xff"), ("image/jpeg", b"not a jpeg"), ("image/jpeg", b"\xff\xd8\xff\xda\x00\x02"),
    ("image/png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\xffIDAT"), ("image/webp", b"RIFF\x00\x00\x00\x00WEBPVP8X"),
])
def test_a_structure_that_cannot_be_walked_is_said_so(media_type, data):
    with pytest.raises(UnreadableStructure):
        strip_metadata(data, media_type)


def test_an_image_the_walker_cannot_read_is_re_encoded_without_metadata(monkeypatch):
    from datetime import UTC

    from dispatch.sop import attachments

    def cannot(data, media_type, *, orientation=None):
        raise UnreadableStructure("an odd but valid layout")

    monkeypatch.setattr(attachments, "strip_metadata", cannot)
    data = jpeg(size=(40, 24), **PERSONAL)
    facts = attachments.inspect_image(data, tz=UTC)
    kept = attachments.stored_copy(data, facts)
    exif, _, info = read(kept)
    assert dict(exif) == {} and not exif.get_ifd(ExifTags.IFD.GPSInfo)
    assert read(kept)[1] != b"" and Image.open(io.BytesIO(kept)).size == (40, 24)
