"""Rate limits on the authentication endpoints (per client address and username)."""

from __future__ import annotations

from flask import current_app, request


def limit_auth(subject: str) -> None:
    limiter = current_app.extensions["dispatch"].auth_limiter
    limiter.check(f"auth:{request.remote_addr}:{subject.lower()[:120]}")
