"""Traceable serials: agents and dealers, and each serial's dated journey factory → agent →
dealer → activation, bulk-loaded from the trade systems.

An activation by a dealer other than the one the serial was last shipped to (or by a dealer for a
serial never shipped to any) is flagged for HQ. HQ also lists a dealer's serials that were shipped
but never activated (no dealer reported the sale), with the free-part claims made for them: parts
claimed for units nobody bought are the classic leak. Such a serial that nevertheless has a warranty
card in the registry is marked ``registry_activated`` (a card made up to claim on).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from dispatch.audit_log import service as audit_log
from dispatch.auth.models import Role
from dispatch.auth.principal import Principal
from dispatch.clock import utcnow
from dispatch.errors import Conflict, NotFound, ValidationFailed
from dispatch.clock import local_today
from dispatch.db import page
from dispatch.network.models import Unit
from dispatch.network.units import parse_serial
from dispatch.stock import claims as stock_claims
from dispatch.stock.ledger import actor_id_of
from dispatch.stock.models import WarrantyClaim
from dispatch.uow import UnitOfWork
from dispatch.warranty.enums import JOURNEY_ORDER, JourneyFlag, JourneyKind, PartnerKind
from dispatch.warranty.models import JourneyEvent, TradePartner

PARTNER_KIND = {JourneyKind.TO_AGENT: PartnerKind.AGENT, JourneyKind.TO_DEALER: PartnerKind.DEALER,
                JourneyKind.ACTIVATION: PartnerKind.DEALER}


@dataclass
class LoadResult:
    loaded: int = 0
    already_known: int = 0
    flagged: list[JourneyEvent] = field(default_factory=list)


@dataclass(frozen=True)
class ShippedSerial:
    serial: str
    shipped_on: date
    registry_activated: bool  # a warranty card exists although no dealer ever reported the sale
    claims: list[WarrantyClaim]


@dataclass(frozen=True)
class DealerUnactivated:
    dealer: TradePartner
    serials: list[ShippedSerial]

    @property
    def claims_total(self) -> int:
        return sum(len(s.claims) for s in self.serials)


# --- partners --------------------------------------------------------------------------------


def _partner(session: Session, code: str, field_name: str = "code") -> TradePartner:
    partner = session.scalar(select(TradePartner).where(TradePartner.code == code.strip().upper()))
    if partner is None:
        raise NotFound(f"no agent or dealer has code {code}") if field_name == "code" else \
            ValidationFailed(field_name, f"no agent or dealer has code {code}")
    return partner


def create_partner(uow: UnitOfWork, actor: Principal, *, code: str, name: str, kind: PartnerKind,
                   agent_code: str | None = None, region_code: str = "") -> TradePartner:
    """HQ records an agent or a dealer (a dealer may name its agent)."""
    actor.require(Role.ADMIN)
    code = code.strip().upper()
    with uow:
        if uow.session.scalar(select(TradePartner.id).where(TradePartner.code == code)) is not None:
            raise Conflict(f"partner {code} exists already")
        agent = None
        if agent_code is not None:
            if PartnerKind(kind) != PartnerKind.DEALER:
                raise ValidationFailed("agent_code", "only a dealer has an agent")
            agent = _partner(uow.session, agent_code, "agent_code")
            if agent.kind != PartnerKind.AGENT:
                raise ValidationFailed("agent_code", f"{agent.code} is a {agent.kind.value}, not an agent")
        row = TradePartner(code=code, name=name.strip(), kind=PartnerKind(kind), agent_id=agent.id if agent else None,
                           region_code=region_code.strip())
        uow.session.add(row)
        uow.session.flush()
        audit_log.append(uow.session, kind="warranty.partner", subject_id=row.id, actor_id=actor_id_of(actor),
                         payload={"code": row.code, "kind": row.kind.value, "agent_id": row.agent_id})
        uow.commit()
        return row


def list_partners(uow: UnitOfWork, actor: Principal, *, offset: int, limit: int,
                  kind: PartnerKind | None = None) -> tuple[list[TradePartner], int]:
    actor.require(Role.ADMIN, Role.REVIEWER)
    with uow:
        query = select(TradePartner).order_by(TradePartner.kind, TradePartner.code)
        if kind is not None:
            query = query.where(TradePartner.kind == kind)
        return page(uow.session, query, offset=offset, limit=limit)


# --- the journey -----------------------------------------------------------------------------


def _last_dealer(steps: list[JourneyEvent], before: date) -> JourneyEvent | None:
    shipped = [s for s in steps if s.kind == JourneyKind.TO_DEALER and s.on <= before]
    return max(shipped, key=lambda s: (s.on, s.at), default=None)


def _flag(event: JourneyEvent, steps: list[JourneyEvent]) -> None:
    shipped = _last_dealer(steps, event.on)
    if shipped is None:
        event.flag = JourneyFlag.OTHER_DEALER
        event.flag_detail = f"activated by {event.partner.code}; the serial was never shipped to a dealer"
    elif shipped.partner_id != event.partner_id:
        event.flag = JourneyFlag.OTHER_DEALER
        event.flag_detail = (f"activated by {event.partner.code}; the serial was shipped to "
                             f"{shipped.partner.code} on {shipped.on}")


def load_events(session: Session, actor_id: uuid.UUID | None, events: Sequence[Mapping[str, Any]], *,
                today: date) -> LoadResult:
    """Add journey events (no commit). Every event is checked before any is written; an event sent
    before is ignored, so a load can be repeated. Shipments in the same load count for the flags."""
    serials: dict[str, str] = {}
    for index, raw in enumerate(events):
        serials[raw["serial"]], _ = parse_serial(raw["serial"], f"events.{index}.serial")
    units = {u.serial: u for u in session.scalars(select(Unit).where(Unit.serial.in_(set(serials.values()))))}
    codes = {str(raw["partner_code"]).strip().upper() for raw in events if raw.get("partner_code")}
    partners = {p.code: p for p in session.scalars(select(TradePartner).where(TradePartner.code.in_(codes)))}
    checked = []
    for index, raw in enumerate(events):
        prefix = f"events.{index}."
        unit = units.get(serials[raw["serial"]])
        if unit is None:
            raise ValidationFailed(prefix + "serial", f"no unit has serial {serials[raw['serial']]}")
        kind, on = JourneyKind(raw["kind"]), raw["on"]
        if on > today:
            raise ValidationFailed(prefix + "on", "is in the future")
        if on < unit.manufactured_on:
            raise ValidationFailed(prefix + "on", f"is before the unit was made ({unit.manufactured_on})")
        partner = None
        if kind == JourneyKind.FACTORY_OUT:
            if raw.get("partner_code"):
                raise ValidationFailed(prefix + "partner_code", "a unit leaves the factory to no partner")
        else:
            code = str(raw.get("partner_code") or "").strip().upper()
            if not code:
                raise ValidationFailed(prefix + "partner_code", f"a {kind.value} event names the partner")
            partner = partners.get(code)
            if partner is None:
                raise ValidationFailed(prefix + "partner_code", f"no agent or dealer has code {code}")
            if partner.kind != PARTNER_KIND[kind]:
                raise ValidationFailed(prefix + "partner_code",
                                       f"{code} is a {partner.kind.value}; a {kind.value} event needs a "
                                       f"{PARTNER_KIND[kind].value}")
        checked.append((unit, kind, partner, on, str(raw.get("reference") or "")))
    existing: dict[uuid.UUID, list[JourneyEvent]] = {}
    for event in session.scalars(select(JourneyEvent).options(joinedload(JourneyEvent.partner))
                                 .where(JourneyEvent.unit_id.in_({u.id for u, *_ in checked}))):
        existing.setdefault(event.unit_id, []).append(event)
    result, now = LoadResult(), utcnow()
    for unit, kind, partner, on, reference in sorted(checked, key=lambda c: (c[0].serial, c[3], JOURNEY_ORDER[c[1]])):
        steps = existing.setdefault(unit.id, [])
        partner_id = partner.id if partner else None
        if any(s.kind == kind and s.partner_id == partner_id and s.on == on for s in steps):
            result.already_known += 1
            continue
        event = JourneyEvent(unit_id=unit.id, kind=kind, partner_id=partner_id, partner=partner, on=on,
                             reference=reference, actor_id=actor_id, at=now, flag_detail="")
        event.unit = unit
        if kind == JourneyKind.ACTIVATION:
            _flag(event, steps)
            if event.flag is not None:
                result.flagged.append(event)
        steps.append(event)
        session.add(event)
        result.loaded += 1
    session.flush()
    return result


def load_journey(uow: UnitOfWork, actor: Principal, *, tz: str, events: Sequence[Mapping[str, Any]]) -> LoadResult:
    """HQ (or its integration account) bulk-loads journey events from the trade systems."""
    actor.require(Role.ADMIN)
    with uow:
        result = load_events(uow.session, actor_id_of(actor), events, today=local_today(tz))
        audit_log.append(uow.session, kind="warranty.journey_load", subject_id=None, actor_id=actor_id_of(actor),
                         payload={"loaded": result.loaded, "already_known": result.already_known,
                                  "flagged": [e.id for e in result.flagged]})
        uow.commit()
        return result


def unit_journey(uow: UnitOfWork, actor: Principal, serial: str) -> tuple[str, list[JourneyEvent]]:
    """A serial's journey, oldest first (HQ)."""
    actor.require(Role.ADMIN, Role.REVIEWER)
    serial, _ = parse_serial(serial)
    with uow:
        unit = uow.session.scalar(select(Unit).where(Unit.serial == serial))
        if unit is None:
            raise NotFound(f"no unit has serial {serial}")
        events = list(uow.session.scalars(select(JourneyEvent).options(joinedload(JourneyEvent.partner),
                                                                       joinedload(JourneyEvent.unit))
                                          .where(JourneyEvent.unit_id == unit.id)))
        events.sort(key=lambda e: (e.on, JOURNEY_ORDER[e.kind], e.at))
        return serial, events


def list_flags(uow: UnitOfWork, actor: Principal, *, offset: int, limit: int,
               dealer_code: str | None = None) -> tuple[list[JourneyEvent], int]:
    """Flagged activations (activated by a dealer the serial was not shipped to), newest first (HQ)."""
    actor.require(Role.ADMIN, Role.REVIEWER)
    with uow:
        query = (select(JourneyEvent).options(joinedload(JourneyEvent.partner), joinedload(JourneyEvent.unit))
                 .where(JourneyEvent.flag.is_not(None)).order_by(JourneyEvent.on.desc(), JourneyEvent.id))
        if dealer_code is not None:
            query = query.where(JourneyEvent.partner_id == _partner(uow.session, dealer_code).id)
        return page(uow.session, query, offset=offset, limit=limit)


def dealer_unactivated(uow: UnitOfWork, actor: Principal, dealer_code: str) -> DealerUnactivated:
    """The serials last shipped to the dealer that were never activated, with the free-part claims
    made for them (HQ)."""
    actor.require(Role.ADMIN, Role.REVIEWER)
    with uow:
        dealer = _partner(uow.session, dealer_code)
        if dealer.kind != PartnerKind.DEALER:
            raise NotFound(f"{dealer.code} is not a dealer")
        shipped = uow.session.execute(
            select(JourneyEvent, Unit).join(Unit, Unit.id == JourneyEvent.unit_id)
            .where(JourneyEvent.kind == JourneyKind.TO_DEALER)
            .where(JourneyEvent.unit_id.in_(select(JourneyEvent.unit_id).where(JourneyEvent.partner_id == dealer.id,
                                                                               JourneyEvent.kind ==
                                                                               JourneyKind.TO_DEALER)))).all()
        latest: dict[uuid.UUID, tuple[JourneyEvent, Unit]] = {}
        for event, unit in shipped:
            if unit.id not in latest or event.on > latest[unit.id][0].on:
                latest[unit.id] = (event, unit)
        activated = set(uow.session.scalars(select(JourneyEvent.unit_id).where(
            JourneyEvent.kind == JourneyKind.ACTIVATION, JourneyEvent.unit_id.in_(latest))))
        mine = {uid: (event, unit) for uid, (event, unit) in latest.items()
                if event.partner_id == dealer.id and uid not in activated}
        by_unit: dict[uuid.UUID, list[WarrantyClaim]] = {}
        for claim in stock_claims.claims_of_units(uow.session, list(mine)):
            by_unit.setdefault(claim.unit_id, []).append(claim)
        serials = sorted((ShippedSerial(unit.serial, event.on, unit.activated_at is not None, by_unit.get(uid, []))
                          for uid, (event, unit) in mine.items()), key=lambda s: s.serial)
        return DealerUnactivated(dealer, serials)
