"""Accounts and tokens: login, refresh with rotation and reuse detection, token verification."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from datetime import timedelta
from typing import Any

import jwt
from sqlalchemy import select, update
from werkzeug.security import check_password_hash, generate_password_hash

from dispatch.auth.models import POINT_ROLES, ApiClient, RefreshToken, Role, User
from dispatch.auth.principal import Principal
from dispatch.clock import utcnow
from dispatch.db import page
from dispatch.errors import Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed
from dispatch.uow import UnitOfWork

ISSUER = "dispatch"
AUDIENCE = "dispatch-api"
ALGORITHM = "HS256"
LEEWAY_S = 30


@cache
def dummy_hash(method: str) -> str:
    """A real hash made with ``method`` (the one new hashes get) to check a password against
    when the username is unknown: that path then costs what a wrong password costs, so the
    answer time does not tell which usernames exist. Made once per process."""
    return generate_password_hash(secrets.token_urlsafe(16), method=method)


def _hash_parameters(password_hash: str) -> str:
    """``scrypt:32768:8:1`` of ``scrypt:32768:8:1$salt$hash``."""
    return password_hash.split("$", 1)[0]


@dataclass(frozen=True)
class TokenConfig:
    secret_key: str
    access_ttl_s: int = 900
    refresh_ttl_s: int = 14 * 24 * 3600
    password_hash_method: str = "scrypt"


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    user: User
    token_type: str = "Bearer"


def hash_password(password: str, method: str = "scrypt") -> str:
    return generate_password_hash(password, method=method)


def create_user(
    session,
    *,
    username: str,
    password: str,
    role: Role,
    service_point_id: uuid.UUID | None = None,
    full_name: str = "",
    hash_method: str = "scrypt",
) -> User:
    """Add a user to the caller's transaction (no commit). Enforces the role/point pairing."""
    if role in POINT_ROLES and service_point_id is None:
        raise ValidationFailed("service_point_id", f"a {role.value} belongs to exactly one service point")
    if role not in POINT_ROLES and service_point_id is not None:
        raise ValidationFailed("service_point_id", f"a {role.value} belongs to HQ, not to a service point")
    if len(password) < 8:
        raise ValidationFailed("password", "must be at least 8 characters")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"username {username!r} is taken")
    user = User(
        username=username,
        password_hash=hash_password(password, hash_method),
        role=role,
        service_point_id=service_point_id,
        full_name=full_name,
    )
    session.add(user)
    session.flush()
    return user


def _encode(claims: dict[str, Any], config: TokenConfig) -> str:
    return jwt.encode(claims, config.secret_key, algorithm=ALGORITHM)


def _decode(token: str, config: TokenConfig, expected_type: str) -> dict[str, Any]:
    try:
        claims = jwt.decode(
            token,
            config.secret_key,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            leeway=LEEWAY_S,
            # Time claims are checked below against dispatch.clock (one notion of "now").
            options={"require": ["exp", "iat", "sub", "aud", "iss", "jti", "typ"],
                     "verify_exp": False, "verify_iat": False, "verify_nbf": False},
        )
    except jwt.PyJWTError as exc:
        raise Unauthorized("the token is not valid") from exc
    now = utcnow().timestamp()
    if not isinstance(claims["exp"], int | float) or now > claims["exp"] + LEEWAY_S:
        raise Unauthorized("the token has expired")
    if not isinstance(claims["iat"], int | float) or claims["iat"] > now + LEEWAY_S:
        raise Unauthorized("the token is not valid yet")
    if claims.get("typ") != expected_type:
        raise Unauthorized(f"an {expected_type} token is required")
    return claims


CUSTOMER_TOKEN = "customer"


def customer_token(config: TokenConfig, customer_id: uuid.UUID, token_version: int, ttl_s: int) -> str:
    """A customer session token (typ ``customer``: never accepted where staff tokens are)."""
    now = utcnow()
    return _encode({"sub": str(customer_id), "iss": ISSUER, "aud": AUDIENCE, "iat": now, "ver": token_version,
                    "typ": CUSTOMER_TOKEN, "jti": secrets.token_hex(8), "exp": now + timedelta(seconds=ttl_s)},
                   config)


def customer_claims(config: TokenConfig, token: str) -> tuple[uuid.UUID, int]:
    """The customer id and token generation a customer token names (401 if it is not one)."""
    claims = _decode(token, config, CUSTOMER_TOKEN)
    try:
        return uuid.UUID(claims["sub"]), int(claims.get("ver", 0))
    except (TypeError, ValueError) as exc:
        raise Unauthorized("the token is not valid") from exc


def _issue(session, user: User, config: TokenConfig, family: str | None = None) -> TokenPair:
    now = utcnow()
    base = {"sub": str(user.id), "iss": ISSUER, "aud": AUDIENCE, "iat": now, "ver": user.token_version}
    access = _encode(
        base | {"typ": "access", "role": user.role.value, "jti": secrets.token_hex(8),
                "exp": now + timedelta(seconds=config.access_ttl_s)},
        config,
    )
    jti = secrets.token_hex(16)
    family = family or secrets.token_hex(16)
    expires = now + timedelta(seconds=config.refresh_ttl_s)
    refresh = _encode(base | {"typ": "refresh", "jti": jti, "fam": family, "exp": expires}, config)
    session.add(RefreshToken(jti=jti, user_id=user.id, family=family, issued_at=now, expires_at=expires))
    return TokenPair(access_token=access, refresh_token=refresh, expires_in=config.access_ttl_s, user=user)


def authenticate(uow: UnitOfWork, config: TokenConfig, *, username: str, password: str) -> User:
    """Check a username and password in the caller's unit of work (no commit): the user, or
    Unauthorized. An unknown username costs what a wrong password costs; a hash made with older
    parameters is re-hashed now that the password is known. The API's token login and the
    console's sign-in both come through here."""
    user = uow.session.scalar(select(User).where(User.username == username))
    if user is not None and uow.session.scalar(select(ApiClient.id).where(ApiClient.user_id == user.id)):
        user = None  # a machine client's account: it authenticates with its client credentials only
    if user is None:
        check_password_hash(dummy_hash(config.password_hash_method), password)
        raise Unauthorized("unknown username or wrong password")
    if not check_password_hash(user.password_hash, password) or not user.is_active:
        raise Unauthorized("unknown username or wrong password")
    current = _hash_parameters(dummy_hash(config.password_hash_method))
    if _hash_parameters(user.password_hash) != current:
        # Made with other parameters (an older setting): re-hash now that the password is
        # known, so every account costs what the unknown-username path costs.
        user.password_hash = hash_password(password, config.password_hash_method)
    return user


def login(uow: UnitOfWork, config: TokenConfig, *, username: str, password: str) -> TokenPair:
    """Check the password and issue an access/refresh pair."""
    with uow:
        user = authenticate(uow, config, username=username, password=password)
        pair = _issue(uow.session, user, config)
        uow.commit()
    return pair


def sign_in(uow: UnitOfWork, config: TokenConfig, *, username: str, password: str) -> tuple[uuid.UUID, int]:
    """A browser session's sign-in (the console): the user's id and token version, which the
    session keeps; :func:`principal_for` resolves them on every request, so deactivating the
    user or bumping the version (a revoked refresh family) signs the session out too."""
    with uow:
        user = authenticate(uow, config, username=username, password=password)
        identity = (user.id, user.token_version)
        uow.commit()  # a re-hashed password
    return identity


def refresh(uow: UnitOfWork, config: TokenConfig, *, refresh_token: str) -> TokenPair:
    """Rotate a refresh token. Presenting an already-used one revokes every token of the user."""
    claims = _decode(refresh_token, config, "refresh")
    with uow:
        stored = uow.session.get(RefreshToken, claims["jti"], with_for_update=True)
        user = uow.session.get(User, uuid.UUID(claims["sub"]))
        if stored is None or user is None or not user.is_active or claims.get("ver") != user.token_version:
            raise Unauthorized("the refresh token has been revoked")
        if stored.used_at is not None:
            # Reuse: somebody holds a copy. Revoke the whole family (and every access token).
            uow.session.execute(
                update(User).where(User.id == user.id).values(token_version=User.token_version + 1)
            )
            uow.commit()
            raise Unauthorized("the refresh token was already used; all sessions are revoked")
        stored.used_at = utcnow()
        pair = _issue(uow.session, user, config, family=stored.family)
        uow.commit()
    return pair


TechnicianOf = Callable[[Any], Any]
"""Given ``User.id``, a scalar subquery of the technician id of that user (or NULL): the network
knows technicians (:func:`dispatch.network.technicians.technician_id_of`); auth, below it, does not."""


def principal_from_token(uow: UnitOfWork, config: TokenConfig, token: str, *,
                         technician_of: TechnicianOf) -> Principal:
    """Verify an access token and resolve the caller from the database (roles and point are
    never trusted from the token, so a reassignment or revocation applies at once)."""
    claims = _decode(token, config, "access")
    return principal_for(uow, uuid.UUID(claims["sub"]), claims.get("ver"), technician_of=technician_of)


def principal_for(uow: UnitOfWork, user_id: uuid.UUID, version: Any, *, technician_of: TechnicianOf) -> Principal:
    """The caller behind a verified credential (an access token's claims, or a console session):
    one authorisation layer for the API and the console."""
    with uow:  # the columns it needs, not the account entity (issue 18: a sixth of a list's CPU)
        row = uow.session.execute(
            select(User.username, User.role, User.service_point_id, User.is_active, User.token_version,
                   technician_of(User.id), ApiClient.scopes, ApiClient.revoked_at)
            .outerjoin(ApiClient, ApiClient.user_id == User.id).where(User.id == user_id)
        ).first()
    if row is None:
        raise Unauthorized("the token's user no longer exists")
    username, role, service_point_id, is_active, token_version, technician_id, scopes, revoked_at = row
    if not is_active or version != token_version or revoked_at is not None:
        raise Unauthorized("the token has been revoked")
    return Principal(
        user_id=user_id,
        username=username,
        role=role,
        service_point_id=service_point_id,
        technician_id=technician_id,
        scopes=frozenset(scopes) if scopes is not None else None,
    )


def get_user(uow: UnitOfWork, actor: Principal, user_id: uuid.UUID) -> User:
    """HQ sees every account; a manager the accounts of their point; anyone their own."""
    with uow:
        user = uow.session.get(User, user_id)
        visible = user is not None and (
            user.id == actor.user_id
            or actor.is_hq
            or (actor.role == Role.MANAGER and user.service_point_id == actor.service_point_id)
        )
        if not visible:
            raise NotFound(f"user {user_id} does not exist")
        return user


def list_users(uow: UnitOfWork, actor: Principal, *, offset: int, limit: int, role: Role | None = None):
    actor.require(Role.ADMIN, Role.REVIEWER, Role.MANAGER)
    with uow:
        query = select(User).order_by(User.username)
        if role is not None:
            query = query.where(User.role == role)
        if not actor.is_hq:
            query = query.where(User.service_point_id == actor.service_point_id)
        return page(uow.session, query, offset=offset, limit=limit)


def add_user(uow: UnitOfWork, actor: Principal, config: TokenConfig, **values) -> User:
    """HQ creates accounts of any role; a manager only technicians of their own point."""
    actor.require(Role.ADMIN, Role.MANAGER)
    if actor.role == Role.MANAGER:
        if values.get("role") != Role.TECHNICIAN:
            raise Forbidden("a manager may only create technician accounts")
        named = values.get("service_point_id")
        if named is not None and named != actor.service_point_id:
            # Refused, not quietly re-pointed: the caller meant another point's account.
            raise Forbidden("a manager may only create accounts at their own service point")
        values["service_point_id"] = actor.service_point_id
    with uow:
        user = create_user(uow.session, hash_method=config.password_hash_method, **values)
        uow.commit()
    return user


def change_password(uow: UnitOfWork, actor: Principal, config: TokenConfig, *, current_password: str,
                    new_password: str) -> None:
    """The caller changes their own password (the current one is checked); every session of the
    account ends (its tokens are revoked), so a lost phone's session goes with the old password."""
    with uow:
        user = uow.session.get(User, actor.user_id)
        if user is None or not check_password_hash(user.password_hash, current_password):
            raise ValidationFailed("current_password", "is not the account's password")
        if current_password == new_password:
            raise ValidationFailed("new_password", "is the current password")
        user.password_hash = hash_password(new_password, config.password_hash_method)
        user.token_version += 1
        uow.commit()


def set_password(uow: UnitOfWork, actor: Principal, config: TokenConfig, user_id: uuid.UUID, *,
                 new_password: str) -> None:
    """HQ sets any account's password; a manager a technician's of their point (a new or imported
    technician's first password, a forgotten one). The account's sessions end; the technician is
    expected to change it on first sign-in."""
    actor.require(Role.ADMIN, Role.MANAGER)
    with uow:
        user = uow.session.get(User, user_id)
        if user is None or (actor.role == Role.MANAGER and user.service_point_id != actor.service_point_id):
            raise NotFound(f"user {user_id} does not exist")
        if actor.role == Role.MANAGER and user.role != Role.TECHNICIAN:
            raise Forbidden("a manager may only set technicians' passwords")
        if uow.session.scalar(select(ApiClient.id).where(ApiClient.user_id == user.id)) is not None:
            raise Forbidden("a machine client's account has no password: rotate its secret instead")
        user.password_hash = hash_password(new_password, config.password_hash_method)
        user.token_version += 1
        uow.commit()

