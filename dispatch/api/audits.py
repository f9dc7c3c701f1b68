"""HQ spot-checks: draw samples, the review queue, verdicts, disputes and adjudication, lots
with everything needed to re-derive their sample, and HQ's list of flagged points."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from dispatch.api.deps import current_principal, settings, unit_of_work
from dispatch.api.errors import ProblemSchema
from dispatch.api.schemas.audits import (
    AdjudicationCreateSchema,
    AuditDetailSchema,
    AuditDisputeCreateSchema,
    AuditFilterSchema,
    AuditLotDetailSchema,
    AuditLotFilterSchema,
    AuditLotSchema,
    AuditSchema,
    AuditVerdictCreateSchema,
    DrawReportSchema,
    ScorecardQuerySchema,
    ScorecardSchema,
)
from dispatch.audits import lots, review, scorecards

blp = Blueprint("audits", __name__, url_prefix="/api/v1/audits",
                description="HQ spot-checks of completed SOP checklists")


@blp.route("/")
class Audits(MethodView):
    @blp.arguments(AuditFilterSchema(), location="query")
    @blp.response(200, AuditSchema(many=True))
    @blp.paginate()
    def get(self, filters, pagination_parameters):
        """The review queue, oldest sample first (HQ: all; a manager: their point; a technician:
        their own final verdicts). ``?status=open`` is what is waiting for a verdict."""
        items, total = review.list_audits(unit_of_work(), current_principal(),
                                           offset=pagination_parameters.first_item,
                                           limit=pagination_parameters.page_size, **filters)
        pagination_parameters.item_count = total
        return items


@blp.route("/samples")
class Samples(MethodView):
    @blp.response(200, DrawReportSchema)
    @blp.alt_response(403, schema=ProblemSchema, description="not HQ")
    def post(self):
        """Draw the samples of every lot due now (admin, reviewer; also run nightly). Opens this
        week's lots (seed committed), freezes lots 48 h after their week (seed revealed),
        finalises verdicts past their dispute window and decides lots. Twice draws nothing new."""
        return lots.draw_samples(unit_of_work(), current_principal(), tz=settings().timezone)


@blp.route("/lots")
class Lots(MethodView):
    @blp.arguments(AuditLotFilterSchema(), location="query")
    @blp.response(200, AuditLotSchema(many=True))
    @blp.paginate()
    def get(self, filters, pagination_parameters):
        """Lots, newest week first (HQ: all; a manager: their point)."""
        items, total = lots.list_lots(unit_of_work(), current_principal(),
                                         offset=pagination_parameters.first_item,
                                         limit=pagination_parameters.page_size, **filters)
        pagination_parameters.item_count = total
        return items


@blp.route("/lots/<uuid:lot_id>")
class LotById(MethodView):
    @blp.response(200, AuditLotDetailSchema)
    def get(self, lot_id):
        """One lot: the seed commitment, and once frozen the revealed seed, the frame and its
        hash, the plan and every item's key, so that anyone can re-derive the sample."""
        return lots.get_lot(unit_of_work(), current_principal(), lot_id)


@blp.route("/flagged-points")
class FlaggedPoints(MethodView):
    @blp.arguments(ScorecardQuerySchema(), location="query")
    @blp.response(200, ScorecardSchema(many=True))
    def get(self, args):
        """Points for HQ review: red band with defects, a critical, or a rejected lot among the
        last two (admin, reviewer); lowest score first."""
        return scorecards.list_flagged_points(unit_of_work(), current_principal(), tz=settings().timezone, **args)


@blp.route("/<uuid:audit_id>")
class AuditById(MethodView):
    @blp.response(200, AuditDetailSchema)
    def get(self, audit_id):
        """One audit with the checklist's every revision, each photo's EXIF time against the
        server's receive time and its GPS distance to the site, and the job's events."""
        return review.get_audit(unit_of_work(), current_principal(), audit_id)


@blp.route("/<uuid:audit_id>/verdict")
class AuditVerdict(MethodView):
    @blp.arguments(AuditVerdictCreateSchema())
    @blp.response(200, AuditSchema)
    @blp.alt_response(409, schema=ProblemSchema,
                      description="a verdict exists (name it in supersedes_id to correct it), or it is final/disputed")
    def post(self, body, audit_id):
        """Give the verdict (HQ reviewer or admin). Verdicts are append-only: a correction
        supersedes the current one and restarts the point's 3-day dispute window."""
        return review.give_verdict(unit_of_work(), current_principal(), audit_id, **body)


@blp.route("/<uuid:audit_id>/disputes")
class AuditDisputes(MethodView):
    @blp.arguments(AuditDisputeCreateSchema())
    @blp.response(200, AuditSchema)
    @blp.alt_response(409, schema=ProblemSchema, description="no verdict to dispute, or the window has closed")
    def post(self, body, audit_id):
        """The point's manager disputes a verdict within 3 days of it."""
        return review.dispute_verdict(unit_of_work(), current_principal(), audit_id, **body)


@blp.route("/<uuid:audit_id>/adjudication")
class AuditAdjudication(MethodView):
    @blp.arguments(AdjudicationCreateSchema())
    @blp.response(200, AuditSchema)
    @blp.alt_response(403, schema=ProblemSchema, description="the caller gave a verdict on this audit")
    def post(self, body, audit_id):
        """A second reviewer (never one who gave a verdict on this audit) upholds or amends a
        disputed verdict; the audit becomes final."""
        return review.adjudicate(unit_of_work(), current_principal(), audit_id, **body)
