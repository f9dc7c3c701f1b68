"""Sign-in with the existing accounts, sign-out, and each role's start page."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, session, url_for

from dispatch.api.deps import token_config, unit_of_work
from dispatch.api.ratelimit import failed_login_budget, limit_auth
from dispatch.auth import service as auth_service
from dispatch.auth.enums import Role
from dispatch.api.console.i18n import gettext
from dispatch.api.console.web import bp, principal
from dispatch.errors import TooManyRequests, Unauthorized


def _safe_next(target: str | None) -> str | None:
    """Only a path inside the console (never another site: no open redirect)."""
    if target and target.startswith("/console/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        try:
            limit_auth(username)
            with failed_login_budget():
                user_id, version = auth_service.sign_in(unit_of_work(), token_config(), username=username,
                                                        password=password)
        except TooManyRequests:
            flash(gettext("Too many attempts; try again later."), "error")
            return render_template("console/sign_in.html", username=username), 429
        except Unauthorized:
            flash(gettext("Unknown username or wrong password."), "error")
            return render_template("console/sign_in.html", username=username), 401
        session.clear()  # a new session for the new user (no fixation of a pre-sign-in session)
        session.permanent = True
        session["uid"], session["ver"] = str(user_id), version
        return redirect(_safe_next(request.args.get("next")) or url_for("console.home"))
    return render_template("console/sign_in.html", username="")


@bp.route("/sign-out", methods=["POST"])
def sign_out():
    session.clear()
    return redirect(url_for("console.sign_in"))


@bp.route("/")
def home():
    """Each role's start page: the manager's board, the reviewer's queue, HQ's network."""
    me = principal()
    if me.role == Role.MANAGER:
        return redirect(url_for("console.board"))
    if me.role == Role.REVIEWER:
        return redirect(url_for("console.audit_queue"))
    if me.role == Role.ADMIN:
        return redirect(url_for("console.network"))
    return render_template("console/error.html", title=gettext("Not allowed"),
                           message="the console is for managers, reviewers and HQ"), 403
