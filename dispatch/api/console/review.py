"""The HQ reviewer's pages: the open audit queue, one audit step by step beside its SOP rules
with the evidence, verdicts, scorecards with their confidence bounds, and the flagged points."""

from __future__ import annotations

import uuid

from flask import render_template, request, send_file, url_for

from dispatch.api.attachments import evidence_store
from dispatch.api.deps import settings, unit_of_work
from dispatch.api.console import charts
from dispatch.api.console.i18n import gettext
from dispatch.api.console.web import act, bp, principal
from dispatch.errors import ValidationFailed
from dispatch.network import service_points
from dispatch.network.enums import AuthorisationStatus
from dispatch.sop import attachments
from dispatch.audits import review
from dispatch.audits import scorecards as audit_scorecards
from dispatch.audits.enums import AuditStatus, FindingCode
from dispatch.audits.sampling import Verdict

QUEUE_ROWS = 200
CONFORMS = "conforms"


@bp.route("/audits")
def audit_queue():
    items, total = review.list_audits(unit_of_work(), principal(), offset=0, limit=QUEUE_ROWS,
                                      status=AuditStatus.OPEN)
    return render_template("console/audit_queue.html", audits=items, total=total, nav="audits")


@bp.route("/audits/<uuid:audit_id>")
def audit(audit_id: uuid.UUID):
    detail = review.get_audit(unit_of_work(), principal(), audit_id)
    rules = {step.key: step for step in detail.checklist.checklist.template_version.steps}
    return render_template("console/audit.html", detail=detail, rules=rules, verdicts=list(Verdict),
                           codes=list(FindingCode), conforms=CONFORMS, nav="audits")


def _findings() -> list[dict[str, str]]:
    """One finding per step the reviewer did not mark as conforming (the form's step_<key>
    choice and note_<key> comment), plus an overall one when no step is named."""
    findings = []
    for key in request.form.getlist("step_keys"):
        code = request.form.get(f"step_{key}", CONFORMS)
        if code != CONFORMS:
            findings.append({"step_key": key, "code": code, "note": request.form.get(f"note_{key}", "")})
    return findings


@bp.route("/audits/<uuid:audit_id>/verdict", methods=["POST"])
def give_verdict(audit_id: uuid.UUID):
    verdict = request.form.get("verdict", "")

    def give():
        if verdict not in {v.value for v in Verdict}:
            raise ValidationFailed("verdict", "choose a verdict")
        review.give_verdict(unit_of_work(), principal(), audit_id, verdict=Verdict(verdict),
                            findings=_findings(), note=request.form.get("note", ""))

    return act(give, gettext("The verdict was recorded."), url_for("console.audit", audit_id=audit_id))


@bp.route("/attachments/<uuid:attachment_id>")
def attachment(attachment_id: uuid.UUID):
    """An evidence photo (the same scoping as the API's attachment content)."""
    found, stream = attachments.open_content(unit_of_work(), evidence_store(), principal(), attachment_id)
    response = send_file(stream, mimetype=found.media_type, etag=found.stored_sha256, conditional=True, max_age=3600)
    response.headers["Cache-Control"] = "private, max-age=3600, immutable"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/scorecards")
def scorecards():
    me, tz = principal(), settings().timezone
    points, _ = service_points.list_service_points(unit_of_work(), me, offset=0, limit=200)
    cards = [audit_scorecards.get_scorecard(unit_of_work(), me, p.id, tz=tz) for p in points
             if p.status != AuthorisationStatus.REVOKED]
    return render_template("console/scorecards.html", cards=cards, chart=charts.defect_bounds(cards),
                           nav="scorecards")


@bp.route("/flagged-points")
def flagged_points():
    cards = audit_scorecards.list_flagged_points(unit_of_work(), principal(), tz=settings().timezone)
    return render_template("console/flagged.html", cards=cards, nav="flagged")
