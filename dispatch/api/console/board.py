"""The service-point manager's pages: the dispatch board, route plans, a job (reassign), stock.

Views read with the same services as the API and change through the same calls; what they add
is layout (grouping by status, where a bar sits on a timeline).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, datetime, timedelta

from flask import Response, jsonify, redirect, render_template, request, url_for
from markupsafe import Markup

from dispatch.api.deps import settings, task_queue, unit_of_work
from dispatch.auth.enums import Role
from dispatch.api.console.i18n import gettext
from dispatch.api.console.web import act, bp, form_uuid, principal, today, zone
from dispatch.errors import ValidationFailed
from dispatch.jobs import service as jobs
from dispatch.jobs.rules import JobStatus
from dispatch.network import service_points, technicians
from dispatch.routing import gantt, insertion
from dispatch.routing import service as routing
from dispatch.routing import views as plans
from dispatch.stock import movements, replenishment

BOARD_STATUSES = [JobStatus.DISPATCHED, JobStatus.SCHEDULED, JobStatus.EN_ROUTE, JobStatus.ON_SITE,
                  JobStatus.ON_HOLD, JobStatus.COMPLETED, JobStatus.CLOSED, JobStatus.CANCELLED, JobStatus.NEW]
MAX_ROWS = 500
INSERTION_TIME_LIMIT_S = 2  # the API's default: the manager waits for the answer


def visible_point(point_id: uuid.UUID):
    """The point if the caller may see it (404 otherwise: the same rule as the API)."""
    return service_points.get_service_point(unit_of_work(), principal(), point_id)


def day_asked(raw: str | None) -> date:
    if not raw:
        return today()
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return today()


def _gantt(point_id: uuid.UUID, day: date) -> Markup:
    """The technicians' booked day as the plan's Gantt picture (dispatch.routing.gantt), in the
    console's language; inline, so its bars and labels are part of the page."""
    svg = gantt.point_day_gantt_svg(unit_of_work(), principal(), point_id, day, timezone=settings().timezone,
                                    title=gettext("Technicians' day") + " " + day.isoformat(),
                                    legend={kind: gettext(text) for kind, text in gantt.LEGEND.items()})
    return Markup(svg)  # noqa: S704 - built by render_gantt, every text in it escaped


@bp.route("/board")
def board():
    """A manager's own board; HQ picks a point on the network page."""
    me = principal()
    if me.service_point_id is None:
        return redirect(url_for("console.network"))
    return redirect(url_for("console.point_board", point_id=me.service_point_id, **request.args))


@bp.route("/points/<uuid:point_id>/board")
def point_board(point_id: uuid.UUID):
    me, tz = principal(), settings().timezone
    point = visible_point(point_id)
    day = day_asked(request.args.get("day"))
    day_jobs, _ = jobs.list_jobs(unit_of_work(), me, date=day, service_point_id=point.id, limit=MAX_ROWS, tz=tz)
    queue, _ = jobs.list_jobs(unit_of_work(), me, status=[JobStatus.DISPATCHED], service_point_id=point.id,
                              limit=MAX_ROWS, tz=tz)
    team, _ = technicians.list_technicians(unit_of_work(), me, service_point_id=point.id, active=True,
                                           offset=0, limit=200)
    by_status = defaultdict(list)
    for job in day_jobs:
        by_status[job.status].append(job)
    day_plans, _ = plans.list_plans(unit_of_work(), me, point_id=point.id, day=day, offset=0, limit=5)
    return render_template(
        "console/board.html", point=point, day=day, today=today(), tomorrow=today() + timedelta(days=1),
        statuses=[s for s in BOARD_STATUSES if by_status.get(s)], by_status=by_status, queue=queue,
        gantt=_gantt(point.id, day), team=team, plan=day_plans[0] if day_plans else None, nav="board",
    )


@bp.route("/points/<uuid:point_id>/plans", methods=["POST"])
def request_plan(point_id: uuid.UUID):
    day = day_asked(request.form.get("day"))
    created = {}

    def request_it():
        created["plan"] = routing.request_plan(
            unit_of_work(), task_queue(), principal(), point_id=point_id, day=day,
            time_limit_s=settings().solve_time_limit_s, seed=0, timezone=settings().timezone)

    response = act(request_it, gettext("The plan was requested."),
                   url_for("console.point_board", point_id=point_id, day=day.isoformat()))
    if "plan" in created:
        return redirect(url_for("console.plan", plan_id=created["plan"].id))
    return response


@bp.route("/plans/<uuid:plan_id>")
def plan(plan_id: uuid.UUID):
    me, tz = principal(), settings().timezone
    view = plans.get_plan(unit_of_work(), me, plan_id)
    point = visible_point(view.service_point_id)
    waiting, _ = jobs.list_jobs(unit_of_work(), me, status=[JobStatus.DISPATCHED], date=view.date,
                                service_point_id=point.id, limit=MAX_ROWS, tz=tz)
    return render_template("console/plan.html", plan=view, point=point, waiting=waiting, nav="board")


@bp.route("/plans/<uuid:plan_id>/status")
def plan_status(plan_id: uuid.UUID):
    """What the plan page polls while the solver runs."""
    view = plans.get_plan(unit_of_work(), principal(), plan_id)
    return jsonify(status=view.status.value, progress=view.progress)


@bp.route("/plans/<uuid:plan_id>/map.svg")
def plan_map(plan_id: uuid.UUID):
    svg = plans.plan_map_svg(unit_of_work(), principal(), plan_id)
    return Response(svg, mimetype="image/svg+xml", headers={"Cache-Control": "private, no-store"})


@bp.route("/plans/<uuid:plan_id>/apply", methods=["POST"])
def apply_plan(plan_id: uuid.UUID):
    return act(lambda: routing.apply_plan(unit_of_work(), principal(), plan_id),
               gettext("The plan was applied."), url_for("console.plan", plan_id=plan_id))


@bp.route("/plans/<uuid:plan_id>/insertions", methods=["POST"])
def insert_job(plan_id: uuid.UUID):
    job_id = form_uuid("job_id")
    return act(lambda: insertion.insert_job(unit_of_work(), principal(), plan_id=plan_id, job_id=job_id,
                                            time_limit_s=INSERTION_TIME_LIMIT_S),
               gettext("The job was inserted."), url_for("console.plan", plan_id=plan_id))


@bp.route("/jobs/<uuid:job_id>")
def job(job_id: uuid.UUID):
    me = principal()
    found = jobs.get_job(unit_of_work(), me, job_id)
    team = []
    if found.service_point_id is not None and me.role in (Role.MANAGER, Role.ADMIN):
        team, _ = technicians.list_technicians(unit_of_work(), me, service_point_id=found.service_point_id,
                                               active=True, offset=0, limit=200)
    start = found.scheduled_start or found.window_start
    start = start.astimezone(zone()) if start else None
    return render_template("console/job.html", job=found, team=team, nav="board",
                           board_day=start.date().isoformat() if start else None,
                           start_value=start.strftime("%Y-%m-%dT%H:%M") if start else "")


def _local_datetime(raw: str, field: str) -> datetime:
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(field, "give a date and time") from None
    return moment.replace(tzinfo=zone()) if moment.tzinfo is None else moment


@bp.route("/jobs/<uuid:job_id>/assignment", methods=["POST"])
def reassign(job_id: uuid.UUID):
    technician_id = form_uuid("technician_id")

    def assign():
        jobs.assign_job(unit_of_work(), principal(), job_id, technician_id=technician_id,
                        scheduled_start=_local_datetime(request.form.get("scheduled_start", ""), "scheduled_start"),
                        reason=request.form.get("reason", "").strip(), locked=request.form.get("locked") == "on",
                        tz=settings().timezone)

    return act(assign, gettext("The job was reassigned."), url_for("console.job", job_id=job_id))


@bp.route("/points/<uuid:point_id>/stock")
def stock(point_id: uuid.UUID):
    me = principal()
    point = visible_point(point_id)
    levels, _ = movements.list_levels(unit_of_work(), me, location=point.code, offset=0, limit=MAX_ROWS)
    moves = [m for m in replenishment.suggest(unit_of_work(), me)
             if m.destination.service_point_id == point.id]
    return render_template("console/stock.html", point=point, levels=levels, moves=moves, nav="stock")

