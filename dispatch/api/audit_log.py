"""The tamper-evident log: verify the chain, export daily roots to keep outside the system."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from dispatch.api.deps import current_principal, settings, unit_of_work
from dispatch.api.errors import ProblemSchema
from dispatch.api.schemas.audit_log import (
    DailyRootQuerySchema,
    DailyRootSchema,
    VerificationQuerySchema,
    VerificationSchema,
)
from dispatch.audit_log import verification

blp = Blueprint("audit_log", __name__, url_prefix="/api/v1/audit-log",
                description="Hash-chained audit log: verification and daily roots")


@blp.route("/verify")
class ChainVerification(MethodView):
    @blp.arguments(VerificationQuerySchema(), location="query")
    @blp.response(200, VerificationSchema)
    @blp.alt_response(403, schema=ProblemSchema, description="not HQ")
    def get(self, args):
        """Verify the chain and the rows it vouches for (HQ: admins and reviewers).

        Names the first broken entry, and every covered row (checklist step results and their
        evidence, audit verdicts, bill price overrides, parts fitted, part prices, labour rates,
        stock movements, warranty claims, warranty cards) whose content no longer matches its seal in the log:
        table, id, the columns that differ and the entry it contradicts. With `limit`, one page
        of about that many entries or rows; follow `next_cursor` until `complete`."""
        return verification.verify_chain(unit_of_work(), current_principal(), secret=settings().secret_key, **args)


@blp.route("/roots")
class DailyRoots(MethodView):
    @blp.arguments(DailyRootQuerySchema(), location="query")
    @blp.response(200, DailyRootSchema)
    @blp.alt_response(403, schema=ProblemSchema, description="not HQ")
    def get(self, args):
        """The chain's root at the end of a local day: keep it outside the system (HQ)."""
        return verification.export_daily_root(unit_of_work(), current_principal(), day=args["day"],
                                         tz=settings().timezone)
