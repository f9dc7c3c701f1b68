"""The shapes a bulk import takes and an export gives, one small spec each (see base.Shape)."""

from __future__ import annotations

from dispatch.integrations.enums import ImportKind
from dispatch.integrations.shapes import customers, parts, technicians, units
from dispatch.integrations.shapes.base import Shape

SHAPES: dict[ImportKind, Shape] = {shape.kind: shape for shape in (
    units.SHAPE, customers.SHAPE, parts.SHAPE, technicians.SHAPE)}
