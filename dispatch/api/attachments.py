"""Evidence attachments: upload an image, read its metadata (EXIF vs server time), fetch its bytes."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import send_file, url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from dispatch.api.deps import current_principal, settings, unit_of_work
from dispatch.api.errors import ProblemSchema
from dispatch.api.schemas.attachments import AttachmentSchema, AttachmentUploadSchema
from dispatch.sop import attachments
from dispatch.sop.storage import LocalEvidenceStore

blp = Blueprint("attachments", __name__, url_prefix="/api/v1/attachments",
                description="Evidence photos and signatures, stored by SHA-256")


def evidence_store() -> LocalEvidenceStore:
    """The configured evidence store (a local directory: ``DISPATCH_UPLOAD_DIR``)."""
    return LocalEvidenceStore(settings().upload_dir)


@blp.route("/")
class Attachments(MethodView):
    @blp.arguments(AttachmentUploadSchema(), location="files")
    @blp.response(201, AttachmentSchema, description="a new attachment")
    @blp.alt_response(200, schema=AttachmentSchema,
                      description="the same bytes were uploaded before (by this point): the existing attachment")
    @blp.alt_response(413, schema=ProblemSchema, description="the file or the request body is too large")
    @blp.alt_response(422, schema=ProblemSchema, description="not a decodable JPEG, PNG or WebP image, or too many "
                                                             "pixels (`errors.file`)")
    def post(self, files):
        """Upload one image (multipart field ``file``). Retrying the same bytes is safe."""
        upload = files["file"]
        attachment, created = attachments.upload_attachment(
            unit_of_work(), evidence_store(), current_principal(), stream=upload.stream, filename=upload.filename,
            max_bytes=settings().max_upload_bytes, tz=ZoneInfo(settings().timezone),
        )
        location = url_for("attachments.AttachmentById", attachment_id=attachment.id)
        return attachment, 201 if created else 200, {"Location": location}


@blp.route("/<uuid:attachment_id>")
class AttachmentById(MethodView):
    @blp.response(200, AttachmentSchema)
    def get(self, attachment_id):
        """An attachment's metadata (the uploader and HQ; once attached to a step, its point too)."""
        return attachments.get_attachment(unit_of_work(), current_principal(), attachment_id)


@blp.route("/<uuid:attachment_id>/content")
class AttachmentContent(MethodView):
    @blp.response(200, content_type="image/*", description="the image without GPS and other personal metadata "
                                                          "(pixels untouched)")
    def get(self, attachment_id):
        """The image itself (the uploader and HQ; once attached to a step, its point too)."""
        attachment, stream = attachments.open_content(unit_of_work(), evidence_store(), current_principal(),
                                                      attachment_id)
        response = send_file(stream, mimetype=attachment.media_type, etag=attachment.stored_sha256, conditional=True,
                             max_age=3600,
                             download_name=f"{attachment.stored_sha256[:16]}{_suffix(attachment.media_type)}")
        response.headers["Cache-Control"] = "private, max-age=3600, immutable"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def _suffix(media_type: str) -> str:
    return {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}.get(media_type, "")
