"""Machine clients: HQ creates, rotates and revokes them; a client exchanges its credentials for a
short-lived access token (OAuth 2.0 client credentials, RFC 6749 section 4.4)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt
from sqlalchemy import select

from dispatch.auth.enums import Role, Scope
from dispatch.auth.models import ApiClient, User
from dispatch.auth.principal import Principal
from dispatch.auth.service import ALGORITHM, AUDIENCE, ISSUER, TokenConfig, create_user
from dispatch.clock import utcnow
from dispatch.db import page
from dispatch.errors import NotFound, Unauthorized, ValidationFailed
from dispatch.uow import UnitOfWork

SECRET_PREFIX = "cs_"


@dataclass(frozen=True)
class Issued:
    """A client with its secret, shown once (on creation and rotation)."""

    client: ApiClient
    client_secret: str


@dataclass(frozen=True)
class ClientToken:
    access_token: str
    expires_in: int
    scope: str
    token_type: str = "Bearer"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def _scopes(values: Iterable[Any]) -> list[str]:
    scopes = sorted({Scope(value).value for value in values})
    if not scopes:
        raise ValidationFailed("scopes", "give the client at least one scope")
    return scopes


def _client(session, client_uuid: uuid.UUID, *, lock: bool = False) -> ApiClient:
    client = session.get(ApiClient, client_uuid, with_for_update=lock or None)
    if client is None:
        raise NotFound(f"client {client_uuid} does not exist")
    return client


def create_client(uow: UnitOfWork, actor: Principal, config: TokenConfig, *, name: str,
                  scopes: list[Any]) -> Issued:
    """A new client with its own HQ account (admin). The secret is in the answer, and only there."""
    actor.require(Role.ADMIN)
    if actor.is_machine:
        raise ValidationFailed("client", "a machine client cannot create clients")
    chosen = _scopes(scopes)
    secret = _new_secret()
    with uow:
        client_id = f"cli_{secrets.token_hex(10)}"
        user = create_user(uow.session, username=f"client:{client_id}", password=secrets.token_urlsafe(32),
                           role=Role.ADMIN, full_name=name, hash_method=config.password_hash_method)
        client = ApiClient(client_id=client_id, name=name, secret_hash=_hash(secret), secret_hint=secret[-4:],
                           scopes=chosen, user_id=user.id, created_by=actor.user_id)
        uow.session.add(client)
        uow.commit()
    return Issued(client, secret)


def list_clients(uow: UnitOfWork, actor: Principal, *, offset: int, limit: int):
    actor.require(Role.ADMIN, Role.REVIEWER)
    with uow:
        return page(uow.session, select(ApiClient).order_by(ApiClient.created_at, ApiClient.id),
                    offset=offset, limit=limit)


def get_client(uow: UnitOfWork, actor: Principal, client_uuid: uuid.UUID) -> ApiClient:
    actor.require(Role.ADMIN, Role.REVIEWER)
    with uow:
        return _client(uow.session, client_uuid)


def update_client(uow: UnitOfWork, actor: Principal, client_uuid: uuid.UUID, **values: Any) -> ApiClient:
    """Rename it or change its scopes (admin); a token already issued answers with the new scopes."""
    actor.require(Role.ADMIN)
    with uow:
        client = _client(uow.session, client_uuid, lock=True)
        if client.revoked_at is not None:
            raise NotFound(f"client {client_uuid} does not exist")
        if "scopes" in values:
            client.scopes = _scopes(values["scopes"])
        if "name" in values:
            client.name = values["name"]
        uow.commit()
    return client


def rotate_secret(uow: UnitOfWork, actor: Principal, client_uuid: uuid.UUID) -> Issued:
    """A new secret (admin): the old one stops working, and so does every token issued with it."""
    actor.require(Role.ADMIN)
    secret = _new_secret()
    with uow:
        client = _client(uow.session, client_uuid, lock=True)
        if client.revoked_at is not None:
            raise NotFound(f"client {client_uuid} does not exist")
        client.secret_hash, client.secret_hint = _hash(secret), secret[-4:]
        user = uow.session.get(User, client.user_id, with_for_update=True)
        user.token_version += 1
        uow.commit()
    return Issued(client, secret)


def revoke_client(uow: UnitOfWork, actor: Principal, client_uuid: uuid.UUID) -> None:
    """Revoke a client for good (admin): its credentials and tokens stop working at once."""
    actor.require(Role.ADMIN)
    with uow:
        client = _client(uow.session, client_uuid, lock=True)
        if client.revoked_at is None:
            client.revoked_at = utcnow()
            user = uow.session.get(User, client.user_id, with_for_update=True)
            user.is_active, user.token_version = False, user.token_version + 1
        uow.commit()


def issue_token(uow: UnitOfWork, config: TokenConfig, *, client_id: str, client_secret: str,
                scope: str | None = None) -> ClientToken:
    """Client credentials -> an access token for the client's account (Unauthorized when they do
    not match a live client). ``scope`` narrows the token's answer to the scopes asked for, all of
    which the client must hold; every request is still checked against the client's scopes now."""
    with uow:
        client = uow.session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
        presented = _hash(client_secret)
        if client is None or not hmac.compare_digest(presented, client.secret_hash) or client.revoked_at is not None:
            raise Unauthorized("unknown client or wrong secret", error="invalid_client")
        held = set(client.scopes)
        asked = set(scope.split()) if scope else held
        if not asked <= held:
            raise ValidationFailed("scope", f"the client does not hold: {', '.join(sorted(asked - held))}",
                                   error="invalid_scope")
        user = uow.session.get(User, client.user_id)
        client.last_used_at = now = utcnow()
        claims = {"sub": str(user.id), "iss": ISSUER, "aud": AUDIENCE, "iat": now, "ver": user.token_version,
                  "typ": "access", "role": user.role.value, "jti": secrets.token_hex(8), "cid": client.client_id,
                  "scope": " ".join(sorted(asked)), "exp": now + timedelta(seconds=config.access_ttl_s)}
        token = jwt.encode(claims, config.secret_key, algorithm=ALGORITHM)
        uow.commit()
    return ClientToken(access_token=token, expires_in=config.access_ttl_s, scope=claims["scope"])
