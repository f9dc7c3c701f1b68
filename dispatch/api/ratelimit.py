"""Rate limits on the authentication endpoints.

- Every token or refresh request counts against a budget per client address and username
  (``DISPATCH_AUTH_RATE_LIMIT``): guessing one account's password is slow.
- Every *failed* login counts against a budget per client address, whatever the username
  (``DISPATCH_AUTH_ADDRESS_RATE_LIMIT``): trying one password against many accounts (password
  spraying) is slow too, while a shared office address whose people log in successfully is
  never locked out. An attempt holds its share of the budget while it runs, so concurrent
  attempts cannot overshoot it.

The counters live in Redis when it is configured, so every gunicorn process shares them.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from flask import current_app, request

from dispatch.errors import Unauthorized


def limit_auth(subject: str) -> None:
    limiter = current_app.extensions["dispatch"].auth_limiter
    limiter.check(f"auth:{request.remote_addr}:{subject.lower()[:120]}")


def failed_login_budget() -> AbstractContextManager[None]:
    """429 once this address has used its budget of failed logins; a failure inside uses one."""
    limiter = current_app.extensions["dispatch"].address_limiter
    return limiter.failures(f"auth-failures:{request.remote_addr}", Unauthorized)
