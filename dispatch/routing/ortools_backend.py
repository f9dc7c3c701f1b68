"""The OR-Tools engine behind :func:`dispatch.routing.solve` (:class:`~dispatch.routing.backend.Backend`).

Three modules do the work: :mod:`~dispatch.routing.ortools_model` (the model and the search
parameters; the only one importing OR-Tools), :mod:`~dispatch.routing.ortools_search` (the
search schedule of a day) and :mod:`~dispatch.routing.ortools_pieces` (large days, a few routes
at a time). This one picks between the last two by size.

Reproducibility: OR-Tools' routing search has no seed. Ours permutes the
order in which visits become model nodes (OR-Tools breaks ties by index, so
each seed walks a different path; seed 0 keeps the problem's order) and
picks the pieces of a large day. The annealing schedule follows the wall
clock, so two runs with the same seed agree only as far as the machine's
speed does; the best plan found is returned and re-checked by the caller.
"""

from __future__ import annotations

from dispatch.routing import ortools_pieces, ortools_search
from dispatch.routing.backend import BackendOutcome, BackendRequest

#: Problems with more visits than this are solved piece by piece (:mod:`~dispatch.routing.ortools_pieces`).
#: 200-visit days solved whole get too few ruin-and-recreate iterations in 10 s: on six
#: Gehring & Homberger 200-customer instances (one per family, 10 s, about a third of a core),
#: mean gap 4.76 % whole, 3.34 % by pieces (better on five of the six).
DECOMPOSE_ABOVE_VISITS = 150


def solve(request: BackendRequest) -> BackendOutcome:
    """Plan the request within its deadline: whole, or piece by piece when the day is large."""
    if len(request.planned) > DECOMPOSE_ABOVE_VISITS:
        return ortools_pieces.solve_by_pieces(request)
    return ortools_search.solve(request)
