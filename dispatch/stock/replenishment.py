"""Replenishment suggestions: transfers (HQ to point, point to van) that bring every location at
or below its minimum back to its maximum, and purchases when HQ itself runs short."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select

from dispatch.auth.principal import Principal
from dispatch.stock import locations, rules
from dispatch.stock.models import LocationKind, Part, StockLevel, StockLocation
from dispatch.uow import UnitOfWork


@dataclass(frozen=True)
class SuggestedMove:
    """One suggestion, with its rows resolved for the view (``source`` None = buy from a supplier)."""

    source: StockLocation | None
    destination: StockLocation
    part: Part
    quantity: int
    need: int
    short_by: int
    position: int
    min_level: int | None
    max_level: int | None

    @property
    def kind(self) -> str:
        return "purchase" if self.source is None else "transfer"


def suggest(uow: UnitOfWork, actor: Principal, *, location: str | None = None,
            part_sku: str | None = None) -> list[SuggestedMove]:
    """What to send where. Computed over the whole network (a point's spare stock serves its
    vans before the point asks HQ), then cut to what the caller sees: HQ everything, a manager
    the moves into their point and its vans, a technician the moves into their van."""
    with uow:
        if locations.ensure_network_locations(uow.session, None if actor.is_hq else actor.service_point_id):
            uow.commit()
        all_locations = {loc.id: loc for loc in uow.session.scalars(select(StockLocation))}
        points = {loc.service_point_id: loc.id for loc in all_locations.values() if loc.kind == LocationKind.POINT}
        hq_id = next((loc.id for loc in all_locations.values() if loc.kind == LocationKind.HQ), None)

        def parent(loc: StockLocation) -> uuid.UUID | None:
            if loc.kind == LocationKind.VAN:
                return points.get(loc.service_point_id)
            return hq_id if loc.kind == LocationKind.POINT else None

        facts = {lid: rules.LocationFacts(code=loc.code, kind=loc.kind.value, parent_id=parent(loc))
                 for lid, loc in all_locations.items()}
        levels = [
            rules.LevelFacts(location_id=lv.location_id, code=all_locations[lv.location_id].code,
                             kind=all_locations[lv.location_id].kind.value, part_id=lv.part_id, on_hand=lv.on_hand,
                             reserved=lv.reserved, in_transit=lv.in_transit, min_level=lv.min_level,
                             max_level=lv.max_level)
            for lv in uow.session.scalars(select(StockLevel).execution_options(populate_existing=True))
        ]
        suggestions = rules.suggest_transfers(levels, facts)
        wanted: StockLocation | None = locations.resolve(uow.session, actor, location) if location else None
        parts = {p.id: p for p in uow.session.scalars(select(Part).where(
            Part.id.in_({s.part_id for s in suggestions})))}
        moves = []
        for s in suggestions:
            destination = all_locations[s.to_location_id]
            if not locations.sees_stock(actor, destination):
                continue
            if wanted is not None and wanted.id not in (s.to_location_id, s.from_location_id):
                continue
            if part_sku and parts[s.part_id].sku != part_sku:
                continue
            moves.append(SuggestedMove(
                source=all_locations[s.from_location_id] if s.from_location_id else None, destination=destination,
                part=parts[s.part_id], quantity=s.quantity, need=s.need, short_by=s.short_by, position=s.position,
                min_level=s.min_level, max_level=s.max_level,
            ))
        return moves
