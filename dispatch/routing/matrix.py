"""Travel matrices: how far apart places are, in whole metres and whole seconds.

The solver only ever sees a :class:`TravelMatrix`. Where it comes from is a
:class:`TravelMatrixProvider`: a straight-line estimate today
(:class:`GreatCircleMatrix` for lat/lon, :class:`EuclideanMatrix` for planar
benchmark data), a road-network service (OSRM, Valhalla) later, behind the same
``matrix(locations)`` call.

Integers on purpose: OR-Tools works on integers, and rounding once here means
the solver, the result decoder and any independent checker all agree on the
same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from dispatch.geo import EARTH_RADIUS_KM
from dispatch.routing.problem import Location, Place, PlanarLocation


@dataclass(frozen=True, slots=True)
class TravelMatrix:
    """Square matrices indexed by position in the ``locations`` they were built from.

    ``distance_m[i][j]`` is the road distance from ``i`` to ``j`` in metres and
    ``duration_s[i][j]`` the driving time in seconds. Matrices may be asymmetric
    (one-way streets), must have a zero diagonal and non-negative entries.
    """

    distance_m: list[list[int]]
    duration_s: list[list[int]]

    def __post_init__(self) -> None:
        size = len(self.distance_m)
        if len(self.duration_s) != size:
            raise ValueError(
                f"distance_m has {size} rows but duration_s has {len(self.duration_s)}"
            )
        for name, rows in (("distance_m", self.distance_m), ("duration_s", self.duration_s)):
            for i, row in enumerate(rows):
                if len(row) != size:
                    raise ValueError(f"{name} row {i} has {len(row)} entries, expected {size}")
                if min(row, default=0) < 0:
                    raise ValueError(f"{name} row {i} has a negative entry")

    @property
    def size(self) -> int:
        """Number of locations the matrix covers."""
        return len(self.distance_m)


class TravelMatrixProvider(Protocol):
    """Anything that turns an ordered list of places into a :class:`TravelMatrix`."""

    def matrix(self, locations: Sequence[Place]) -> TravelMatrix:
        """Return the matrix for ``locations``, row ``i`` being ``locations[i]``."""
        ...


def _ensure_kind(locations: Sequence[Place], kind: type) -> None:
    for place in locations:
        if not isinstance(place, kind):
            raise TypeError(f"{kind.__name__} expected, got {type(place).__name__}")


def _round_half_up(value: float) -> int:
    return int(math.floor(value + 0.5))


@dataclass(frozen=True, slots=True)
class GreatCircleMatrix:
    """Straight-line (great-circle) distance times a circuity factor, at a constant speed.

    ``circuity`` (about 1.3 in towns) turns the crow-flies distance into an
    estimate of the road distance; ``speed_kmh`` turns that into a driving time.
    The distance is geopy's ``great_circle`` (haversine on a sphere of radius
    :data:`EARTH_RADIUS_KM`), written out in plain math so that 600 places
    (360,000 pairs) take a fraction of a second instead of one geopy object
    per pair.
    """

    circuity: float = 1.3
    speed_kmh: float = 30.0

    def __post_init__(self) -> None:
        if self.circuity < 1.0:
            raise ValueError(f"circuity must be >= 1, got {self.circuity}")
        if self.speed_kmh <= 0:
            raise ValueError(f"speed_kmh must be > 0, got {self.speed_kmh}")

    def matrix(self, locations: Sequence[Place]) -> TravelMatrix:
        """Great-circle matrix of ``locations`` (lat/lon in degrees)."""
        _ensure_kind(locations, Location)
        lat = [math.radians(place.lat) for place in locations]
        lon = [math.radians(place.lon) for place in locations]
        cos_lat = [math.cos(value) for value in lat]
        metres_per_radian = EARTH_RADIUS_KM * 1000.0 * self.circuity
        seconds_per_metre = 3.6 / self.speed_kmh
        sin, asin, sqrt = math.sin, math.asin, math.sqrt
        distance_m: list[list[int]] = []
        duration_s: list[list[int]] = []
        for i in range(len(locations)):
            lat_i, lon_i, cos_i = lat[i], lon[i], cos_lat[i]
            distance_row = []
            duration_row = []
            for j in range(len(locations)):
                half_dlat = sin((lat[j] - lat_i) * 0.5)
                half_dlon = sin((lon[j] - lon_i) * 0.5)
                h = half_dlat * half_dlat + cos_i * cos_lat[j] * half_dlon * half_dlon
                metres = 2.0 * asin(sqrt(min(1.0, h))) * metres_per_radian
                distance_row.append(_round_half_up(metres))
                duration_row.append(_round_half_up(metres * seconds_per_metre))
            distance_m.append(distance_row)
            duration_s.append(duration_row)
        return TravelMatrix(distance_m=distance_m, duration_s=duration_s)


@dataclass(frozen=True, slots=True)
class EuclideanMatrix:
    """Planar straight-line matrix for benchmark data given in metres.

    ``distance = rounding(scale * euclidean)`` and
    ``duration = rounding(distance / speed)``.

    - The day benchmarks (``shared/data/routing``) use the defaults: round to
      the nearest metre, 30 km/h.
    - The DIMACS-2021 Solomon convention is ``scale=10, rounding="floor",
      speed_kmh=3.6``: arc length and travel time are both
      ``floor(10 * euclidean)`` (3.6 km/h is one unit per second).
    """

    scale: float = 1.0
    speed_kmh: float = 30.0
    rounding: Literal["round", "floor"] = "round"

    def __post_init__(self) -> None:
        if self.scale <= 0:
            raise ValueError(f"scale must be > 0, got {self.scale}")
        if self.speed_kmh <= 0:
            raise ValueError(f"speed_kmh must be > 0, got {self.speed_kmh}")
        if self.rounding not in ("round", "floor"):
            raise ValueError(f"rounding must be 'round' or 'floor', got {self.rounding!r}")

    def matrix(self, locations: Sequence[Place]) -> TravelMatrix:
        """Euclidean matrix of ``locations`` (``x_m``/``y_m``)."""
        _ensure_kind(locations, PlanarLocation)
        to_int = math.floor if self.rounding == "floor" else _round_half_up
        xs = [place.x_m * self.scale for place in locations]
        ys = [place.y_m * self.scale for place in locations]
        seconds_per_unit = 3.6 / self.speed_kmh
        hypot = math.hypot
        distance_m: list[list[int]] = []
        duration_s: list[list[int]] = []
        for x_i, y_i in zip(xs, ys):
            distance_row = [int(to_int(hypot(x_j - x_i, y_j - y_i))) for x_j, y_j in zip(xs, ys)]
            distance_m.append(distance_row)
            if seconds_per_unit == 1.0:
                duration_s.append(list(distance_row))
            else:
                duration_s.append(
                    [int(to_int(metres * seconds_per_unit)) for metres in distance_row]
                )
        return TravelMatrix(distance_m=distance_m, duration_s=duration_s)
