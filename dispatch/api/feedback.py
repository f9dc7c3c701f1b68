"""Customer follow-up: the public rating link, ratings for the points, call-centre callbacks."""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from dispatch.api.deps import current_principal, settings, task_queue, unit_of_work
from dispatch.api.errors import ProblemSchema
from dispatch.api.schemas.feedback import (
    CallbackCreateSchema,
    CallbackItemFilterSchema,
    CallbackItemSchema,
    CallbackSchema,
    FeedbackRequestSchema,
    RatingCreateSchema,
    RatingFilterSchema,
    RatingLinkSchema,
    RatingReceiptSchema,
    RatingSchema,
)
from dispatch.care import feedback

blp = Blueprint("feedback", __name__, url_prefix="/api/v1",
                description="Ratings by signed link (no account needed), callbacks and the callback worklist")

PUBLIC = {"feedback.FeedbackByToken"}


@blp.route("/feedback/<token>")
class FeedbackByToken(MethodView):
    @blp.doc(security=[])
    @blp.response(200, FeedbackRequestSchema)
    @blp.alt_response(404, schema=ProblemSchema, description="the link is not valid (tampered or malformed)")
    @blp.alt_response(410, schema=ProblemSchema, description="the link has expired")
    def get(self, token):
        """The visit a rating link is about (public)."""
        return feedback.feedback_request(unit_of_work(), settings().secret_key, token)

    @blp.doc(security=[])
    @blp.arguments(RatingCreateSchema())
    @blp.response(201, RatingReceiptSchema)
    @blp.alt_response(404, schema=ProblemSchema, description="the link is not valid (tampered or malformed)")
    @blp.alt_response(409, schema=ProblemSchema, description="the visit has been rated already")
    @blp.alt_response(410, schema=ProblemSchema, description="the link has expired")
    def post(self, body, token):
        """Rate the visit 1-5 with an optional comment (public; once per visit)."""
        return feedback.submit_rating(unit_of_work(), settings().secret_key, token, **body)


@blp.route("/ratings")
class Ratings(MethodView):
    @blp.arguments(RatingFilterSchema(), location="query")
    @blp.response(200, RatingSchema(many=True))
    @blp.paginate()
    def get(self, filters, pagination_parameters):
        """Ratings, newest first (HQ: all; a manager: their point's)."""
        items, total = feedback.list_ratings(unit_of_work(), current_principal(),
                                             offset=pagination_parameters.first_item,
                                             limit=pagination_parameters.page_size, **filters)
        pagination_parameters.item_count = total
        return items


@blp.route("/jobs/<uuid:job_id>/callbacks")
class JobCallbacks(MethodView):
    @blp.response(200, CallbackSchema(many=True))
    @blp.alt_response(404, schema=ProblemSchema, description="no such job, or not the caller's to see")
    def get(self, job_id):
        """The follow-up calls made about a job."""
        return feedback.list_callbacks(unit_of_work(), current_principal(), job_id)

    @blp.arguments(CallbackCreateSchema())
    @blp.response(201, CallbackSchema)
    @blp.alt_response(403, schema=ProblemSchema, description="the call centre (HQ admins) or the point's manager")
    @blp.alt_response(409, schema=ProblemSchema, description="the job is not completed")
    def post(self, body, job_id):
        """Record the result of a follow-up call (a score given on the phone rates the job; a call that
        reaches the customer closes the job's callback items)."""
        callback = feedback.record_callback(unit_of_work(), current_principal(), job_id, **body)
        return callback, {"Location": url_for("feedback.JobCallbacks", job_id=job_id)}


@blp.route("/jobs/<uuid:job_id>/rating-link")
class JobRatingLink(MethodView):
    @blp.response(200, RatingLinkSchema)
    @blp.alt_response(404, schema=ProblemSchema, description="no such job, or not the caller's point's")
    def get(self, job_id):
        """The customer's rating link for a completed visit, and the texts that carried it (manager, HQ)."""
        return feedback.rating_link(unit_of_work(), current_principal(), job_id, secret_key=settings().secret_key,
                                    link_base=settings().feedback_link_base)

    @blp.response(202, RatingLinkSchema)
    @blp.alt_response(404, schema=ProblemSchema, description="no such job, or not the caller's point's")
    @blp.alt_response(409, schema=ProblemSchema, description="the visit is not completed, or rated already")
    def post(self, job_id):
        """Text the rating link to the customer again (replacing an unsent one); it is sent right away."""
        return feedback.resend_rating_link(unit_of_work(), task_queue(), current_principal(), job_id,
                                           secret_key=settings().secret_key, link_base=settings().feedback_link_base)


@blp.route("/callbacks")
class CallbackWorklist(MethodView):
    @blp.arguments(CallbackItemFilterSchema(), location="query")
    @blp.response(200, CallbackItemSchema(many=True))
    @blp.paginate()
    def get(self, filters, pagination_parameters):
        """The callback (回访) worklist: customers who rated a visit 2 or less, earliest due first
        (a manager: their point's; `?status=open&overdue=true` is what is late)."""
        items, total = feedback.callback_worklist(unit_of_work(), current_principal(),
                                                  offset=pagination_parameters.first_item,
                                                  limit=pagination_parameters.page_size, **filters)
        pagination_parameters.item_count = total
        return items
