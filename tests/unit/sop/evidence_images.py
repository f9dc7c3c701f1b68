"""Image fixtures for the evidence tests: real JPEGs/PNGs made with Pillow, optionally with EXIF."""

from __future__ import annotations

import io
import struct
import zlib
from datetime import datetime

from PIL import ExifTags, Image


def jpeg(*, size=(64, 48), color=(20, 120, 200), taken: datetime | None = None, offset: str | None = None,
         gps: tuple[float, float] | None = None, gps_time: datetime | None = None, camera: str | None = None,
         quality: int = 85, noisy: bool = False) -> bytes:
    """A JPEG; ``taken`` is written as EXIF DateTimeOriginal (wall clock), ``offset`` as
    OffsetTimeOriginal, ``gps`` as (lat, lon) in degrees/minutes/seconds; ``noisy`` pixels make
    the compressed data (rather than the headers) the bulk of the file."""
    image = Image.effect_noise(size, 80).convert("RGB") if noisy else Image.new("RGB", size, color)
    exif = Image.Exif()
    if camera:
        exif[ExifTags.Base.Make], exif[ExifTags.Base.Model] = camera.split(" ", 1)
    ifd = exif.get_ifd(ExifTags.IFD.Exif)
    if taken is not None:
        ifd[ExifTags.Base.DateTimeOriginal] = taken.strftime("%Y:%m:%d %H:%M:%S")
    if offset is not None:
        ifd[ExifTags.Base.OffsetTimeOriginal] = offset
    if gps is not None or gps_time is not None:
        info = exif.get_ifd(ExifTags.IFD.GPSInfo)
        if gps is not None:
            for ref_tag, tag, value, signs in ((ExifTags.GPS.GPSLatitudeRef, ExifTags.GPS.GPSLatitude, gps[0], "NS"),
                                               (ExifTags.GPS.GPSLongitudeRef, ExifTags.GPS.GPSLongitude, gps[1], "EW")):
                degrees = abs(value)
                minutes = (degrees - int(degrees)) * 60
                info[ref_tag] = signs[0] if value >= 0 else signs[1]
                info[tag] = (float(int(degrees)), float(int(minutes)), round((minutes - int(minutes)) * 60, 4))
        if gps_time is not None:
            info[ExifTags.GPS.GPSDateStamp] = gps_time.strftime("%Y:%m:%d")
            info[ExifTags.GPS.GPSTimeStamp] = (float(gps_time.hour), float(gps_time.minute), float(gps_time.second))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, exif=exif)
    return buffer.getvalue()


def png(size=(40, 30), color=(0, 0, 0)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def png_header_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels (a decompression bomb's shape):
    nothing may be decoded before the pixel count is checked."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) \
        + chunk(b"IEND", b"")
