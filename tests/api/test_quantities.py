"""Quantities are whole numbers everywhere a count of parts or stock is taken: ``1.5`` is not
cut to 1 and ``"1"`` is not read as 1; both (and ``true``, ``1.0``) are a 422 naming the field,
and nothing moves. One strict field (``dispatch.api.schemas.common.Quantity``) does it."""

from __future__ import annotations

import uuid

import pytest
from marshmallow import Schema
from sqlalchemy import func, select

from dispatch.api.schemas.common import Quantity
from dispatch.stock.models import StockLevel, StockMovement
from tests.helpers import assert_problem

NOT_WHOLE = [1.5, "1", "2", True, 1.0, [1], {"n": 1}]
SKU = "FLT-PP-S1"
JOB = uuid.UUID(int=7)

# (method, path, caller, body with Q where the quantity goes, the field named in the 422)
REQUESTS = [
    ("POST", "/api/v1/stock/deliveries", "admin", {"lines": [{"part_sku": SKU, "quantity": "Q"}]},
     "lines.0.quantity"),
    ("POST", "/api/v1/stock/transfers", "admin",
     {"from_location": "HQ", "to_location": "HZ01", "lines": [{"part_sku": SKU, "quantity": "Q"}]}, "lines.0.quantity"),
    ("POST", "/api/v1/stock/adjustments", "manager.hz01",
     {"location": "HZ01", "part_sku": SKU, "delta": "Q", "reason": "count"}, "delta"),
    ("POST", "/api/v1/stock/adjustments", "manager.hz01",
     {"location": "HZ01", "part_sku": SKU, "counted": "Q", "reason": "count"}, "counted"),
    ("POST", "/api/v1/stock/defective-returns", "manager.hz01",
     {"location": "HZ01", "part_sku": SKU, "quantity": "Q", "reason": "leaks"}, "quantity"),
    ("PUT", "/api/v1/stock/limits", "manager.hz01",
     {"location": "HZ01", "part_sku": SKU, "min_level": "Q", "max_level": 50}, "min_level"),
    ("POST", f"/api/v1/jobs/{JOB}/parts", "tech.hz01.1", {"part_sku": SKU, "quantity": "Q"}, "quantity"),
    ("POST", f"/api/v1/jobs/{JOB}/parts", "tech.hz01.1", {"lines": [{"part_sku": SKU, "quantity": "Q"}]},
     "lines.0.quantity"),
    ("PUT", f"/api/v1/jobs/{JOB}/parts/expected", "manager.hz01", {"parts": [{"part_sku": SKU, "quantity": "Q"}]},
     "parts.0.quantity"),
]


def _with(body, value):
    if body == "Q":
        return value
    if isinstance(body, dict):
        return {k: _with(v, value) for k, v in body.items()}
    if isinstance(body, list):
        return [_with(v, value) for v in body]
    return body


def _ledger(session) -> tuple[int, int]:
    return (session.scalar(select(func.count()).select_from(StockMovement)),
            session.scalar(select(func.coalesce(func.sum(StockLevel.on_hand), 0))))


@pytest.mark.parametrize("method, path, caller, body, field", REQUESTS,
                         ids=[f"{r[0]} {r[1].replace(str(JOB), '{id}')} {r[4]}" for r in REQUESTS])
def test_a_quantity_that_is_not_a_json_integer_is_a_422_and_moves_nothing(api, session, method, path, caller, body,
                                                                          field):
    before = _ledger(session)
    for value in NOT_WHOLE:
        response = api.request(method, path, caller, json=_with(body, value))
        assert_problem(response, 422, field=field)
    assert _ledger(session) == before


def test_a_whole_quantity_still_moves_stock(api, session):
    before = session.scalar(select(func.count()).select_from(StockMovement))
    response = api.post("/api/v1/stock/deliveries", as_="admin", json={"lines": [{"part_sku": SKU, "quantity": 3}]})
    assert response.status_code == 201, response.json
    assert session.scalar(select(func.count()).select_from(StockMovement)) == before + 1


QUANTITY_NAMES = {"quantity", "counted", "delta", "min_level", "max_level"}


def _request_schemas(app) -> set[type[Schema]]:
    """Every schema a view loads a request with (``@blp.arguments``), nested ones included."""
    found: set[type[Schema]] = set()

    def walk(schema) -> None:
        cls = schema if isinstance(schema, type) else type(schema)
        if cls in found:
            return
        found.add(cls)
        for field in cls._declared_fields.values():
            inner = getattr(field, "inner", field)
            nested = getattr(inner, "nested", None)
            if nested is not None and not callable(nested) or isinstance(nested, type):
                walk(nested)

    for view in app.view_functions.values():
        for method in getattr(getattr(view, "view_class", None), "methods", None) or ():
            handler = getattr(view.view_class, method.lower())
            for parameter in getattr(handler, "_apidoc", {}).get("arguments", {}).get("parameters", []):
                walk(parameter["schema"])
    return found


def test_every_field_that_takes_a_quantity_is_the_strict_one(app):
    loaded = _request_schemas(app)
    assert len(loaded) > 50
    loose = sorted(f"{cls.__name__}.{name}" for cls in loaded for name, field in cls._declared_fields.items()
                   if name in QUANTITY_NAMES and not field.dump_only and not isinstance(field, Quantity))
    assert loose == [], "use dispatch.api.schemas.common.Quantity for these"
