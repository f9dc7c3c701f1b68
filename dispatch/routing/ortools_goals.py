"""A field day's soft goals in the OR-Tools model (:class:`~dispatch.routing.problem.DayGoals`), added in
one place (:func:`add_day_goals`, called once the model's time dimension exists). No OR-Tools import
here: it works through the model's own routing objects.

- **Waiting** (``wait_cost``): each technician's span (leaving the start place to getting back) costs
  per second. Driving and service are paid for anyway, so what the span adds is the idle time: waiting
  on site for a window, and leaving earlier than needed; the departure moves as late as the day allows
  (the decoder then times it so). OR-Tools prices spans with its cumul optimizer, which is slower per
  move, so the goal is off unless asked for.
- **Balance** (``balance_weight``): a ``work`` dimension counts each technician's driving plus service;
  work above the fair share (the day's service plus a nearest-neighbour estimate of its driving, over
  the technicians) costs per second, a soft upper bound on each route's end, and so does the busiest
  technician's work (a global span: with everyone above the share, the soft bounds alone cost the
  same however the work is shared). The dimension has no slack, so it needs no cumul optimizer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dispatch.routing.ortools_model import Model


def add_day_goals(model: Model) -> None:
    """Add the problem's waiting and balance costs to ``model`` (nothing when both are zero)."""
    goals = model.request.problem.goals
    per_second = model.request.time_cost_per_s or 1  # objective units per second of driving
    if goals.wait_cost > 0:
        coefficient = max(1, round(goals.wait_cost * per_second))
        for t in range(model.routing.vehicles()):
            model.time.SetSpanCostCoefficientForVehicle(coefficient, t)
    if goals.balance_weight > 0:
        _add_balance(model, max(1, round(goals.balance_weight * per_second)))


def _add_balance(model: Model, coefficient: int) -> None:
    request = model.request
    problem = request.problem
    duration = problem.travel.duration_s
    nodes = model.node_location
    service = [0] * len(nodes)
    for node, v in model.visit_of_node.items():
        service[node] = problem.visits[v].service_s
    work = [[service[a] + duration[i][j] for j in nodes] for a, i in enumerate(nodes)]
    places = [problem.location_index[problem.visits[v].location] for v in request.planned]
    nearest = sum(min((duration[i][j] for j in set(places) if j != i), default=0) for i in places)
    routing = model.routing
    vehicles = routing.vehicles()
    fair = (sum(service) + nearest) // max(1, vehicles)
    horizon = sum(max(row) for row in work) + 1
    routing.AddDimension(routing.RegisterTransitMatrix(work), 0, horizon, True, "work")
    dimension = routing.GetDimensionOrDie("work")
    for t in range(vehicles):
        dimension.SetCumulVarSoftUpperBound(routing.End(t), fair, coefficient)
    # The busiest technician's work costs again: above the share, the load moves to whoever has least.
    dimension.SetGlobalSpanCostCoefficient(coefficient)
