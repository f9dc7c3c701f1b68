"""What a view needs from the app: the request's unit of work, the caller, ports, settings."""

from __future__ import annotations

from flask import current_app, g

from dispatch.auth.principal import CustomerPrincipal, Principal
from dispatch.config import Settings
from dispatch.ports import TaskQueue
from dispatch.uow import UnitOfWork


def _state():
    return current_app.extensions["dispatch"]


def settings() -> Settings:
    return _state().settings


def request_session():
    """One session per request, closed by the app's teardown (carrying the app's session info:
    the task queue that after-commit listeners enqueue on)."""
    if "db_session" not in g:
        state = _state()
        g.db_session = state.session_factory()
        g.db_session.info.update(state.session_info)
    return g.db_session


def unit_of_work() -> UnitOfWork:
    return UnitOfWork(session=request_session())


def current_principal() -> Principal:
    return g.principal


def current_customer() -> CustomerPrincipal:
    """The signed-in customer of a customer route (set by the app's authentication hook)."""
    return g.customer


def limiter(name: str):
    """One of the customer channel's rate limiters (``otp_phone``, ``otp_address``, ...)."""
    return _state().limiters[name]


def task_queue() -> TaskQueue:
    return _state().task_queue


def token_config():
    return _state().token_config


def close_request_session(_exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
