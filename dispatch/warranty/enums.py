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
