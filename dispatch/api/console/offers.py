"""Offering slots to a caller from the dispatch board: pick a waiting job, or describe a new
caller (where, what job, which product), see the windows ranked as the API ranks them
(:mod:`dispatch.routing.slots`), and book one. A new caller's job is taken in first (the same
intake as the API); if the window was taken meanwhile the job waits in the queue and the page
offers its slots again.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from flask import redirect, render_template, request, url_for

from dispatch.api.console.board import MAX_ROWS, day_asked, visible_point
from dispatch.api.console.i18n import gettext
from dispatch.api.console.web import act, bp, form_uuid, principal, say
from dispatch.api.deps import settings, unit_of_work
from dispatch.errors import DispatchError, ValidationFailed
from dispatch.i18n import N_
from dispatch.jobs import intake
from dispatch.jobs import service as jobs
from dispatch.jobs.rules import JobStatus
from dispatch.network import catalogue
from dispatch.network.enums import JobType
from dispatch.routing import slots

DEFAULT_MINUTES = 60


def _float(name: str) -> float | None:
    try:
        return float(request.values.get(name, ""))
    except ValueError:
        return None


def _when(name: str) -> datetime:
    """``window_start``/``window_end`` of the form, or the halves of its ``window`` (start|end)."""
    given = request.form.get(name)
    if given is None and "|" in request.form.get("window", ""):
        given = request.form["window"].split("|", 1)[0 if name == "window_start" else 1]
    try:
        moment = datetime.fromisoformat(given or "")
    except ValueError:
        raise ValidationFailed(name, N_("give a date and time")) from None
    if moment.tzinfo is None:
        raise ValidationFailed(name, N_("needs a time zone offset"))
    return moment


@bp.route("/points/<uuid:point_id>/slots")
def offer_slots(point_id: uuid.UUID):
    """The caller's question: a waiting job (``job_id``) or a new caller's place and job."""
    me, tz = principal(), settings().timezone
    point = visible_point(point_id)
    day = day_asked(request.args.get("day"))
    queue, _ = jobs.list_jobs(unit_of_work(), me, status=[JobStatus.DISPATCHED], service_point_id=point.id,
                              limit=MAX_ROWS, tz=tz)
    products, _ = catalogue.list_products(unit_of_work(), me, offset=0, limit=200)
    asked = {"job_id": request.args.get("job_id", ""), "lat": request.args.get("lat", ""),
             "lon": request.args.get("lon", ""), "job_type": request.args.get("job_type", JobType.REPAIR.value),
             "product_sku": request.args.get("product_sku", ""),
             "duration_minutes": request.args.get("duration_minutes", str(DEFAULT_MINUTES))}
    offer, chosen, error = None, None, None
    try:
        if asked["job_id"]:
            chosen = jobs.get_job(unit_of_work(), me, uuid.UUID(asked["job_id"]))
            offer = slots.job_slots(unit_of_work(), me, chosen.id, first=day, last=day, timezone=tz)
        elif asked["product_sku"] and _float("lat") is not None and _float("lon") is not None:
            offer = slots.prospective_slots(
                unit_of_work(), me, point.id, first=day, last=day, timezone=tz, lat=_float("lat"), lon=_float("lon"),
                job_type=JobType(asked["job_type"]), product_sku=asked["product_sku"],
                duration_minutes=int(asked["duration_minutes"] or DEFAULT_MINUTES))
    except (ValueError, DispatchError) as failure:
        if isinstance(failure, DispatchError) and failure.code == "not-found":
            raise
        error = say(failure) if isinstance(failure, DispatchError) else gettext("Check the caller's details.")
    return render_template("console/slots.html", point=point, day=day, queue=queue, products=products,
                           asked=asked, offer=offer, chosen=chosen, error=error, job_types=list(JobType),
                           nav="board")


@bp.route("/jobs/<uuid:job_id>/booking", methods=["POST"])
def book_slot(job_id: uuid.UUID):
    """Book an offered window for a waiting job (409 ``slot-taken`` is shown, the slots again)."""
    booked = {}

    def book():
        booked["it"] = slots.book(unit_of_work(), principal(), job_id, window_start=_when("window_start"),
                                  window_end=_when("window_end"), timezone=settings().timezone)

    back = url_for("console.offer_slots", point_id=form_uuid("point_id"), job_id=job_id,
                   day=request.form.get("day", ""))
    response = act(book, gettext("The slot was booked."), back)
    return redirect(url_for("console.job", job_id=job_id)) if booked else response


@bp.route("/points/<uuid:point_id>/callers", methods=["POST"])
def book_new_caller(point_id: uuid.UUID):
    """Take a new caller's job in, then book the window they chose."""
    form = request.form
    day = form.get("day", "")
    created = {}

    def take_in():
        lat, lon = _float("lat"), _float("lon")
        if lat is None or lon is None:
            raise ValidationFailed("lat", N_("give the caller's location"))
        created["job"] = intake.create_job(
            unit_of_work(), principal(), type=JobType(form.get("job_type", JobType.REPAIR.value)),
            radius_km=settings().fallback_radius_km, tz=settings().timezone,
            customer={"name": form.get("name", "").strip(), "phone": form.get("phone", "").strip(),
                      "address": form.get("address", "").strip(), "location": {"lat": lat, "lon": lon}},
            product_sku=form.get("product_sku") or None, address=form.get("address", "").strip(),
            location={"lat": lat, "lon": lon}, description=form.get("description", "").strip())

    asked = {k: form.get(k, "") for k in ("lat", "lon", "job_type", "product_sku", "duration_minutes")}
    response = act(take_in, gettext("The caller's job was taken in."),
                   url_for("console.offer_slots", point_id=point_id, day=day, **asked))
    if "job" not in created:
        return response
    return book_slot(created["job"].id)

