"""The unit of work: one business transaction per use case."""

from __future__ import annotations

from collections.abc import Callable
from typing import Self

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from dispatch.errors import Conflict


class UnitOfWork:
    """One business transaction. Nothing is written unless :meth:`commit` is called.

    It either owns its session (workers, seeds, scripts: built from ``session_factory`` and
    closed on exit) or borrows the request's session (the API: the session stays open until the
    request ends so the response can be serialised, and is closed by the app teardown).
    Either way an exception inside the ``with`` block rolls the transaction back.
    """

    session: Session

    def __init__(
        self,
        session_factory: sessionmaker[Session] | None = None,
        *,
        session: Session | None = None,
    ) -> None:
        if (session_factory is None) == (session is None):
            raise ValueError("give exactly one of session_factory or session")
        self._session_factory = session_factory
        self._borrowed = session
        self._after_commit: list[Callable[[], None]] = []

    def __enter__(self) -> Self:
        self.session = self._borrowed if self._borrowed is not None else self._session_factory()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is not None:
                self.session.rollback()
        finally:
            self._after_commit.clear()
            if self._borrowed is None:
                self.session.close()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the transaction is durable (e.g. enqueue a background task)."""
        self._after_commit.append(callback)

    def commit(self) -> None:
        try:
            self.session.commit()
        except IntegrityError as exc:
            self.session.rollback()
            raise Conflict("the change conflicts with existing data") from exc
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()


UowFactory = Callable[[], UnitOfWork]


class SavepointUnitOfWork(UnitOfWork):
    """A unit of work inside someone else's transaction, as a savepoint: what a service commits
    is released into the enclosing transaction (written for real when that one commits), what
    it rolls back is only its own work. Bulk imports run the very services the API calls, a
    batch of rows to one transaction, each row whole or not at all.

    ``after_commit`` callbacks are handed to ``deferred`` (the enclosing transaction runs them
    once it is durable). Whatever a service does after its commit belongs to the enclosing
    transaction (services only read then)."""

    def __init__(self, session: Session, deferred: list[Callable[[], None]] | None = None) -> None:
        super().__init__(session=session)
        self._deferred = deferred if deferred is not None else []

    def __enter__(self) -> Self:
        super().__enter__()
        self._savepoint = self.session.begin_nested()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._savepoint.is_active:
            self._savepoint.rollback()
        self._after_commit.clear()

    def commit(self) -> None:
        try:
            self.session.flush()
            self._savepoint.commit()
        except IntegrityError as exc:
            if self._savepoint.is_active:
                self._savepoint.rollback()
            raise Conflict("the change conflicts with existing data") from exc
        self._deferred.extend(self._after_commit)
        self._after_commit = []
