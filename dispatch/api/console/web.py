"""The console's blueprint and what every page shares: the signed-in principal (the same
authorisation layer as the API), CSRF on every form, HTML error pages, local times."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError, generate_csrf, validate_csrf
from wtforms import ValidationError

from dispatch.api.deps import settings, unit_of_work
from dispatch.auth import service as auth_service
from dispatch.network.technicians import technician_id_of
from dispatch.auth.enums import Role
from dispatch.api.console.i18n import COOKIE, LOCALES, current_locale, gettext
from dispatch.errors import DispatchError, Forbidden, NotFound, Unauthorized

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates",
               static_folder="static", static_url_path="/static")

OPEN_ENDPOINTS = {"console.sign_in", "console.static", "console.language"}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def principal():
    return g.principal


def zone() -> ZoneInfo:
    return ZoneInfo(settings().timezone) if isinstance(settings().timezone, str) else settings().timezone


def local(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(zone())


def today() -> date:
    from dispatch.clock import utcnow

    return utcnow().astimezone(zone()).date()


@bp.before_request
def authenticate():
    """Every console page but sign-in needs a session; every unsafe request needs the form's
    CSRF token (the session cookie alone never authorises a change)."""
    if request.method in UNSAFE:
        try:
            validate_csrf(request.form.get("csrf_token") or request.headers.get("X-CSRFToken"))
        except ValidationError as exc:
            raise CSRFError(str(exc)) from exc
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    user_id, version = session.get("uid"), session.get("ver")
    if not user_id:
        return redirect(url_for("console.sign_in", next=request.full_path.rstrip("?")))
    try:
        g.principal = auth_service.principal_for(unit_of_work(), uuid.UUID(user_id), version,
                                                  technician_of=technician_id_of)
    except Unauthorized:
        session.clear()
        flash(gettext("Your session has ended; sign in again."), "error")
        return redirect(url_for("console.sign_in"))
    return None


@bp.app_template_global()
def csrf_token() -> str:
    return generate_csrf()


@bp.context_processor
def page_context() -> dict[str, Any]:
    return {"_": gettext, "locale": current_locale(), "locales": LOCALES, "me": g.get("principal"),
            "Role": Role, "local": local}


@bp.app_template_filter("hm")
def hours_minutes(moment: datetime | None) -> str:
    return "" if moment is None else local(moment).strftime("%H:%M")


@bp.app_template_filter("dhm")
def day_hours_minutes(moment: datetime | None) -> str:
    return "" if moment is None else local(moment).strftime("%Y-%m-%d %H:%M")


@bp.errorhandler(NotFound)
def not_found(error: NotFound):
    return render_template("console/error.html", title=gettext("Not found"),
                           message=gettext("This page does not exist, or it is not yours to see.")), 404


@bp.errorhandler(Forbidden)
def forbidden(error: Forbidden):
    return render_template("console/error.html", title=gettext("Not allowed"), message=error.detail), 403


@bp.errorhandler(CSRFError)
def csrf_failed(error: CSRFError):
    return render_template("console/error.html", title=gettext("Not allowed"),
                           message=gettext("The form has expired; please try again.")), 400


def act(change: Callable[[], Any], done: str, back: str):
    """Run one service call for a form: on success say ``done``; a refused change (a rule, a
    conflict, bad input) is shown as the service worded it. Either way back to ``back``."""
    try:
        change()
    except (NotFound, Forbidden):
        raise
    except DispatchError as error:
        flash(error.detail, "error")  # a ValidationFailed's detail names its field
    else:
        flash(done, "ok")
    return redirect(back)


def form_uuid(name: str) -> uuid.UUID:
    try:
        return uuid.UUID(request.form.get(name, ""))
    except ValueError:
        abort(400)


@bp.route("/language", methods=["POST"])
def language():
    chosen = request.form.get("locale")
    back = request.form.get("next") or url_for("console.home")
    response = redirect(back if back.startswith("/console") else url_for("console.home"))
    if chosen in LOCALES:
        response.set_cookie(COOKIE, chosen, max_age=365 * 24 * 3600, path="/console", secure=True,
                            httponly=True, samesite="Lax")
    return response
