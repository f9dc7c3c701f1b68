"""Route planning: who visits what, in which order, at what time (pure core, OR-Tools behind it).

Build a :class:`RoutingProblem` (technicians, visits, a travel matrix from a
:class:`TravelMatrixProvider` such as :class:`GreatCircleMatrix`), call
:func:`solve`, read the :class:`RoutingResult`. Importing this package does not
import OR-Tools; :func:`solve` loads it on first use.
"""

from dispatch.routing.matrix import (
    EuclideanMatrix,
    GreatCircleMatrix,
    TravelMatrix,
    TravelMatrixProvider,
)
from dispatch.routing.problem import (
    Break,
    Location,
    Objective,
    Pin,
    Place,
    PlanarLocation,
    RoutingProblem,
    Technician,
    Visit,
    locations_of,
)
from dispatch.routing.result import Route, RoutingResult, Stop, Unassigned, UnassignedReason
from dispatch.routing.solver import RoutingInvariantError, SolveParams, solve

__all__ = [
    "Break",
    "EuclideanMatrix",
    "GreatCircleMatrix",
    "Location",
    "Objective",
    "Pin",
    "Place",
    "PlanarLocation",
    "Route",
    "RoutingInvariantError",
    "RoutingProblem",
    "RoutingResult",
    "SolveParams",
    "Stop",
    "Technician",
    "TravelMatrix",
    "TravelMatrixProvider",
    "Unassigned",
    "UnassignedReason",
    "Visit",
    "locations_of",
    "solve",
]
