"""The composition root: settings, engine, session factory, task queue, HTTP layer."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from dispatch import models as _every_mapper  # noqa: F401 - all mappers exist before a module builds a query
from dispatch import api, wiring
from dispatch.api import console
from dispatch.api.errors import handle_dispatch_error
from dispatch.api.json_provider import OrjsonProvider
from dispatch.auth.service import TokenConfig
from dispatch.config import Settings
from dispatch.db import make_engine, make_session_factory
from dispatch.errors import Conflict, RuleViolation, ServiceUnavailable
from dispatch.ports import SESSION_TASK_QUEUE, TaskQueue
from dispatch.queueing import InlineTaskQueue, RqTaskQueue
from dispatch.ratelimit import MemoryCounter, RateLimiter, RedisCounter
from dispatch.runtime import TaskRuntime
from dispatch.uow import UnitOfWork

log = logging.getLogger(__name__)


@dataclass
class AppState:
    """Everything the HTTP layer reaches through ``app.extensions["dispatch"]``."""

    settings: Settings
    session_factory: sessionmaker[Session]
    task_queue: TaskQueue
    token_config: TokenConfig
    auth_limiter: RateLimiter
    address_limiter: RateLimiter
    engine: Any = None
    public_endpoints: set[str] = field(default_factory=set)
    customer_blueprints: set[str] = field(default_factory=set)
    # The customer channel's budgets: codes per number, codes per address, wrong codes per
    # address, public look-ups per address (see Settings).
    limiters: dict[str, RateLimiter] = field(default_factory=dict)
    session_blueprints: set[str] = field(default_factory=set)  # sign in with a session, not a token
    metrics: Any = None
    # Given to every request session (Session.info): the task queue its after-commit listeners
    # enqueue on, unless tasks run inline (then nothing runs at commit; see integrations.prompt).
    session_info: dict[str, Any] = field(default_factory=dict)


def _settings(config: Settings | Mapping[str, Any] | None) -> Settings:
    if isinstance(config, Settings):
        return config
    settings = Settings.from_env()
    return settings.with_(**dict(config)) if config else settings


def create_app(
    config: Settings | Mapping[str, Any] | None = None,
    *,
    session_factory: sessionmaker[Session] | None = None,
    task_queue: TaskQueue | None = None,
) -> Flask:
    """Build the WSGI app. ``config`` is a :class:`Settings` or a mapping of overrides."""
    wiring.install()  # the job-lifecycle hooks and the sync feed's listeners
    settings = _settings(config)
    app = Flask(__name__, instance_path=str(settings.instance_path.resolve()))
    app.json = OrjsonProvider(app)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        TESTING=settings.testing,
    )
    engine = None
    if session_factory is None:
        engine = make_engine(settings.database_url)
        session_factory = make_session_factory(engine)
    runtime = TaskRuntime(settings=settings, uow_factory=lambda: UnitOfWork(session_factory))
    if task_queue is None:
        task_queue = RqTaskQueue(settings.redis_url) if settings.redis_url else InlineTaskQueue(runtime)
    counter = RedisCounter(task_queue.connection) if isinstance(task_queue, RqTaskQueue) else MemoryCounter()
    inline = isinstance(task_queue, InlineTaskQueue)
    app.extensions["dispatch"] = AppState(
        settings=settings,
        session_factory=session_factory,
        task_queue=task_queue,
        token_config=TokenConfig(
            secret_key=settings.secret_key,
            access_ttl_s=settings.access_token_ttl_s,
            refresh_ttl_s=settings.refresh_token_ttl_s,
            password_hash_method=settings.password_hash_method,
        ),
        auth_limiter=RateLimiter(counter, *settings.auth_rate_limit),
        address_limiter=RateLimiter(counter, *settings.auth_address_rate_limit),
        engine=engine,
        limiters={
            "otp_phone": RateLimiter(counter, *settings.otp_phone_rate_limit),
            "otp_address": RateLimiter(counter, *settings.otp_address_rate_limit),
            "otp_verify": RateLimiter(counter, *settings.otp_verify_rate_limit),
            "public": RateLimiter(counter, *settings.public_rate_limit),
        },
        session_info={} if inline else {SESSION_TASK_QUEUE: task_queue},
    )
    api.init_app(app)
    console.init_app(app)
    if settings.proxy_hops:
        # Trust exactly that many X-Forwarded-For entries (the ones our proxies appended): the
        # client address (rate-limit key, logs) cannot be spoofed by a header the client sends.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops)

    @app.errorhandler(DBAPIError)
    def database_error(error: DBAPIError):
        """Backstop for database errors a service did not turn into a domain error."""
        if isinstance(error, IntegrityError):
            return handle_dispatch_error(Conflict("the change conflicts with existing data"))
        if isinstance(error, DataError):
            return handle_dispatch_error(RuleViolation("a value does not fit its column"))
        log.warning("database error: %s", error.__class__.__name__, exc_info=error)
        return handle_dispatch_error(
            ServiceUnavailable("the database is unavailable; retry shortly", retry_after_s=5)
        )

    @app.errorhandler(OverflowError)
    def number_out_of_range(error: OverflowError):
        """SQLite's driver refuses an integer beyond 64 bits (e.g. ``?page=10**30``) with a bare
        OverflowError before the query runs; PostgreSQL answers the same input with a DataError."""
        return handle_dispatch_error(RuleViolation("a number in the request is out of range"))

    return app
