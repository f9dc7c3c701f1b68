"""The unit of work: nothing is written unless committed; integrity errors become conflicts."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dispatch.auth.models import Role, User
from dispatch.errors import Conflict
from dispatch.uow import UnitOfWork


def _user(name):
    return User(username=name, password_hash="x", role=Role.ADMIN)


def test_rolls_back_uncommitted_work(session_factory):
    with UnitOfWork(session_factory) as uow:
        uow.session.add(_user("uncommitted"))
        uow.session.flush()
    with session_factory() as session:
        assert session.scalar(select(User).where(User.username == "uncommitted")) is None


def test_rolls_back_on_error(session_factory):
    with pytest.raises(RuntimeError), UnitOfWork(session_factory) as uow:
        uow.session.add(_user("failed"))
        uow.session.flush()
        raise RuntimeError("boom")
    with session_factory() as session:
        assert session.scalar(select(User).where(User.username == "failed")) is None


def test_commit_runs_after_commit_callbacks_and_turns_integrity_errors_into_conflict(session_factory):
    ran = []
    with UnitOfWork(session_factory) as uow:
        uow.session.add(_user("committed"))
        uow.after_commit(lambda: ran.append(True))
        uow.commit()
    assert ran == [True]
    with pytest.raises(Conflict), UnitOfWork(session_factory) as uow:
        uow.session.add(_user("committed"))
        uow.after_commit(lambda: ran.append(False))
        uow.commit()
    assert ran == [True]
