"""Drop personal metadata from an evidence image without touching its pixels.

The server reads what it checks (capture time, GPS, camera) from the upload and keeps it in the
attachment row as evidence metadata; the copy it stores and serves carries none of it. The
stripping is lossless: the compressed image data is copied byte for byte, only metadata blocks
are left out, and an EXIF orientation other than "upright" is written back as the only tag so
the photo still shows the right way up.

- JPEG: kept are the JFIF header (APP0), the ICC colour profile (APP2 ``ICC_PROFILE``) and
  Adobe's colour-transform marker (APP14), plus every segment the decoder needs; dropped are
  EXIF and XMP (APP1), IPTC/Photoshop (APP13), every other APPn (maker notes, MPF, ...),
  comments, and whatever follows the end-of-image marker (appended previews).
- PNG: ``eXIf``, ``tEXt``, ``zTXt``, ``iTXt`` and ``tIME`` chunks are dropped.
- WebP: ``EXIF`` and ``XMP `` chunks are dropped and the extended header's flags cleared.

A structure this module does not understand raises :class:`UnreadableStructure`; the caller
then falls back to re-encoding the decoded pixels.
"""

from __future__ import annotations

import struct
import zlib

from PIL import Image

UPRIGHT = 1


class UnreadableStructure(ValueError):
    """The container could not be walked segment by segment."""


def orientation_exif(orientation: int | None) -> bytes | None:
    """A TIFF/EXIF block holding only the Orientation tag (None when upright or unknown)."""
    if orientation is None or orientation == UPRIGHT or not 1 <= orientation <= 8:
        return None
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()  # b"Exif\x00\x00" + TIFF header and one IFD entry


# --- JPEG -------------------------------------------------------------------------------------

_SOI, _EOI, _SOS = 0xD8, 0xD9, 0xDA
_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM, RST0-7: no length field
_KEEP_APP = {0xE0, 0xEE}  # JFIF, Adobe


def _keep_jpeg_segment(marker: int, payload: bytes) -> bool:
    if marker == 0xFE:  # comment
        return False
    if 0xE0 <= marker <= 0xEF:
        return marker in _KEEP_APP or (marker == 0xE2 and payload.startswith(b"ICC_PROFILE\x00"))
    return True


def _strip_jpeg(data: bytes, orientation: int | None) -> bytes:
    if data[:2] != b"\xff\xd8":
        raise UnreadableStructure("no JPEG start-of-image marker")
    out = [b"\xff\xd8"]
    exif = orientation_exif(orientation)
    inserted = exif is None
    pos = 2
    while True:
        while pos < len(data) and data[pos] == 0xFF and pos + 1 < len(data) and data[pos + 1] == 0xFF:
            pos += 1  # fill bytes
        if pos + 2 > len(data) or data[pos] != 0xFF:
            raise UnreadableStructure(f"expected a marker at byte {pos}")
        marker = data[pos + 1]
        if marker == _EOI:
            out.append(b"\xff\xd9")
            return b"".join(out)  # anything after the end of the image is dropped
        if marker in _STANDALONE or marker == _SOI:
            raise UnreadableStructure(f"unexpected marker 0x{marker:02X} at byte {pos}")
        if pos + 4 > len(data):
            raise UnreadableStructure("truncated segment header")
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        end = pos + 2 + length
        if length < 2 or end > len(data):
            raise UnreadableStructure(f"segment 0x{marker:02X} runs past the end of the file")
        payload = data[pos + 4:end]
        if not inserted and not (0xE0 <= marker <= 0xEF and marker in _KEEP_APP):
            out.append(b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif)  # after JFIF, before the rest
            inserted = True
        if _keep_jpeg_segment(marker, payload):
            out.append(data[pos:end])
        pos = end
        if marker == _SOS:  # entropy-coded data up to the next real marker, copied as is
            scan = pos
            while True:
                scan = data.find(b"\xff", scan)
                if scan < 0 or scan + 1 >= len(data):
                    raise UnreadableStructure("scan data without an end-of-image marker")
                following = data[scan + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
                    scan += 1 if following == 0xFF else 2
                    continue
                break
            out.append(data[pos:scan])
            pos = scan


# --- PNG --------------------------------------------------------------------------------------

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_DROP = {b"eXIf", b"tEXt", b"zTXt", b"iTXt", b"tIME"}


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)


def _strip_png(data: bytes, orientation: int | None) -> bytes:
    if not data.startswith(_PNG_SIGNATURE):
        raise UnreadableStructure("no PNG signature")
    out = [_PNG_SIGNATURE]
    exif = orientation_exif(orientation)
    pos = len(_PNG_SIGNATURE)
    while pos < len(data):
        if pos + 12 > len(data):
            raise UnreadableStructure("truncated PNG chunk")
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        end = pos + 12 + length
        if end > len(data):
            raise UnreadableStructure(f"PNG chunk {kind!r} runs past the end of the file")
        if kind == b"IDAT" and exif is not None:
            out.append(_png_chunk(b"eXIf", exif[6:]))  # eXIf holds the TIFF data without "Exif\0\0"
            exif = None
        if kind not in _PNG_DROP:
            out.append(data[pos:end])
        pos = end
        if kind == b"IEND":
            return b"".join(out)  # nothing after IEND
    raise UnreadableStructure("no PNG end chunk")


# --- WebP -------------------------------------------------------------------------------------

_VP8X_EXIF, _VP8X_XMP = 0x08, 0x04


def _strip_webp(data: bytes, orientation: int | None) -> bytes:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise UnreadableStructure("no RIFF/WEBP header")
    chunks: list[tuple[bytes, bytes]] = []
    pos = 12
    (riff_size,) = struct.unpack("<I", data[4:8])
    if riff_size < 4 or 8 + riff_size > len(data):
        raise UnreadableStructure("the RIFF size does not match the file")
    limit = 8 + riff_size
    while pos < limit:
        if pos + 8 > limit:
            raise UnreadableStructure("truncated WebP chunk")
        kind = data[pos:pos + 4]
        (size,) = struct.unpack("<I", data[pos + 4:pos + 8])
        end = pos + 8 + size
        if end > limit:
            raise UnreadableStructure(f"WebP chunk {kind!r} runs past the end of the file")
        chunks.append((kind, data[pos + 8:end]))
        pos = end + (size & 1)
    if not chunks or chunks[0][0] not in (b"VP8 ", b"VP8L", b"VP8X"):
        raise UnreadableStructure("no WebP image chunk")
    kept = [(kind, payload) for kind, payload in chunks if kind not in (b"EXIF", b"XMP ")]
    exif = orientation_exif(orientation)
    if kept and kept[0][0] == b"VP8X":
        flags = kept[0][1][0] & ~(_VP8X_EXIF | _VP8X_XMP)
        if exif is not None:
            flags |= _VP8X_EXIF
            kept.append((b"EXIF", exif[6:]))
        kept[0] = (b"VP8X", bytes([flags]) + kept[0][1][1:])
    body = b"".join(kind + struct.pack("<I", len(payload)) + payload + (b"\x00" if len(payload) & 1 else b"")
                    for kind, payload in kept)
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


_STRIPPERS = {"image/jpeg": _strip_jpeg, "image/png": _strip_png, "image/webp": _strip_webp}


def strip_metadata(data: bytes, media_type: str, *, orientation: int | None = None) -> bytes:
    """``data`` without its metadata blocks (see the module docstring); raises
    :class:`UnreadableStructure` when the container cannot be walked."""
    try:
        return _STRIPPERS[media_type](data, orientation)
    except (struct.error, IndexError) as exc:
        raise UnreadableStructure(str(exc)) from exc
