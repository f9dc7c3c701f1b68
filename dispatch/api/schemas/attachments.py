"""Evidence attachments: the upload form and the metadata reviewers compare."""

from __future__ import annotations

from flask_smorest.fields import Upload
from marshmallow import Schema, fields


class AttachmentUploadSchema(Schema):
    file = Upload(required=True, metadata={"description": "a JPEG, PNG or WebP photo"})


class AttachmentSchema(Schema):
    id = fields.UUID()
    sha256 = fields.String(metadata={"description": "SHA-256 of the bytes as uploaded (what the device computed)"})
    stored_sha256 = fields.String(metadata={
        "description": "SHA-256 of the copy served at /content: GPS and other personal metadata dropped "
                       "(what was read from it is in the fields below); its ETag"})
    media_type = fields.String()
    size_bytes = fields.Integer()
    width = fields.Integer()
    height = fields.Integer()
    filename = fields.String()
    service_point_id = fields.UUID(allow_none=True)
    uploaded_by = fields.UUID(allow_none=True)
    received_at = fields.DateTime(metadata={"description": "server time the bytes arrived"})
    exif_taken_at = fields.DateTime(allow_none=True, metadata={
        "description": "EXIF DateTimeOriginal as an instant (with its offset, else read in the network's time zone)"})
    exif_taken_local = fields.String(allow_none=True, metadata={"description": "EXIF wall-clock time as written"})
    exif_offset = fields.String(allow_none=True, metadata={"description": "EXIF OffsetTimeOriginal, when recorded"})
    gps_lat = fields.Float(allow_none=True)
    gps_lon = fields.Float(allow_none=True)
    gps_at = fields.DateTime(allow_none=True, metadata={"description": "EXIF GPS time stamp (UTC)"})
    camera = fields.String(allow_none=True, metadata={"description": "EXIF make and model"})
