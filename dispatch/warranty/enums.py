"""Enumerations of the warranty domain (stored by value)."""

from __future__ import annotations

from enum import StrEnum


class FaultKind(StrEnum):
    DEFECT = "defect"  # a product defect: the manufacturer pays (warranty)
    MISUSE = "misuse"  # misuse or an outside cause (water quality, third-party install, damage): the customer pays


class PartnerKind(StrEnum):
    AGENT = "agent"  # regional distributor (代理商)
    DEALER = "dealer"  # the shop that sells to the end customer (经销商)


class JourneyKind(StrEnum):
    FACTORY_OUT = "factory_out"  # left the factory (no partner)
    TO_AGENT = "to_agent"  # shipped to an agent
    TO_DEALER = "to_dealer"  # shipped to a dealer
    ACTIVATION = "activation"  # sold and activated, by the dealer named


JOURNEY_ORDER = {JourneyKind.FACTORY_OUT: 0, JourneyKind.TO_AGENT: 1, JourneyKind.TO_DEALER: 2,
                 JourneyKind.ACTIVATION: 3}


class JourneyFlag(StrEnum):
    OTHER_DEALER = "activated_by_other_dealer"  # activated by a dealer the serial was never shipped to


class RemedyKind(StrEnum):
    """What a 三包 request asks for (repair is the default and needs no request)."""

    REFUND = "refund"  # the customer returns the unit and gets the money back
    REPLACE = "replace"  # a new unit (new serial) with the remaining warranty


class RemedyStatus(StrEnum):
    PENDING = "pending"  # filed by the point, waiting for HQ
    APPROVED = "approved"
    REJECTED = "rejected"


class ContractKind(StrEnum):
    ANNUAL_SERVICE = "annual_service"  # 包年: a year of visits and listed parts, prepaid
    EXTENDED_WARRANTY = "extended_warranty"  # repairs after the factory warranty: labour and warranty parts


class ContractStatus(StrEnum):
    ACTIVE = "active"
    CANCELLED = "cancelled"


class RecallStatus(StrEnum):
    DRAFT = "draft"  # defined by HQ, not launched
    RUNNING = "running"  # the background task is opening jobs
    DONE = "done"  # every affected unit was processed (jobs opened, or a failure recorded)
