"""The care domain's enumerations: dispatch.api uses them without importing the models."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    SMS = "sms"
    EMAIL = "email"
    PUSH = "push"


class NotificationStatus(StrEnum):
    PENDING = "pending"  # waiting for its first or next attempt (see next_attempt_at)
    SENT = "sent"
    FAILED = "failed"  # gave up after the last attempt; stays visible to HQ and the point
    SUPERSEDED = "superseded"  # a newer message for the same job and purpose replaced it before it went out
    EXPIRED = "expired"  # the time it announced had passed before it could go out; never sent


class RatingSource(StrEnum):
    LINK = "link"  # the customer used the signed link
    CALLBACK = "callback"  # the call centre asked the customer on the phone
    ACCOUNT = "account"  # the customer rated it in their own account (customer channel)


class CallbackOutcome(StrEnum):
    REACHED = "reached"
    NO_ANSWER = "no_answer"
    WRONG_NUMBER = "wrong_number"
    DECLINED = "declined"  # reached, but the customer did not want to talk


class CallbackItemStatus(StrEnum):
    OPEN = "open"
    DONE = "done"  # the customer was reached


class ComplaintCategory(StrEnum):
    PRODUCT_QUALITY = "product_quality"
    DELIVERY = "delivery"
    AFTER_SALES = "after_sales"
    ORDER = "order"
    ACCOUNT_PAYMENT = "account_payment"


class ComplaintStatus(StrEnum):
    RECEIVED = "received"
    CLASSIFIED = "classified"
    INVESTIGATING = "investigating"
    SOLUTION_PROPOSED = "solution_proposed"
    RESOLVED = "resolved"
    CLOSED = "closed"
