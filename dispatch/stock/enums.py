"""The stock domain's enumerations: dispatch.api uses them without importing the models."""

from __future__ import annotations

from enum import StrEnum

# A claim's rejection reasons live with the pure claim rules (dispatch.stock.rules).
from dispatch.stock.rules import ClaimRejection  # noqa: F401

BILLING_CURRENCY = "CNY"


class LocationKind(StrEnum):
    HQ = "hq"  # the central warehouse (exactly one)
    POINT = "point"  # a service point's store room
    VAN = "van"  # a technician's van


class MovementKind(StrEnum):
    RECEIVE = "receive"  # goods from a supplier into the HQ warehouse
    TRANSFER = "transfer"  # dispatched from one location; in transit at the other until receipt
    TRANSFER_RECEIPT = "transfer_receipt"  # the receiver confirmed: in transit -> on hand
    RESERVE = "reserve"  # set aside for a job
    RELEASE = "release"  # a reservation given back
    CONSUME = "consume"  # fitted on a job
    RETURN_DEFECTIVE = "return_defective"  # out of usable stock, back to HQ's defective bin
    ADJUST = "adjust"  # count correction (reason required)


class TransferStatus(StrEnum):
    IN_TRANSIT = "in_transit"
    RECEIVED = "received"


class ReservationStatus(StrEnum):
    ACTIVE = "active"
    CONSUMED = "consumed"  # everything reserved was used
    RELEASED = "released"  # closed; what was not used went back to available


class ClaimStatus(StrEnum):
    SUBMITTED = "submitted"  # passed the automatic checks; waiting for HQ
    HELD = "held"  # a check asks for a human look (e.g. a repeat claim): waiting for HQ's review
    APPROVED = "approved"
    REJECTED = "rejected"
