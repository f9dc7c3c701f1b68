"""One app per test module, following each test's rolled-back transaction.

``create_app`` builds the whole HTTP layer and its OpenAPI document (about half a second): too
slow to repeat for modules that run a hundred short tests (the OpenAPI fuzz, the authorisation
matrix). The module builds one app whose session factory points at the current test's
transaction (``use``), so every test still starts from the demo data and rolls back.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from dispatch.app import create_app
from dispatch.config import Settings
from tests.helpers import Api


class ModuleApp:
    def __init__(self, settings: Settings) -> None:
        self._factory: sessionmaker | None = None
        self.app = create_app(settings, session_factory=self._session)  # type: ignore[arg-type]
        self.api = Api(self.app.test_client())

    def _session(self):
        if self._factory is None:
            raise RuntimeError("no test transaction: call use(session_factory) first")
        return self._factory()

    def use(self, session_factory: sessionmaker | None) -> None:
        self._factory = session_factory

    def log_in(self, engine, usernames: Iterable[str]) -> dict[str, str]:
        """Access tokens for ``usernames`` (the login's writes are rolled back; the tokens,
        signed and checked against the user row, stay valid for the module's run)."""
        with engine.connect() as connection:
            outer = connection.begin()
            self.use(sessionmaker(bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"))
            try:
                return {username: self.api.token(username) for username in usernames}
            finally:
                self.use(None)
                outer.rollback()

    def customer_token(self, engine, phone: str = "13900000000") -> str:
        """A session token of the demo customer (``phone``), signed as a real sign-in's would be."""
        from dispatch.auth import service as auth_service
        from dispatch.network.models import Customer

        with sessionmaker(bind=engine)() as session:
            me = session.scalar(select(Customer).where(Customer.phone == phone))
            assert me is not None, f"no demo customer {phone}"
            config = self.app.extensions["dispatch"].token_config
            return auth_service.customer_token(config, me.id, me.token_version, 3600)
