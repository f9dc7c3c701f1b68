"""Places on the Earth: one location type, one distance, one radius, one estimate of the drive
between two places.

The route planner's matrices (:mod:`dispatch.routing.matrix`) and the technicians' calendar
(:mod:`dispatch.jobs.calendar`) both turn a straight line into a drive here, so a plan the
planner made never clashes in the calendar. Dispatch (the nearest point within the fallback
radius) and HQ audits (a photo taken far from the site) measure with the same distance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dispatch.errors import ValidationFailed

#: Mean Earth radius used by geopy's ``great_circle`` (``geopy.distance.EARTH_RADIUS``).
EARTH_RADIUS_KM = 6371.009
#: Road distance over straight-line distance in towns (about 1.3).
CIRCUITY = 1.3
#: Driving speed when a service point has none of its own.
DEFAULT_SPEED_KMH = 30.0


def great_circle_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Straight-line (haversine) distance in metres between two lat/lon points in degrees."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    half_dlat = math.sin((phi2 - phi1) * 0.5)
    half_dlon = math.sin(math.radians(lon2 - lon1) * 0.5)
    h = half_dlat * half_dlat + math.cos(phi1) * math.cos(phi2) * half_dlon * half_dlon
    return 2.0 * math.asin(math.sqrt(min(1.0, h))) * EARTH_RADIUS_KM * 1000.0


def drive_seconds(lat1: float, lon1: float, lat2: float, lon2: float, *,
                  speed_kmh: float = DEFAULT_SPEED_KMH, circuity: float = CIRCUITY) -> int:
    """Estimated driving time in whole seconds (rounded half up, as the planner's matrix)."""
    metres = great_circle_m(lat1, lon1, lat2, lon2) * circuity
    return int(math.floor(metres * 3.6 / speed_kmh + 0.5))


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """:func:`great_circle_m` in kilometres."""
    return great_circle_m(lat1, lon1, lat2, lon2) / 1000.0


class InvalidLocation(ValidationFailed, ValueError):
    """A coordinate out of range: a 422 naming ``location.lat`` or ``location.lon`` at the edge,
    a ``ValueError`` to the route planner's plain-data core."""


@dataclass(frozen=True, slots=True)
class Location:
    """A place on Earth, in decimal degrees (WGS84)."""

    lat: float
    lon: float

    def __post_init__(self) -> None:
        if not -90.0 <= self.lat <= 90.0:
            raise InvalidLocation("location.lat", f"latitude {self.lat} is outside [-90, 90]")
        if not -180.0 <= self.lon <= 180.0:
            raise InvalidLocation("location.lon", f"longitude {self.lon} is outside [-180, 180]")

    def distance_m(self, other: Location) -> float:
        """Straight-line distance to ``other`` in metres."""
        return great_circle_m(self.lat, self.lon, other.lat, other.lon)
