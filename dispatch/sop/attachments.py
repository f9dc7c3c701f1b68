"""Evidence uploads: images only (proved by decoding them), size and pixel caps, with EXIF
capture time and GPS kept beside the server's receive time.

An attachment is identified by the SHA-256 of the bytes as uploaded (what the device computed at
capture and what reviewers compare across jobs). What is stored and served is a copy without
GPS and other personal metadata (:mod:`dispatch.sop.image_metadata`), content-addressed by its
own hash (``stored_sha256``): the server reads what it checks first and keeps that in the row.

Until it is attached to a checklist step, an upload is the uploader's (and HQ's) only: a
colleague or the point's manager does not see it; once attached, the point sees it with the step.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import struct
import uuid
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any, BinaryIO

from PIL import ExifTags, Image, UnidentifiedImageError
from sqlalchemy import select

from dispatch.auth.principal import Principal
from dispatch.clock import utcnow
from dispatch.errors import NotFound, PayloadTooLarge, ValidationFailed
from dispatch.sop.image_metadata import UnreadableStructure, orientation_exif, strip_metadata
from dispatch.sop.models import Attachment, StepEvidence
from dispatch.sop.storage import EvidenceStore
from dispatch.sop.templates import recorded_actor_id
from dispatch.uow import UnitOfWork

# Phones shoot 12-50 MP; anything bigger is refused before it is decoded (decompression bombs).
MAX_PIXELS = 50_000_000
MEDIA_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
_OFFSET = re.compile(r"^[+-]\d{2}:\d{2}$")
# What hostile or broken EXIF can raise while being read; a bad EXIF block never rejects a good image.
_EXIF_ERRORS = (ValueError, TypeError, KeyError, IndexError, ZeroDivisionError, OSError, struct.error, SyntaxError)


@dataclass(frozen=True)
class ImageFacts:
    """What decoding an upload taught us."""

    media_type: str
    width: int
    height: int
    exif_taken_local: str | None = None  # "YYYY-MM-DDTHH:MM:SS" as the camera wrote it
    exif_offset: str | None = None  # "+08:00" when the camera recorded it
    exif_taken_at: datetime | None = None
    gps_lat: float | None = None
    gps_lon: float | None = None
    gps_at: datetime | None = None
    camera: str | None = None
    orientation: int | None = None  # EXIF Orientation, kept in the stored copy


def inspect_image(data: bytes, *, tz: tzinfo, max_pixels: int = MAX_PIXELS) -> ImageFacts:
    """Decode ``data`` as a JPEG, PNG or WebP image and read its EXIF.

    Raises ValidationFailed on ``file`` when it is not such an image, is damaged or truncated, or
    has more than ``max_pixels`` pixels (checked from the header, before any pixel is decoded).
    ``tz`` is the time zone an EXIF time without offset is read in.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow warns about odd metadata; we judge the pixels
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=list(MEDIA_TYPES))
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
            raise ValidationFailed("file", f"the image has more than {max_pixels} pixels") from exc
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError, struct.error) as exc:
            raise ValidationFailed("file", "not an image: upload a JPEG, PNG or WebP photo") from exc
        with image:
            width, height = image.size
            if width < 1 or height < 1 or width * height > max_pixels:
                raise ValidationFailed("file", f"the image has {width} x {height} pixels; at most {max_pixels}")
            media_type = MEDIA_TYPES[image.format]
            exif = _read_exif(image, tz)
            try:
                if image.format == "JPEG":
                    image.draft("RGB", (max(1, width // 8), max(1, height // 8)))  # full scan, 1/64 memory
                image.load()
            except (OSError, ValueError, SyntaxError, struct.error, Image.DecompressionBombError) as exc:
                raise ValidationFailed("file", "the image is damaged or truncated") from exc
    return ImageFacts(media_type=media_type, width=width, height=height, **exif)


def _read_exif(image: Image.Image, tz: tzinfo) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    try:
        exif = image.getexif()
        ifd = exif.get_ifd(ExifTags.IFD.Exif)
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    except _EXIF_ERRORS:
        return facts
    for read in (_exif_time, _gps_position, _gps_time, _camera, _orientation):
        try:
            facts |= read(exif, ifd, gps, tz)
        except _EXIF_ERRORS:
            continue  # one unreadable tag never hides the others
    return facts


def _text(value: Any, limit: int) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    cleaned = "".join(ch for ch in value if ch.isprintable()).strip()
    return cleaned[:limit] or None


def _exif_time(exif, ifd, gps, tz: tzinfo) -> dict[str, Any]:
    raw = _text(ifd.get(ExifTags.Base.DateTimeOriginal), 32)
    if raw is None:
        return {}
    local = datetime.strptime(raw[:19], "%Y:%m:%d %H:%M:%S")
    offset = _text(ifd.get(ExifTags.Base.OffsetTimeOriginal), 8)
    facts: dict[str, Any] = {"exif_taken_local": local.isoformat()}
    if offset and _OFFSET.match(offset):
        sign = -1 if offset[0] == "-" else 1
        delta = timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6]))
        facts["exif_offset"] = offset
        facts["exif_taken_at"] = local.replace(tzinfo=timezone(sign * delta)).astimezone(UTC)
    else:
        facts["exif_taken_at"] = local.replace(tzinfo=tz).astimezone(UTC)
    return facts


def _degrees(parts: Sequence[Any], ref: Any) -> float:
    degrees, minutes, seconds = (float(p) for p in parts)
    value = degrees + minutes / 60 + seconds / 3600
    if not math.isfinite(value):
        raise ValueError("not a finite coordinate")
    return -value if _text(ref, 1) in {"S", "W"} else value


def _gps_position(exif, ifd, gps, tz: tzinfo) -> dict[str, Any]:
    if ExifTags.GPS.GPSLatitude not in gps or ExifTags.GPS.GPSLongitude not in gps:
        return {}
    lat = _degrees(gps[ExifTags.GPS.GPSLatitude], gps.get(ExifTags.GPS.GPSLatitudeRef))
    lon = _degrees(gps[ExifTags.GPS.GPSLongitude], gps.get(ExifTags.GPS.GPSLongitudeRef))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return {}
    return {"gps_lat": round(lat, 7), "gps_lon": round(lon, 7)}


def _gps_time(exif, ifd, gps, tz: tzinfo) -> dict[str, Any]:
    stamp = _text(gps.get(ExifTags.GPS.GPSDateStamp), 10)
    clock = gps.get(ExifTags.GPS.GPSTimeStamp)
    if stamp is None or clock is None:
        return {}
    hours, minutes, seconds = (float(p) for p in clock)
    day = datetime.strptime(stamp, "%Y:%m:%d").replace(tzinfo=UTC)
    return {"gps_at": day + timedelta(hours=hours, minutes=minutes, seconds=seconds)}


def _camera(exif, ifd, gps, tz: tzinfo) -> dict[str, Any]:
    parts = [_text(exif.get(ExifTags.Base.Make), 60), _text(exif.get(ExifTags.Base.Model), 60)]
    camera = " ".join(p for p in parts if p)
    return {"camera": camera[:120]} if camera else {}


def _orientation(exif, ifd, gps, tz: tzinfo) -> dict[str, Any]:
    value = exif.get(ExifTags.Base.Orientation)
    return {"orientation": value} if isinstance(value, int) and 1 <= value <= 8 else {}


_PERSONAL_INFO_KEYS = ("exif", "xmp", "XML:com.adobe.xmp", "comment", "photoshop", "Description", "Author")


def _is_clean(data: bytes) -> bool:
    """What a reader of the stored copy finds: at most the orientation tag, no GPS, no text."""
    with Image.open(io.BytesIO(data)) as image:
        exif = image.getexif()
        text = getattr(image, "text", {}) if image.format == "PNG" else {}
        return (set(exif) <= {ExifTags.Base.Orientation} and not exif.get_ifd(ExifTags.IFD.GPSInfo)
                and not text and not any(key in image.info for key in _PERSONAL_INFO_KEYS if key != "exif"))


def _reencoded(data: bytes, facts: ImageFacts) -> bytes:
    """Last resort when the container could not be walked: the decoded pixels saved afresh."""
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        out = io.BytesIO()
        options: dict[str, Any] = {"icc_profile": image.info.get("icc_profile")}
        exif = orientation_exif(facts.orientation)
        if exif is not None:
            options["exif"] = exif
        if image.format in ("JPEG", "WEBP"):
            options["quality"] = 95
        image.save(out, image.format, **{k: v for k, v in options.items() if v is not None})
        return out.getvalue()


def stored_copy(data: bytes, facts: ImageFacts) -> bytes:
    """The bytes kept for an upload: its metadata dropped losslessly, re-encoded only if its
    container could not be walked or something personal survived."""
    try:
        cleaned = strip_metadata(data, facts.media_type, orientation=facts.orientation)
        if _is_clean(cleaned):
            return cleaned
    except (UnreadableStructure, UnidentifiedImageError, OSError, ValueError, SyntaxError, struct.error):
        pass
    return _reencoded(data, facts)


def _clean_filename(filename: str | None) -> str:
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(ch for ch in name if ch.isprintable())[:200]


def store_attachment(
    session,
    store: EvidenceStore,
    actor: Principal,
    data: bytes,
    *,
    filename: str | None,
    tz: tzinfo,
    max_pixels: int = MAX_PIXELS,
    received_at: datetime | None = None,
) -> tuple[Attachment, bool]:
    """Add image ``data`` as the caller's upload in the caller's transaction (no commit); returns
    ``(attachment, created)``. The same bytes from the same person are the existing attachment.
    The stored copy (metadata dropped) is written before the row, so a committed row always has
    its blob."""
    if not data:
        raise ValidationFailed("file", "the file is empty")
    sha256 = hashlib.sha256(data).hexdigest()
    uploader = recorded_actor_id(actor)
    owner = (Attachment.service_point_id.is_(None) if actor.service_point_id is None
             else Attachment.service_point_id == actor.service_point_id)
    by = Attachment.uploaded_by.is_(None) if uploader is None else Attachment.uploaded_by == uploader
    existing = session.scalar(select(Attachment).where(Attachment.sha256 == sha256, owner, by))
    if existing is not None:
        return existing, False
    facts = inspect_image(data, tz=tz, max_pixels=max_pixels)
    kept = stored_copy(data, facts)
    stored_sha256 = hashlib.sha256(kept).hexdigest()
    store.put(stored_sha256, kept)
    attachment = Attachment(
        sha256=sha256, stored_sha256=stored_sha256, service_point_id=actor.service_point_id, uploaded_by=uploader,
        received_at=received_at or utcnow(), filename=_clean_filename(filename), size_bytes=len(data),
        media_type=facts.media_type, width=facts.width, height=facts.height,
        exif_taken_local=facts.exif_taken_local, exif_offset=facts.exif_offset,
        exif_taken_at=facts.exif_taken_at, gps_lat=facts.gps_lat, gps_lon=facts.gps_lon,
        gps_at=facts.gps_at, camera=facts.camera,
    )
    session.add(attachment)
    session.flush()  # the id exists from here on (and flush listeners see the new upload)
    return attachment, True


def upload_attachment(
    uow: UnitOfWork,
    store: EvidenceStore,
    actor: Principal,
    *,
    stream: BinaryIO,
    filename: str | None,
    max_bytes: int,
    tz: tzinfo,
    max_pixels: int = MAX_PIXELS,
) -> tuple[Attachment, bool]:
    """Accept one image as evidence; returns ``(attachment, created)``.

    Files over ``max_bytes`` are refused (413) without reading further. The same bytes uploaded
    again by the same point return the existing attachment with ``created`` False: offline apps
    retry uploads.
    """
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"the file is larger than {max_bytes} bytes", field="file", max_bytes=max_bytes)
    with uow:
        attachment, created = store_attachment(uow.session, store, actor, data, filename=filename, tz=tz,
                                               max_pixels=max_pixels)
        if created:
            uow.commit()
    return attachment, created


def _attached(session, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Which of ``ids`` are evidence of some checklist step."""
    if not ids:
        return set()
    return set(session.scalars(select(StepEvidence.attachment_id).where(StepEvidence.attachment_id.in_(ids))))


def _visible(actor: Principal, attachment: Attachment | None, attached: bool) -> bool:
    """HQ sees every attachment; the uploader their own; the point the ones attached to a step."""
    if attachment is None:
        return False
    if actor.is_hq or (attachment.uploaded_by is not None and attachment.uploaded_by == actor.user_id):
        return True
    return attached and actor.service_point_id is not None and attachment.service_point_id == actor.service_point_id


def get_attachment(uow: UnitOfWork, actor: Principal, attachment_id: uuid.UUID) -> Attachment:
    """An attachment's metadata: HQ sees all; the uploader their own; a point the ones attached
    to its checklists (others, and a colleague's unattached uploads, are 404)."""
    with uow:
        attachment = uow.session.get(Attachment, attachment_id)
        attached = attachment is not None and attachment.id in _attached(uow.session, [attachment.id])
        if not _visible(actor, attachment, attached):
            raise NotFound(f"attachment {attachment_id} does not exist")
        return attachment


def open_content(
    uow: UnitOfWork, store: EvidenceStore, actor: Principal, attachment_id: uuid.UUID
) -> tuple[Attachment, BinaryIO]:
    """The attachment and a stream of its bytes (same scoping as :func:`get_attachment`)."""
    attachment = get_attachment(uow, actor, attachment_id)
    try:
        return attachment, store.open(attachment.stored_sha256)
    except FileNotFoundError as exc:
        raise NotFound(f"the bytes of attachment {attachment_id} are missing from the store") from exc


def visible_attachments(session, actor: Principal, ids: Sequence[uuid.UUID], *, field: str) -> list[Attachment]:
    """Load ``ids`` in order for use as evidence; an unknown or foreign id is a 422 on
    ``<field>.<index>`` (never a hint that another point's attachment exists)."""
    if len(set(ids)) != len(ids):
        raise ValidationFailed(field, "the same attachment is listed twice")
    found = {a.id: a for a in session.scalars(select(Attachment).where(Attachment.id.in_(ids)))} if ids else {}
    attached = _attached(session, list(found))
    for index, attachment_id in enumerate(ids):
        if not _visible(actor, found.get(attachment_id), attachment_id in attached):
            raise ValidationFailed(f"{field}.{index}", f"attachment {attachment_id} does not exist")
    return [found[i] for i in ids]
