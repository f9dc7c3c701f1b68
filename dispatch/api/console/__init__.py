"""The web console for service-point managers and HQ reviewers: server-rendered pages on the
same services and the same authorisation layer as the API (a signed session cookie instead of a
Bearer token), CSRF-checked forms, assets served locally (works offline on a point's network).
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from dispatch.api.console import board, hq, review, signin  # noqa: F401  (routes on the blueprint)
from dispatch.api.console.web import bp

SESSION_HOURS = 10  # a working day


def init_app(app: Flask) -> None:
    app.config.update(
        SESSION_COOKIE_NAME="dispatch_console",
        SESSION_COOKIE_PATH="/console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=True,  # browsers keep Secure cookies on http://localhost too
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
        WTF_CSRF_TIME_LIMIT=SESSION_HOURS * 3600,
    )
    app.register_blueprint(bp)
    app.extensions["dispatch"].session_blueprints.add(bp.name)

    @app.after_request
    def console_headers(response):
        from flask import request

        if request.blueprint == bp.name:
            response.headers.setdefault("X-Frame-Options", "DENY")
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            response.headers.setdefault("Referrer-Policy", "same-origin")
            response.headers.setdefault(
                "Content-Security-Policy",
                "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                "frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
        return response
