"""Who the customer is: a phone number proven by a one-time code, then a customer token.

- A code is 6 digits, valid :data:`CODE_TTL`, good once, and dies after :data:`MAX_ATTEMPTS`
  wrong guesses or when a newer code is sent to the number. Only a keyed hash (HMAC-SHA256 with
  the app secret, bound to the number) is stored; the SMS goes through the notification outbox
  and its copy of the code is dropped once the message is final.
- Asking for a code never tells whether the number belongs to a customer: the answer is the same,
  and a new number becomes a customer only once it proves itself with a code.
- Per-number and per-address budgets (and a budget of wrong codes per address) are enforced at
  the HTTP edge (``dispatch.api.customer_auth``); the attempt counter per code is enforced here.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from dispatch.auth import service as auth_service
from dispatch.auth.principal import CustomerPrincipal
from dispatch.care import notifications
from dispatch.care.models import Channel
from dispatch.care.templates import Template
from dispatch.clock import utcnow
from dispatch.customers.models import OtpCode
from dispatch.errors import NotFound, Unauthorized, ValidationFailed
from dispatch.i18n import DEFAULT_LOCALE, N_, normalise
from dispatch.network.customers import normalise_phone
from dispatch.network.models import Customer
from dispatch.ports import TaskQueue
from dispatch.uow import UnitOfWork

CODE_TTL = timedelta(minutes=5)
MAX_ATTEMPTS = 5
CODE_DIGITS = 6
DELIVER_TASK = "workers.care_tasks.deliver_notifications"
WRONG_CODE = N_("the code is wrong, used or expired; ask for a new one")


@dataclass(frozen=True)
class CodeSent:
    expires_at: datetime
    ttl_s: int


@dataclass(frozen=True)
class CustomerSession:
    access_token: str
    expires_in: int
    customer: Customer
    new_customer: bool
    token_type: str = "Bearer"


def _hash(secret_key: str, phone: str, code: str) -> str:
    return hmac.new(secret_key.encode(), f"otp:{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def _customer_by_phone(session: Session, phone: str) -> Customer | None:
    return session.scalar(select(Customer).where(Customer.phone == phone).limit(1))


def request_code(uow: UnitOfWork, tasks: TaskQueue, *, secret_key: str, phone: str,
                 locale: str | None = None) -> CodeSent:
    """Text a new sign-in code to ``phone`` (earlier unused codes die) and deliver it at once."""
    phone = normalise_phone(phone, "phone")
    now = utcnow()
    code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
    with uow:
        session = uow.session
        session.execute(update(OtpCode).where(OtpCode.phone == phone, OtpCode.consumed_at.is_(None),
                                              OtpCode.revoked_at.is_(None)).values(revoked_at=now))
        otp = OtpCode(phone=phone, code_hash=_hash(secret_key, phone, code), created_at=now,
                      expires_at=now + CODE_TTL, attempts=0)
        session.add(otp)
        customer = _customer_by_phone(session, phone)
        language = (customer.locale if customer is not None else None) or normalise(locale) or DEFAULT_LOCALE
        notifications.queue(session, channel=Channel.SMS, recipient=phone, template=Template.SIGN_IN_CODE,
                            payload={"code": code, "minutes": int(CODE_TTL.total_seconds() // 60),
                                     "expires_at": otp.expires_at.isoformat(), "locale": language},
                            customer_id=customer.id if customer is not None else None)
        task_id = f"deliver-notifications-otp-{uuid.uuid4().hex}"
        uow.after_commit(lambda: tasks.enqueue(DELIVER_TASK, task_id=task_id, queue="notifications"))
        uow.commit()
    return CodeSent(expires_at=otp.expires_at, ttl_s=int(CODE_TTL.total_seconds()))


def verify_code(uow: UnitOfWork, config: auth_service.TokenConfig, *, phone: str, code: str, ttl_s: int,
                locale: str | None = None) -> CustomerSession:
    """Trade a live code for a customer token (a first sign-in makes the number a customer).
    Every failure is the same 401: wrong, used, expired, revoked or never sent."""
    phone = normalise_phone(phone, "phone")
    if not (code.isdigit() and len(code) == CODE_DIGITS):
        raise ValidationFailed("code", N_("the code is {digits} digits"), params={"digits": CODE_DIGITS})
    now = utcnow()
    with uow:
        session = uow.session
        otp = session.scalar(
            select(OtpCode).where(OtpCode.phone == phone, OtpCode.consumed_at.is_(None),
                                  OtpCode.revoked_at.is_(None), OtpCode.expires_at > now,
                                  OtpCode.attempts < MAX_ATTEMPTS)
            .order_by(OtpCode.created_at.desc()).limit(1))
        if otp is None:
            raise Unauthorized(WRONG_CODE)
        if not hmac.compare_digest(otp.code_hash, _hash(config.secret_key, phone, code)):
            session.execute(update(OtpCode).where(OtpCode.id == otp.id)
                            .values(attempts=OtpCode.attempts + 1).execution_options(synchronize_session=False))
            uow.commit()  # the wrong guess counts even though the answer is an error
            raise Unauthorized(WRONG_CODE)
        used = session.execute(update(OtpCode).where(OtpCode.id == otp.id, OtpCode.consumed_at.is_(None))
                               .values(consumed_at=now).execution_options(synchronize_session=False)).rowcount
        if used != 1:  # a concurrent sign-in used it first
            raise Unauthorized(WRONG_CODE)
        customer = _customer_by_phone(session, phone)
        new = customer is None
        if customer is None:
            customer = Customer(name="", phone=phone, address="", locale=normalise(locale))
            session.add(customer)
            session.flush()
        uow.commit()
        token = auth_service.customer_token(config, customer.id, customer.token_version, ttl_s)
        return CustomerSession(access_token=token, expires_in=ttl_s, customer=customer, new_customer=new)


def principal_from_token(uow: UnitOfWork, config: auth_service.TokenConfig, token: str) -> CustomerPrincipal:
    """The customer a customer token speaks for (401 for a staff token, a signed-out one, ...)."""
    customer_id, version = auth_service.customer_claims(config, token)
    with uow:
        customer = uow.session.get(Customer, customer_id)
        if customer is None or customer.token_version != version:
            raise Unauthorized(N_("this session has ended; sign in again"))
        return CustomerPrincipal(customer_id=customer.id, locale=customer.locale)


def _me(session: Session, who: CustomerPrincipal) -> Customer:
    customer = session.get(Customer, who.customer_id)
    if customer is None:
        raise NotFound("customer {id} does not exist", params={"id": who.customer_id})
    return customer


def sign_out_everywhere(uow: UnitOfWork, who: CustomerPrincipal) -> None:
    """Every token issued to the customer so far stops working."""
    with uow:
        customer = _me(uow.session, who)
        customer.token_version += 1
        uow.commit()


def get_profile(uow: UnitOfWork, who: CustomerPrincipal) -> Customer:
    with uow:
        return _me(uow.session, who)


def update_profile(uow: UnitOfWork, who: CustomerPrincipal, **changes) -> Customer:
    """Name, e-mail, address and location, and the language of their texts."""
    with uow:
        customer = _me(uow.session, who)
        if "locale" in changes:
            locale = changes.pop("locale")
            if locale is not None and normalise(locale) is None:
                raise ValidationFailed("locale", N_("choose zh-CN or en"))
            customer.locale = normalise(locale) if locale else None
        if "location" in changes:
            location = changes.pop("location")
            customer.lat, customer.lon = (location["lat"], location["lon"]) if location else (None, None)
        for name in ("name", "email", "address"):
            if name in changes:
                setattr(customer, name, (changes[name] or "").strip() if name != "email" else changes[name])
        uow.commit()
        return customer
