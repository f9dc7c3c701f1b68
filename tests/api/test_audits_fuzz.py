"""Schemathesis against the spot-check and audit-log operations: whatever the input, and as an HQ
admin or a point's manager, never a 5xx."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

MY_PATHS = r"^/api/v1/(audits|audit-log)|/scorecard$"
ROLES = ("admin", "manager.sz02")


@pytest.mark.slow
def test_spot_check_operations_never_answer_5xx(app, api):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers = {role: {"Authorization": f"Bearer {api.token(role)}"} for role in ROLES}
    operations = [result.ok() for result in schema.include(path_regex=MY_PATHS).get_all_operations()]
    assert len(operations) >= 12

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, derandomize=True, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
        def fuzz(case):
            for role in ROLES:
                response = case.call(headers=headers[role])
                case.validate_response(response, checks=[not_a_server_error])

        fuzz()
