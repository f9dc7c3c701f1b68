"""Problem data is validated at construction, with messages that name the culprit."""

from __future__ import annotations

import pytest

from dispatch.routing import (
    Break,
    EuclideanMatrix,
    Location,
    Pin,
    PlanarLocation,
    RoutingProblem,
    Technician,
    TravelMatrix,
    Visit,
    locations_of,
)

DEPOT = PlanarLocation(0, 0)


def technician(id: str = "t1", **overrides: object) -> Technician:
    fields: dict[str, object] = dict(
        id=id, start=DEPOT, end=DEPOT, shift_start_s=28_800, shift_end_s=61_200
    )
    fields.update(overrides)
    return Technician(**fields)  # type: ignore[arg-type]


def visit(id: str = "v1", **overrides: object) -> Visit:
    fields: dict[str, object] = dict(
        id=id, location=PlanarLocation(1000, 0), window_start_s=28_800, window_end_s=61_200,
        service_s=600,
    )
    fields.update(overrides)
    return Visit(**fields)  # type: ignore[arg-type]


def build(technicians: list[Technician], visits: list[Visit]) -> RoutingProblem:
    return RoutingProblem.build(technicians, visits, EuclideanMatrix())


def test_a_valid_problem_builds_its_matrix_from_the_distinct_places() -> None:
    problem = build([technician("t1"), technician("t2")], [visit("a"), visit("b", location=DEPOT)])
    assert locations_of(problem.technicians, problem.visits) == (DEPOT, PlanarLocation(1000, 0))
    assert problem.travel.distance_m == [[0, 1000], [1000, 0]]
    assert problem.travel.duration_s == [[0, 120], [120, 0]]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: visit(service_s=-1), "service_s must be >= 0"),
        (lambda: visit(window_start_s=50_000, window_end_s=40_000), "window_end_s 40000 is before"),
        (lambda: visit(priority=6), "priority must be in 1..5"),
        (lambda: visit(priority=0), "priority must be in 1..5"),
        (lambda: visit(sla_urgency=1.5), "sla_urgency must be in [0, 1]"),
        (lambda: visit(demand=-2), "demand must be >= 0"),
        (lambda: visit(id=""), "visit id must not be empty"),
        (lambda: technician(shift_start_s=50_000, shift_end_s=40_000), "shift_end_s 40000 is before"),
        (lambda: technician(capacity=-1), "capacity must be >= 0"),
        (lambda: technician(skills={"a"}), "skills must be a frozenset"),
        (lambda: Break(earliest_start_s=10, latest_start_s=5, duration_s=1), "latest_start_s 5 is before"),
        (lambda: Break(earliest_start_s=10, latest_start_s=20, duration_s=-1), "duration_s must be >= 0"),
        (
            lambda: technician(break_=Break(earliest_start_s=60_000, latest_start_s=61_000, duration_s=1800)),
            "break does not fit inside the shift",
        ),
        (lambda: Pin(technician_id="t1", position=-1), "pin position must be >= 0"),
        (lambda: Location(lat=91.0, lon=0.0), "latitude 91.0"),
        (lambda: Location(lat=0.0, lon=-181.0), "longitude -181.0"),
    ],
)
def test_bad_values_are_rejected_with_a_clear_message(make, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        make()


def test_duplicate_visit_ids_are_rejected() -> None:
    with pytest.raises(ValueError, match="duplicate visit id 'v1'"):
        build([technician()], [visit("v1"), visit("v1")])


def test_duplicate_technician_ids_are_rejected() -> None:
    with pytest.raises(ValueError, match="duplicate technician id 't1'"):
        build([technician("t1"), technician("t1")], [visit()])


def test_a_pin_to_an_unknown_technician_is_rejected() -> None:
    with pytest.raises(ValueError, match="pinned to unknown technician ghost"):
        build([technician()], [visit(pin=Pin(technician_id="ghost"))])


def test_locked_positions_of_a_technician_must_be_a_prefix_without_gaps() -> None:
    with pytest.raises(ValueError, match=r"positions must be 0..1 .* got \[0, 2\]"):
        build(
            [technician()],
            [visit("a", pin=Pin("t1", position=0)), visit("b", pin=Pin("t1", position=2))],
        )


def test_a_matrix_of_the_wrong_size_is_rejected() -> None:
    with pytest.raises(ValueError, match="travel matrix covers 1 places, the problem has 2"):
        RoutingProblem(
            technicians=(technician(),),
            visits=(visit(),),
            travel=TravelMatrix(distance_m=[[0]], duration_s=[[0]]),
        )


def test_places_of_both_kinds_cannot_be_mixed() -> None:
    with pytest.raises(ValueError, match="one kind of place"):
        RoutingProblem(
            technicians=(technician(),),
            visits=(visit(location=Location(48.85, 2.35)),),
            travel=TravelMatrix(distance_m=[[0, 1], [1, 0]], duration_s=[[0, 1], [1, 0]]),
        )


def test_a_problem_needs_a_technician() -> None:
    with pytest.raises(ValueError, match="at least one technician"):
        RoutingProblem(technicians=(), visits=(), travel=TravelMatrix([], []))


def test_matrices_must_be_square_and_non_negative() -> None:
    with pytest.raises(ValueError, match="row 0 has 1 entries, expected 2"):
        TravelMatrix(distance_m=[[0], [0, 0]], duration_s=[[0, 0], [0, 0]])
    with pytest.raises(ValueError, match="negative"):
        TravelMatrix(distance_m=[[0, -1], [1, 0]], duration_s=[[0, 1], [1, 0]])


def test_problem_data_is_frozen() -> None:
    problem = build([technician()], [visit()])
    with pytest.raises(AttributeError):
        problem.visits[0].priority = 5  # type: ignore[misc]
