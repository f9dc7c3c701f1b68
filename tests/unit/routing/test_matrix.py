"""Travel matrices: the fast great-circle maths agrees with geopy; planar conventions hold."""

from __future__ import annotations

import random

import pytest
from geopy.distance import great_circle

from dispatch.routing import EuclideanMatrix, GreatCircleMatrix, Location, PlanarLocation


def test_great_circle_matrix_matches_geopy_to_the_metre() -> None:
    rng = random.Random(7)
    places = [Location(rng.uniform(12.8, 13.2), rng.uniform(77.4, 77.8)) for _ in range(25)]
    places += [Location(48.8566, 2.3522), Location(-33.8688, 151.2093), Location(0.0, 179.9)]
    provider = GreatCircleMatrix(circuity=1.3, speed_kmh=30.0)
    matrix = provider.matrix(places)
    for i, a in enumerate(places):
        for j, b in enumerate(places):
            expected_m = great_circle((a.lat, a.lon), (b.lat, b.lon)).meters * 1.3
            assert abs(matrix.distance_m[i][j] - expected_m) <= 1.0
            assert abs(matrix.duration_s[i][j] - expected_m / (30 / 3.6)) <= 1.0


def test_great_circle_matrix_has_a_zero_diagonal_and_is_symmetric() -> None:
    places = [Location(12.97, 77.59), Location(12.93, 77.62), Location(13.03, 77.55)]
    matrix = GreatCircleMatrix().matrix(places)
    for i in range(3):
        assert matrix.distance_m[i][i] == 0 and matrix.duration_s[i][i] == 0
        for j in range(3):
            assert matrix.distance_m[i][j] == matrix.distance_m[j][i]


def test_euclidean_matrix_rounds_metres_then_derives_seconds_at_the_speed() -> None:
    matrix = EuclideanMatrix(speed_kmh=30.0).matrix([PlanarLocation(0, 0), PlanarLocation(3000, 4000.4)])
    assert matrix.distance_m[0][1] == 5000
    assert matrix.duration_s[0][1] == 600


def test_dimacs_convention_truncates_ten_times_the_distance() -> None:
    dimacs = EuclideanMatrix(scale=10, speed_kmh=3.6, rounding="floor")
    matrix = dimacs.matrix([PlanarLocation(0, 0), PlanarLocation(1, 1), PlanarLocation(3, 4)])
    assert matrix.distance_m[0][1] == 14  # floor(14.142...)
    assert matrix.distance_m[0][2] == 50
    assert matrix.duration_s == matrix.distance_m


def test_providers_refuse_the_other_kind_of_place() -> None:
    with pytest.raises(TypeError):
        GreatCircleMatrix().matrix([PlanarLocation(0, 0)])
    with pytest.raises(TypeError):
        EuclideanMatrix().matrix([Location(0.0, 0.0)])


def test_provider_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="circuity"):
        GreatCircleMatrix(circuity=0.5)
    with pytest.raises(ValueError, match="speed_kmh"):
        GreatCircleMatrix(speed_kmh=0)
    with pytest.raises(ValueError, match="rounding"):
        EuclideanMatrix(rounding="ceil")  # type: ignore[arg-type]
