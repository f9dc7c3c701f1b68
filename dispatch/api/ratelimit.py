"""Rate limits on the authentication endpoints.

- Every token or refresh request counts against a budget per client address and username
  (``DISPATCH_AUTH_RATE_LIMIT``): guessing one account's password is slow.
- Every *failed* login counts against a budget per client address, whatever the username
  (``DISPATCH_AUTH_ADDRESS_RATE_LIMIT``): trying one password against many accounts (password
  spraying) is slow too, while a shared office address whose people log in successfully is
  never locked out. Two failures racing past the check may overshoot it by one each.

The counters live in Redis when it is configured, so every gunicorn process shares them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app, request

from dispatch.errors import Unauthorized


def limit_auth(subject: str) -> None:
    limiter = current_app.extensions["dispatch"].auth_limiter
    limiter.check(f"auth:{request.remote_addr}:{subject.lower()[:120]}")


@contextmanager
def failed_login_budget() -> Iterator[None]:
    """429 once this address spent its budget of failed logins; a failure inside spends one."""
    limiter = current_app.extensions["dispatch"].address_limiter
    key = f"auth-failures:{request.remote_addr}"
    limiter.require_budget(key)
    try:
        yield
    except Unauthorized:
        limiter.spend(key)
        raise
