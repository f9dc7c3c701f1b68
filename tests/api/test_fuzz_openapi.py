"""Property-based fuzzing of every operation in the OpenAPI document (schemathesis), as each
role: never a 5xx, and every response's status code, content type and body match what the
document says for that operation. The customer routes are called with the demo customer's token
(and a staff one, which they refuse).

Each operation is one test, run on the demo data and rolled back. Schemathesis generates valid
and invalid requests (``DISPATCH_FUZZ_EXAMPLES`` per operation, default 3, derandomized so CI
runs are repeatable; raise it for a deeper run), and every request is sent once per role.

Left out: the two operations that launch the route solver (``POST
/service-points/{point_id}/plans``, ``POST /plans/{plan_id}/insertions``), which run for their
requested time limit (seconds to minutes) per request; their own tests cover them with 1-2 s
limits. Documented response headers are checked too; schemathesis reads only a header's
``schema``, so the JSON ``X-Pagination`` header (documented with ``content``) is checked here
against its PaginationMetadata schema.

Schemathesis' own pytest integration is not used: under pytest 9 its items all share one node
id (and ``from_fixture`` fails outright), which breaks xdist. The document is loaded here and
each operation's Hypothesis strategy is driven directly.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from dispatch.app import create_app
from dispatch.config import Settings
from tests.module_app import ModuleApp

EXAMPLES = int(os.environ.get("DISPATCH_FUZZ_EXAMPLES", "3"))
ROLES = ("admin", "reviewer", "manager.hz01", "tech.hz01.1")
SOLVER_LAUNCHING = {("POST", "/api/v1/service-points/{point_id}/plans"), ("POST", "/api/v1/plans/{plan_id}/insertions")}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]


def _load_document():
    """The OpenAPI document as the app serves it (no database is touched to build it)."""
    app = create_app(Settings(database_url="sqlite://", secret_key="fuzz-document-only-" + "0" * 32,
                              upload_dir=Path("unused"), testing=True))
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


def _operations():
    params = []
    for result in _load_document().get_all_operations():
        operation = result.ok()  # raises on an operation the document cannot describe
        if (operation.method.upper(), operation.path) not in SOLVER_LAUNCHING:
            params.append(pytest.param(operation, id=f"{operation.method.upper()} {operation.path}"))
    return params


OPERATIONS = _operations()


@pytest.fixture(scope="module")
def module_app(base_settings, tmp_path_factory) -> ModuleApp:
    return ModuleApp(base_settings.with_(upload_dir=tmp_path_factory.mktemp("fuzz-uploads"), access_token_ttl_s=3600))


CUSTOMER = "customer:demo"


@pytest.fixture(scope="module")
def tokens(module_app, engine) -> dict[str, str]:
    return module_app.log_in(engine, ROLES) | {CUSTOMER: module_app.customer_token(engine)}


def callers(path: str, tokens: dict[str, str]) -> dict[str, str]:
    """The demo customer on the customer routes (plus a staff role: 401), the staff roles elsewhere."""
    if path.startswith("/api/v1/customer/"):
        return {CUSTOMER: tokens[CUSTOMER], "admin": tokens["admin"]}
    return {role: token for role, token in tokens.items() if role != CUSTOMER}


@pytest.fixture
def fuzz_app(module_app, session_factory):
    module_app.use(session_factory)
    yield module_app.app
    module_app.use(None)


def test_the_fuzz_covers_every_operation_but_the_solver_launches():
    document = _load_document().raw_schema
    methods = {"get", "post", "put", "patch", "delete"}
    documented = {(m.upper(), path) for path, item in document["paths"].items() for m in item if m in methods}
    fuzzed = {tuple(param.id.split(" ", 1)) for param in OPERATIONS}
    assert documented - fuzzed == SOLVER_LAUNCHING
    assert len(fuzzed) > 100
    assert {("POST", "/api/v1/customer/jobs/{job_id}/booking"), ("GET", "/api/v1/customer/jobs/{job_id}/slots"),
            ("PUT", "/api/v1/customer/jobs/{job_id}/preferred-window")} <= fuzzed


def _check_pagination_header(response, document: dict) -> None:
    """X-Pagination, when sent, is a JSON object of the documented PaginationMetadata fields."""
    values = response.headers.get("x-pagination")  # schemathesis: lowercase names, lists of values
    if not values:
        return
    metadata = json.loads(values[0])
    documented = document["components"]["schemas"]["PaginationMetadata"]["properties"]
    assert set(metadata) <= set(documented), metadata
    assert all(isinstance(value, int) for value in metadata.values()), metadata


@pytest.fixture(scope="module")
def document() -> dict:
    return _load_document().raw_schema


@pytest.mark.parametrize("operation", OPERATIONS)
def test_no_server_error_and_every_response_matches_the_document(operation, fuzz_app, tokens, document):
    strategy = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                         operation.as_strategy(GenerationMode.NEGATIVE))

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def every_role_gets_a_documented_answer(case):
        for role, token in callers(operation.path, tokens).items():
            response = case.call(app=fuzz_app, headers={"Authorization": f"Bearer {token}"})
            try:
                case.validate_response(response, checks=CHECKS)
                _check_pagination_header(response, document)
            except Exception as failure:
                failure.add_note(f"as {role}")
                raise

    every_role_gets_a_documented_answer()
