"""What each machine-client scope lets a client call, by operationId (deny by default: an
operation no scope names answers 403 to every machine client, whatever its scopes)."""

from __future__ import annotations

from flask import request

from dispatch.api import contract
from dispatch.auth.enums import Scope
from dispatch.auth.principal import Principal
from dispatch.errors import Forbidden

RUNS = ("getImport", "listImports")  # every import scope follows its runs

OPERATIONS: dict[Scope, frozenset[str]] = {
    Scope.JOBS_READ: frozenset({"listJobs", "getJob"}),
    Scope.JOBS_WRITE: frozenset({"createJob", "transitionJob"}),
    Scope.CUSTOMERS_READ: frozenset({"listCustomers", "getCustomer"}),
    Scope.CUSTOMERS_WRITE: frozenset({"registerCustomer", "updateCustomer"}),
    Scope.UNITS_READ: frozenset({"listUnits", "getUnit", "getUnitWarranty"}),
    Scope.UNITS_IMPORT: frozenset({"registerUnit", "updateUnit", "activateWarranty", "importUnits", "exportUnits",
                                   *RUNS}),
    Scope.CUSTOMERS_IMPORT: frozenset({"importCustomers", "exportCustomers", *RUNS}),
    Scope.PARTS_IMPORT: frozenset({"importParts", "exportParts", *RUNS}),
    Scope.TECHNICIANS_IMPORT: frozenset({"importTechnicians", "exportTechnicians", *RUNS}),
    Scope.PARTS_READ: frozenset({"listParts", "getPart", "listProducts"}),
    Scope.WEBHOOKS_MANAGE: frozenset({
        "listWebhookEventTypes", "listWebhookEndpoints", "createWebhookEndpoint", "getWebhookEndpoint",
        "updateWebhookEndpoint", "deleteWebhookEndpoint", "rotateWebhookSecret", "listWebhookDeliveries",
        "getWebhookDelivery", "redeliverWebhook"}),
}

SCOPES_OF: dict[str, frozenset[Scope]] = {}
for _scope, _operations in OPERATIONS.items():
    for _operation in _operations:
        SCOPES_OF[_operation] = SCOPES_OF.get(_operation, frozenset()) | {_scope}


def operation_id() -> str | None:
    rule = request.url_rule
    if rule is None:
        return None
    return contract.OPERATION_IDS.get(contract.operation_key(request.method, contract.openapi_path(rule.rule)))


def check(principal: Principal) -> None:
    """403 unless the machine client holds a scope that names this operation (people pass)."""
    if not principal.is_machine:
        return
    operation = operation_id()
    needed = SCOPES_OF.get(operation or "", frozenset())
    if not needed & principal.scopes:
        wanted = " or ".join(sorted(needed)) if needed else "an operation machine clients may call"
        raise Forbidden(f"this client's scopes do not allow {operation or request.path}: it needs {wanted}",
                        scopes=sorted(needed))
