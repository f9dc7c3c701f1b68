"""The API contract as integrators' code generators read it, and the headers that go with it.

One apispec plugin (:class:`ContractPlugin`) gives the OpenAPI document what a client generator
needs and the views do not say themselves:

* every operation a stable, readable ``operationId`` from :data:`OPERATION_IDS` (a new route
  without one fails ``tests/api/test_openapi_contract.py``) and a description;
* every enum one named component (``JobStatus``), referenced wherever it is used, so a value read
  from one response can be passed to a filter;
* nullable references in the form OpenAPI 3.0 generators understand (``allOf`` + ``nullable``);
* response objects open to new fields (no ``additionalProperties: false``): the server adds
  fields without a new version (see docs/API_POLICY.md); requests still refuse unknown fields
  (422 names them);
* the ``Location`` header of the creates that send one, the RFC 8288 ``Link`` header beside
  ``X-Pagination``, the media types of the pictures and downloads, ``deprecated`` and the
  ``Deprecation``/``Sunset`` headers of what is being retired, and request/response examples of
  the main operations (:mod:`dispatch.api.examples`).

:func:`init_app` adds the headers themselves to responses: ``Link`` on every paginated list and
``Deprecation``/``Sunset`` on the operations in :data:`DEPRECATED`.
"""

from __future__ import annotations

import enum
import inspect
import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode

from apispec import BasePlugin
from flask import Flask, request
from marshmallow import fields

from dispatch.api.examples import EXAMPLES

HTTP_METHODS = ("get", "post", "put", "patch", "delete")

#: (method, path) -> operationId. Verbs say what happens (``assignJob``, ``applyPlan``), nouns are
#: singular for one object and plural for a list; ids never change once published.
OPERATION_IDS: dict[tuple[str, str], str] = {
    ("GET", "/healthz"): "getLiveness",
    ("GET", "/readyz"): "getReadiness",
    ("GET", "/api/v1/admin/tasks/failed"): "listFailedTasks",
    ("GET", "/api/v1/admin/tasks/queues"): "listTaskQueues",
    ("POST", "/api/v1/attachments/"): "uploadAttachment",
    ("GET", "/api/v1/attachments/{attachment_id}"): "getAttachment",
    ("GET", "/api/v1/attachments/{attachment_id}/content"): "downloadAttachment",
    ("GET", "/api/v1/audit-log/verify"): "verifyAuditLog",
    ("GET", "/api/v1/audit-log/roots"): "listAuditLogRoots",
    ("GET", "/api/v1/audits/"): "listAudits",
    ("POST", "/api/v1/audits/samples"): "drawAuditSamples",
    ("GET", "/api/v1/audits/lots"): "listAuditLots",
    ("GET", "/api/v1/audits/lots/{lot_id}"): "getAuditLot",
    ("GET", "/api/v1/audits/flagged-points"): "listFlaggedServicePoints",
    ("GET", "/api/v1/audits/{audit_id}"): "getAudit",
    ("GET", "/api/v1/training/courses"): "listTrainingCourses",
    ("POST", "/api/v1/training/courses"): "createTrainingCourse",
    ("POST", "/api/v1/technicians/{technician_id}/course-results"): "recordCourseResult",
    ("POST", "/api/v1/technicians/{technician_id}/assessments"): "recordAssessment",
    ("GET", "/api/v1/technicians/{technician_id}/training"): "getTechnicianTraining",
    ("GET", "/api/v1/corrective-plans/"): "listCorrectivePlans",
    ("POST", "/api/v1/corrective-plans/"): "openCorrectivePlan",
    ("GET", "/api/v1/corrective-plans/{corrective_plan_id}"): "getCorrectivePlan",
    ("POST", "/api/v1/corrective-plans/{corrective_plan_id}/answers"): "answerCorrectiveAction",
    ("POST", "/api/v1/corrective-plans/{corrective_plan_id}/reaudit"): "drawCorrectiveReaudit",
    ("POST", "/api/v1/corrective-plans/{corrective_plan_id}/reaudit/verdicts"): "judgeCorrectiveReauditItem",
    ("POST", "/api/v1/corrective-plans/{corrective_plan_id}/decision"): "decideCorrectivePlan",
    ("POST", "/api/v1/audits/{audit_id}/verdict"): "giveAuditVerdict",
    ("POST", "/api/v1/audits/{audit_id}/disputes"): "disputeAuditVerdict",
    ("POST", "/api/v1/audits/{audit_id}/adjudication"): "adjudicateAuditDispute",
    ("POST", "/api/v1/auth/token"): "login",
    ("POST", "/api/v1/auth/refresh"): "refreshToken",
    ("GET", "/api/v1/jobs/{job_id}/checklist"): "getJobChecklist",
    ("PUT", "/api/v1/jobs/{job_id}/checklist/steps/{key}"): "recordChecklistStep",
    ("GET", "/api/v1/checklists"): "listChecklists",
    ("GET", "/api/v1/checklists/{checklist_id}"): "getChecklist",
    ("GET", "/api/v1/claims/"): "listClaims",
    ("GET", "/api/v1/claims/{claim_id}"): "getClaim",
    ("POST", "/api/v1/claims/{claim_id}/decision"): "decideClaim",
    ("GET", "/api/v1/complaints/"): "listComplaints",
    ("POST", "/api/v1/complaints/"): "createComplaint",
    ("GET", "/api/v1/complaints/{complaint_id}"): "getComplaint",
    ("POST", "/api/v1/complaints/{complaint_id}/transitions"): "transitionComplaint",
    ("GET", "/api/v1/complaints/deadlines"): "listComplaintDeadlines",
    ("PUT", "/api/v1/complaints/deadlines/{category}"): "setComplaintDeadline",
    ("POST", "/api/v1/complaints/{complaint_id}/answer"): "recordComplaintAnswer",
    ("GET", "/api/v1/worklist-items/"): "listWorklistItems",
    ("GET", "/api/v1/worklist-items/summary"): "summariseWorklists",
    ("POST", "/api/v1/worklist-items/refresh"): "refreshWorklists",
    ("GET", "/api/v1/worklist-items/{item_id}"): "getWorklistItem",
    ("POST", "/api/v1/worklist-items/{item_id}/done"): "completeWorklistItem",
    ("POST", "/api/v1/complaints/{complaint_id}/satisfaction"): "recordComplaintSatisfaction",
    ("GET", "/api/v1/complaints/compensation-tiers"): "listCompensationTiers",
    ("PUT", "/api/v1/complaints/compensation-tiers"): "setCompensationTiers",
    ("GET", "/api/v1/customers/"): "listCustomers",
    ("POST", "/api/v1/customers/"): "registerCustomer",
    ("GET", "/api/v1/customers/{customer_id}"): "getCustomer",
    ("PATCH", "/api/v1/customers/{customer_id}"): "updateCustomer",
    ("GET", "/api/v1/feedback/{token}"): "getRatingPage",
    ("POST", "/api/v1/feedback/{token}"): "rateVisit",
    ("GET", "/api/v1/ratings"): "listRatings",
    ("GET", "/api/v1/jobs/{job_id}/callbacks"): "listJobCallbacks",
    ("POST", "/api/v1/jobs/{job_id}/callbacks"): "recordJobCallback",
    ("GET", "/api/v1/jobs/{job_id}/rating-link"): "getJobRatingLink",
    ("POST", "/api/v1/jobs/{job_id}/rating-link"): "resendJobRatingLink",
    ("GET", "/api/v1/callbacks"): "listCallbacks",
    ("GET", "/api/v1/jobs/{job_id}/parts"): "getJobParts",
    ("POST", "/api/v1/jobs/{job_id}/parts"): "recordJobParts",
    ("PUT", "/api/v1/jobs/{job_id}/parts/expected"): "setJobExpectedParts",
    ("POST", "/api/v1/jobs/{job_id}/parts/reservations"): "retryJobPartReservations",
    ("GET", "/api/v1/jobs/{job_id}/bill"): "getJobBill",
    ("PUT", "/api/v1/jobs/{job_id}/bill/overrides"): "setJobBillOverrides",
    ("GET", "/api/v1/labour-rates"): "listLabourRates",
    ("PUT", "/api/v1/labour-rates/{job_type}"): "setLabourRate",
    ("GET", "/api/v1/jobs/"): "listJobs",
    ("POST", "/api/v1/jobs/"): "createJob",
    ("GET", "/api/v1/jobs/{job_id}"): "getJob",
    ("POST", "/api/v1/jobs/{job_id}/transitions"): "transitionJob",
    ("POST", "/api/v1/jobs/{job_id}/assignment"): "assignJob",
    ("POST", "/api/v1/jobs/{job_id}/crew"): "sizeJobCrew",
    ("POST", "/api/v1/jobs/{job_id}/transfer"): "transferJob",
    ("GET", "/api/v1/jobs/{job_id}/quarantine"): "listJobQuarantine",
    ("GET", "/api/v1/kpis/"): "getKpis",
    ("GET", "/api/v1/kpis/series"): "getKpiSeries",
    ("GET", "/api/v1/kpis/evaluations"): "listPointEvaluations",
    ("POST", "/api/v1/kpis/evaluations"): "evaluateServicePoint",
    ("GET", "/api/v1/maintenance-plans/"): "listMaintenancePlans",
    ("GET", "/api/v1/maintenance-plans/{plan_id}"): "getMaintenancePlan",
    ("PATCH", "/api/v1/maintenance-plans/{plan_id}"): "updateMaintenancePlan",
    ("POST", "/api/v1/maintenance-plans/generation"): "runMaintenanceGeneration",
    ("GET", "/api/v1/notifications/"): "listNotifications",
    ("POST", "/api/v1/notifications/{notification_id}/retry"): "retryNotification",
    ("GET", "/api/v1/parts/"): "listParts",
    ("POST", "/api/v1/parts/"): "createPart",
    ("GET", "/api/v1/parts/{part_id}"): "getPart",
    ("PATCH", "/api/v1/parts/{part_id}"): "updatePart",
    ("GET", "/api/v1/service-points/{point_id}/plans"): "listPlans",
    ("POST", "/api/v1/service-points/{point_id}/plans"): "requestPlan",
    ("GET", "/api/v1/plans/{plan_id}"): "getPlan",
    ("POST", "/api/v1/plans/{plan_id}/apply"): "applyPlan",
    ("POST", "/api/v1/plans/{plan_id}/insertions"): "insertUrgentJob",
    ("GET", "/api/v1/plans/{plan_id}/map.svg"): "getPlanMap",
    ("GET", "/api/v1/products/"): "listProducts",
    ("POST", "/api/v1/products/"): "createProduct",
    ("GET", "/api/v1/products/{product_id}"): "getProduct",
    ("PATCH", "/api/v1/products/{product_id}"): "updateProduct",
    ("DELETE", "/api/v1/products/{product_id}"): "deleteProduct",
    ("GET", "/api/v1/regions/"): "listRegions",
    ("POST", "/api/v1/regions/"): "createRegion",
    ("GET", "/api/v1/regions/locate"): "locateDistrict",
    ("GET", "/api/v1/regions/{region_id}"): "getRegion",
    ("PATCH", "/api/v1/regions/{region_id}"): "updateRegion",
    ("DELETE", "/api/v1/regions/{region_id}"): "deleteRegion",
    ("GET", "/api/v1/service-points/{point_id}/scorecard"): "getServicePointScorecard",
    ("GET", "/api/v1/service-points/"): "listServicePoints",
    ("POST", "/api/v1/service-points/"): "registerServicePoint",
    ("GET", "/api/v1/service-points/{point_id}"): "getServicePoint",
    ("PATCH", "/api/v1/service-points/{point_id}"): "updateServicePoint",
    ("POST", "/api/v1/service-points/{point_id}/authorise"): "authoriseServicePoint",
    ("POST", "/api/v1/service-points/{point_id}/suspend"): "suspendServicePoint",
    ("POST", "/api/v1/service-points/{point_id}/reinstate"): "reinstateServicePoint",
    ("POST", "/api/v1/service-points/{point_id}/revoke"): "revokeServicePoint",
    ("GET", "/api/v1/sla-targets/"): "listSlaTargets",
    ("GET", "/api/v1/sla-targets/{target_id}"): "getSlaTarget",
    ("PATCH", "/api/v1/sla-targets/{target_id}"): "updateSlaTarget",
    ("GET", "/api/v1/sop/templates/"): "listSopTemplates",
    ("POST", "/api/v1/sop/templates/"): "createSopTemplate",
    ("GET", "/api/v1/sop/templates/applicable"): "getApplicableSopVersion",
    ("GET", "/api/v1/sop/templates/{template_id}"): "getSopTemplate",
    ("GET", "/api/v1/sop/templates/{template_id}/versions"): "listSopTemplateVersions",
    ("POST", "/api/v1/sop/templates/{template_id}/versions"): "draftSopTemplateVersion",
    ("GET", "/api/v1/sop/templates/{template_id}/versions/{number}"): "getSopTemplateVersion",
    ("PUT", "/api/v1/sop/templates/{template_id}/versions/{number}"): "replaceSopTemplateDraft",
    ("POST", "/api/v1/sop/templates/{template_id}/versions/{number}/publish"): "publishSopTemplateVersion",
    ("GET", "/api/v1/stock/"): "listStockLevels",
    ("GET", "/api/v1/stock/locations"): "listStockLocations",
    ("GET", "/api/v1/stock/movements"): "listStockMovements",
    ("POST", "/api/v1/stock/deliveries"): "receiveStockDelivery",
    ("GET", "/api/v1/stock/transfers"): "listStockTransfers",
    ("POST", "/api/v1/stock/transfers"): "dispatchStockTransfer",
    ("GET", "/api/v1/stock/transfers/{transfer_id}"): "getStockTransfer",
    ("POST", "/api/v1/stock/transfers/{transfer_id}/receipt"): "receiveStockTransfer",
    ("POST", "/api/v1/stock/adjustments"): "adjustStock",
    ("POST", "/api/v1/stock/defective-returns"): "returnDefectiveStock",
    ("PUT", "/api/v1/stock/limits"): "setStockLimit",
    ("GET", "/api/v1/stock/replenishment"): "listReplenishmentSuggestions",
    ("GET", "/api/v1/sync/changes"): "pullChanges",
    ("POST", "/api/v1/sync/mutations"): "pushMutations",
    ("GET", "/api/v1/technicians/"): "listTechnicians",
    ("POST", "/api/v1/technicians/"): "hireTechnician",
    ("GET", "/api/v1/technicians/{technician_id}"): "getTechnician",
    ("PATCH", "/api/v1/technicians/{technician_id}"): "updateTechnician",
    ("GET", "/api/v1/technicians/{technician_id}/shifts"): "listTechnicianShifts",
    ("GET", "/api/v1/technicians/{technician_id}/qualification"): "checkTechnicianQualification",
    ("POST", "/api/v1/technicians/{technician_id}/certifications"): "addTechnicianCertification",
    ("DELETE", "/api/v1/technicians/{technician_id}/certifications/{certification_id}"):
        "withdrawTechnicianCertification",
    ("GET", "/api/v1/technicians/{technician_id}/shift-exceptions"): "listShiftExceptions",
    ("POST", "/api/v1/technicians/{technician_id}/shift-exceptions"): "recordShiftException",
    ("DELETE", "/api/v1/technicians/{technician_id}/shift-exceptions/{exception_id}"): "cancelShiftException",
    ("GET", "/api/v1/units/"): "listUnits",
    ("POST", "/api/v1/units/"): "registerUnit",
    ("GET", "/api/v1/units/{serial}"): "getUnit",
    ("PATCH", "/api/v1/units/{serial}"): "updateUnit",
    ("POST", "/api/v1/units/{serial}/activation"): "activateWarranty",
    ("PUT", "/api/v1/units/{serial}/activation"): "rebindWarranty",
    ("GET", "/api/v1/units/{serial}/warranty"): "getUnitWarranty",
    ("GET", "/api/v1/users/"): "listUsers",
    ("POST", "/api/v1/users/"): "createUser",
    ("GET", "/api/v1/users/me"): "getCurrentUser",
    ("GET", "/api/v1/users/{user_id}"): "getUser",
    ("POST", "/api/v1/users/me/password"): "changeOwnPassword",
    ("POST", "/api/v1/users/{user_id}/password"): "setUserPassword",
    ("GET", "/api/v1/plans/{plan_id}/gantt.svg"): "getPlanGantt",
    ("POST", "/api/v1/service-points/{point_id}/replans"): "proposeReplan",
    ("GET", "/api/v1/replans/{replan_id}"): "getReplan",
    ("POST", "/api/v1/replans/{replan_id}/confirm"): "confirmReplan",
    ("POST", "/api/v1/replans/{replan_id}/discard"): "discardReplan",
    ("GET", "/api/v1/jobs/{job_id}/slots"): "listJobSlots",
    ("GET", "/api/v1/service-points/{point_id}/slots"): "listSlotsForNewJob",
    ("PUT", "/api/v1/service-points/{point_id}/slot-length"): "setSlotLength",
    ("GET", "/api/v1/service-points/{point_id}/customer-rules"): "getCustomerRules",
    ("PUT", "/api/v1/service-points/{point_id}/customer-rules"): "setCustomerRules",
    ("POST", "/api/v1/jobs/{job_id}/booking"): "bookSlot",
    ("GET", "/api/v1/technicians/me/route"): "getMyRoute",
    ("GET", "/api/v1/technicians/{technician_id}/route"): "getTechnicianRoute",
    ("POST", "/api/v1/customer/otp"): "sendCustomerSignInCode",
    ("POST", "/api/v1/customer/session"): "signInCustomer",
    ("GET", "/api/v1/customer/me"): "getMyCustomerProfile",
    ("PATCH", "/api/v1/customer/me"): "updateMyCustomerProfile",
    ("DELETE", "/api/v1/customer/me/sessions"): "signOutCustomerEverywhere",
    ("GET", "/api/v1/customer/units/"): "listMyUnits",
    ("POST", "/api/v1/customer/units/activation"): "selfActivateWarranty",
    ("GET", "/api/v1/customer/jobs"): "listMyVisits",
    ("POST", "/api/v1/customer/jobs"): "reportFault",
    ("GET", "/api/v1/customer/jobs/{job_id}"): "trackMyVisit",
    ("POST", "/api/v1/customer/jobs/{job_id}/cancellation"): "cancelMyVisit",
    ("POST", "/api/v1/customer/jobs/{job_id}/reschedule"): "rescheduleMyVisit",
    ("GET", "/api/v1/customer/jobs/{job_id}/slots"): "listMyVisitSlots",
    ("GET", "/api/v1/customer/units/{unit_id}/slots"): "listMyUnitSlots",
    ("POST", "/api/v1/customer/jobs/{job_id}/booking"): "bookMyVisit",
    ("PUT", "/api/v1/customer/jobs/{job_id}/preferred-window"): "setMyPreferredWindow",
    ("GET", "/api/v1/customer/jobs/{job_id}/bill"): "getMyBill",
    ("POST", "/api/v1/customer/jobs/{job_id}/bill/confirmation"): "confirmMyBill",
    ("POST", "/api/v1/customer/jobs/{job_id}/rating"): "rateMyVisit",
    ("GET", "/api/v1/customer/complaints"): "listMyComplaints",
    ("POST", "/api/v1/customer/complaints"): "fileComplaint",
    ("GET", "/api/v1/customer/complaints/{complaint_id}"): "getMyComplaint",
    ("POST", "/api/v1/customer/complaints/{complaint_id}/answer"): "answerMyComplaintProposal",
    ("POST", "/api/v1/customer/complaints/{complaint_id}/satisfaction"): "rateMyComplaintHandling",
    ("POST", "/api/v1/notifications/receipts"): "recordDeliveryReceipt",
    ("GET", "/api/v1/notifications/{notification_id}/receipts"): "listDeliveryReceipts",
    ("GET", "/api/v1/public/units/{serial}"): "scanUnit",
    ("GET", "/api/v1/public/technicians/verify"): "verifyTechnician",
    ("GET", "/api/v1/public/products/{sku}/price-list"): "getPublishedPriceList",
    ("GET", "/api/v1/self-activations/"): "listFlaggedSelfActivations",
    ("POST", "/api/v1/self-activations/{activation_id}/review"): "reviewSelfActivation",
    ("POST", "/api/v1/claims/{claim_id}/defective-return"): "receiveClaimDefectiveReturn",
    ("POST", "/api/v1/claims/{claim_id}/return-waiver"): "waiveClaimReturn",
    ("GET", "/api/v1/claims/policy"): "getClaimPolicy",
    ("PUT", "/api/v1/claims/policy"): "setClaimPolicy",
    ("GET", "/api/v1/fault-causes"): "listFaultCauses",
    ("POST", "/api/v1/fault-causes"): "createFaultCause",
    ("GET", "/api/v1/fault-causes/{cause_id}"): "getFaultCause",
    ("PATCH", "/api/v1/fault-causes/{cause_id}"): "updateFaultCause",
    ("GET", "/api/v1/jobs/{job_id}/fault-cause"): "getJobFaultCause",
    ("PUT", "/api/v1/jobs/{job_id}/fault-cause"): "recordJobFaultCause",
    ("GET", "/api/v1/trade-partners"): "listTradePartners",
    ("POST", "/api/v1/trade-partners"): "createTradePartner",
    ("GET", "/api/v1/trade-partners/{code}/unactivated-serials"): "listDealerUnactivatedSerials",
    ("POST", "/api/v1/journey-events"): "loadJourneyEvents",
    ("GET", "/api/v1/journey-events/flags"): "listFlaggedActivations",
    ("GET", "/api/v1/units/{serial}/journey"): "getUnitJourney",
    ("GET", "/api/v1/kpis/warranty/"): "getWarrantyKpis",
    ("GET", "/api/v1/statutory-periods"): "listStatutoryPeriods",
    ("PUT", "/api/v1/statutory-periods/{category}"): "setStatutoryPeriods",
    ("GET", "/api/v1/remedy-requests"): "listRemedyRequests",
    ("POST", "/api/v1/remedy-requests"): "fileRemedyRequest",
    ("GET", "/api/v1/remedy-requests/{request_id}"): "getRemedyRequest",
    ("POST", "/api/v1/remedy-requests/{request_id}/decision"): "decideRemedyRequest",
    ("GET", "/api/v1/replacement-suggestions"): "listReplacementSuggestions",
    ("GET", "/api/v1/unit-returns"): "listUnitReturns",
    ("POST", "/api/v1/unit-returns/{return_id}/receipt"): "receiveUnitReturn",
    ("GET", "/api/v1/service-contracts"): "listServiceContracts",
    ("POST", "/api/v1/service-contracts"): "sellServiceContract",
    ("GET", "/api/v1/service-contracts/{contract_id}"): "getServiceContract",
    ("POST", "/api/v1/service-contracts/{contract_id}/cancellation"): "cancelServiceContract",
    ("POST", "/api/v1/service-contracts/reminders"): "requestContractReminders",
    ("GET", "/api/v1/recall-campaigns"): "listRecallCampaigns",
    ("POST", "/api/v1/recall-campaigns"): "createRecallCampaign",
    ("GET", "/api/v1/recall-campaigns/{campaign_id}"): "getRecallCampaign",
    ("POST", "/api/v1/recall-campaigns/{campaign_id}/launch"): "launchRecallCampaign",
    ("GET", "/api/v1/recall-campaigns/{campaign_id}/points"): "listRecallPointProgress",
    ("POST", "/api/v1/imports/units"): "importUnits",
    ("GET", "/api/v1/imports/units/export"): "exportUnits",
    ("POST", "/api/v1/imports/customers"): "importCustomers",
    ("GET", "/api/v1/imports/customers/export"): "exportCustomers",
    ("POST", "/api/v1/imports/parts"): "importParts",
    ("GET", "/api/v1/imports/parts/export"): "exportParts",
    ("POST", "/api/v1/imports/technicians"): "importTechnicians",
    ("GET", "/api/v1/imports/technicians/export"): "exportTechnicians",
    ("GET", "/api/v1/imports/"): "listImports",
    ("GET", "/api/v1/imports/{run_id}"): "getImport",
    ("GET", "/api/v1/clients"): "listApiClients",
    ("POST", "/api/v1/clients"): "createApiClient",
    ("GET", "/api/v1/clients/{client_uuid}"): "getApiClient",
    ("PATCH", "/api/v1/clients/{client_uuid}"): "updateApiClient",
    ("DELETE", "/api/v1/clients/{client_uuid}"): "revokeApiClient",
    ("POST", "/api/v1/clients/{client_uuid}/secret"): "rotateApiClientSecret",
    ("POST", "/api/v1/oauth/token"): "issueClientToken",
    ("GET", "/api/v1/webhooks/event-types"): "listWebhookEventTypes",
    ("GET", "/api/v1/webhooks/endpoints"): "listWebhookEndpoints",
    ("POST", "/api/v1/webhooks/endpoints"): "createWebhookEndpoint",
    ("GET", "/api/v1/webhooks/endpoints/{endpoint_id}"): "getWebhookEndpoint",
    ("PATCH", "/api/v1/webhooks/endpoints/{endpoint_id}"): "updateWebhookEndpoint",
    ("DELETE", "/api/v1/webhooks/endpoints/{endpoint_id}"): "deleteWebhookEndpoint",
    ("POST", "/api/v1/webhooks/endpoints/{endpoint_id}/secret"): "rotateWebhookSecret",
    ("GET", "/api/v1/webhooks/endpoints/{endpoint_id}/deliveries"): "listWebhookDeliveries",
    ("GET", "/api/v1/webhooks/deliveries/{delivery_id}"): "getWebhookDelivery",
    ("POST", "/api/v1/webhooks/deliveries/{delivery_id}/redelivery"): "redeliverWebhook",
    ("POST", "/api/v1/webhooks/pruning"): "pruneOutboxes",
}


@dataclass(frozen=True)
class Retirement:
    """An operation being retired: announced (``Deprecation``) and removed after ``sunset``."""

    announced: date
    sunset: date
    successor: str  # the operationId to use instead


#: (method, path) -> Retirement. Empty today; see docs/API_POLICY.md for how something leaves.
DEPRECATED: dict[tuple[str, str], Retirement] = {}

#: Responses that are not JSON: (method, path suffix) -> media types.
MEDIA_TYPES: dict[tuple[str, str], dict[str, dict]] = {
    ("GET", ".svg"): {"image/svg+xml": {"schema": {"type": "string"}}},
    ("GET", "/units/export"): {"text/csv": {"schema": {"type": "string"}}},
    ("GET", "/content"): {"image/jpeg": {"schema": {"type": "string", "format": "binary"}},
                          "image/png": {"schema": {"type": "string", "format": "binary"}}},
}

LINK_HEADER = {
    "description": "RFC 8288 links to the first, previous, next and last pages (those that exist).",
    "schema": {"type": "string"},
    "example": '</api/v1/jobs?page=2&page_size=20>; rel="next", </api/v1/jobs?page=1&page_size=20>; rel="first"',
}
LOCATION_HEADER = {"description": "The URL of what was created (or of the plan to poll).",
                   "schema": {"type": "string", "format": "uri-reference"}}
DEPRECATION_HEADER = {"description": "When this operation was deprecated (RFC 9745), as @epoch-seconds.",
                      "schema": {"type": "string"}}
SUNSET_HEADER = {"description": "When this operation stops answering (RFC 8594), an HTTP date.",
                 "schema": {"type": "string"}}


def operation_key(method: str, path: str) -> tuple[str, str]:
    return method.upper(), path


class ContractPlugin(BasePlugin):
    """Operation ids, descriptions, headers, media types and examples; open response objects.

    ``Location`` is documented on the 201/202 of the views whose code sets it (read from the view
    the rule maps to, so the document cannot claim a header the view does not send)."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def schema_helper(self, name, definition, **kwargs):
        # Responses may gain fields without a new API version (docs/API_POLICY.md); requests still
        # refuse unknown fields at run time, with a 422 that names them.
        if definition.get("additionalProperties") is False:
            del definition["additionalProperties"]
        return {}

    def operation_helper(self, path=None, operations=None, rule=None, **kwargs):
        for method, operation in (operations or {}).items():
            if method not in HTTP_METHODS:
                continue
            key = operation_key(method, path)
            operation_id = OPERATION_IDS.get(key)
            if operation_id:
                operation["operationId"] = operation_id
            if "description" not in operation and operation.get("summary"):
                operation["description"] = operation["summary"]
            responses = operation.get("responses", {})
            for status, response in responses.items():
                if not isinstance(response, dict) or "$ref" in response:
                    continue
                headers = response.get("headers", {})
                if "X-Pagination" in headers:
                    headers["Link"] = LINK_HEADER
                if str(status) in ("201", "202") and _sets_location(self.app, rule, method):
                    response.setdefault("headers", {})["Location"] = LOCATION_HEADER
            ok = responses.get(200) or responses.get("200")
            for (media_method, suffix), content in MEDIA_TYPES.items():
                if key[0] == media_method and path.endswith(suffix) and isinstance(ok, dict):
                    ok["content"] = content
            retirement = DEPRECATED.get(key)
            if retirement:
                operation["deprecated"] = True
                success = next((r for s, r in responses.items() if str(s).startswith("2")), None)
                if isinstance(success, dict):
                    success.setdefault("headers", {}).update(
                        {"Deprecation": DEPRECATION_HEADER, "Sunset": SUNSET_HEADER})
            _add_examples(operation, EXAMPLES.get(operation_id or ""))


def _add_examples(operation: dict, examples: dict | None) -> None:
    if not examples:
        return
    if "request" in examples:
        for media in operation.get("requestBody", {}).get("content", {}).values():
            media["example"] = examples["request"]
    for status, example in examples.get("responses", {}).items():
        responses = operation.get("responses", {})
        response = responses.get(str(status)) or responses.get(int(status))
        if isinstance(response, dict):
            for media in response.get("content", {}).values():
                media["example"] = example


_enum_owners: dict[str, type[enum.Enum]] = {}


def _enum_component_name(enum_class: type[enum.Enum], taken) -> str:
    name = enum_class.__name__
    owner = _enum_owners.setdefault(name, enum_class)
    if owner is enum_class and (name not in taken or taken[name].get("x-enum") == name):
        return name
    domain = enum_class.__module__.split(".")[1] if enum_class.__module__.startswith("dispatch.") else ""
    return f"{domain.title()}{name}Enum"


def named_enums_and_nullable_refs(self, field, ret=None, **kwargs) -> dict:
    """Attribute function, run last: a computed field (``fields.Function``/``Method``) is typed by its
    ``metadata["returns"]`` field; an Enum field refers to one component per enum class; a nullable
    reference becomes ``allOf: [$ref]`` + ``nullable: true`` (what 3.0 generators read)."""
    if ret is None:
        return {}
    returns = field.metadata.get("returns")
    if isinstance(field, (fields.Function, fields.Method)) and isinstance(returns, fields.Field):
        ret.update(self.field2property(returns))  # a computed field documents what it computes
    if isinstance(field, fields.Enum) and "enum" in ret:
        schemas = self.spec.components.schemas
        name = _enum_component_name(field.enum, schemas)
        if name not in schemas:
            values = [value for value in ret["enum"] if value is not None]
            self.spec.components.schema(name, {"type": ret.get("type", "string"), "enum": values,
                                               "x-enum": name})
        ret.pop("enum")
        ret.pop("type", None)
        ret["allOf"] = [{"$ref": f"#/components/schemas/{name}"}]
    any_of = ret.get("anyOf")
    if any_of and len(any_of) == 2 and {"type": "object", "nullable": True} in any_of:
        target = next(item for item in any_of if item != {"type": "object", "nullable": True})
        del ret["anyOf"]
        ret["allOf"] = [target]
        ret["nullable"] = True
    if isinstance(field, fields.Constant) and "type" not in ret:
        ret["type"] = CONSTANT_TYPES.get(type(field.constant), "string")
    if "$ref" in ret and len(ret) > 1:
        ret["allOf"] = [{"$ref": ret.pop("$ref")}]  # 3.0 ignores the siblings of a bare $ref
    if list(ret) == ["allOf"] and len(ret["allOf"]) == 1:
        ref = ret.pop("allOf")[0]
        ret.update(ref)  # a bare reference needs no wrapper
    return {}


CONSTANT_TYPES = {str: "string", bool: "boolean", int: "integer", float: "number"}


def _sets_location(app: Flask, rule, method: str) -> bool:
    view = app.view_functions.get(rule.endpoint) if rule is not None else None
    view_class = getattr(view, "view_class", None)
    handler = getattr(view_class, method, None) if view_class else view
    try:
        return handler is not None and '"Location"' in inspect.getsource(handler)
    except (OSError, TypeError):
        return False


def openapi_path(rule: str) -> str:
    """``/jobs/<uuid:job_id>`` -> ``/jobs/{job_id}``."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def _link_header(pagination: dict[str, Any]) -> str:
    links = []
    for rel, number in (("first", pagination.get("first_page")), ("prev", pagination.get("previous_page")),
                        ("next", pagination.get("next_page")), ("last", pagination.get("last_page"))):
        if number is None:
            continue
        query = request.args.to_dict(flat=False)
        query["page"] = [str(number)]
        links.append(f'<{request.path}?{urlencode(query, doseq=True)}>; rel="{rel}"')
    return ", ".join(links)


def _midnight_utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


def init_app(app: Flask) -> None:
    """``Link`` beside every ``X-Pagination``; ``Deprecation``/``Sunset`` on retiring operations."""

    @app.after_request
    def contract_headers(response):
        pagination = response.headers.get("X-Pagination")
        if pagination and "Link" not in response.headers:
            link = _link_header(json.loads(pagination))
            if link:
                response.headers["Link"] = link
        if DEPRECATED and request.url_rule is not None:
            retirement = DEPRECATED.get(operation_key(request.method, openapi_path(request.url_rule.rule)))
            if retirement:
                response.headers["Deprecation"] = f"@{int(_midnight_utc(retirement.announced).timestamp())}"
                response.headers["Sunset"] = format_datetime(_midnight_utc(retirement.sunset), usegmt=True)
                response.headers.add("Link", f'<{request.script_root}/api/docs/#/{retirement.successor}>; '
                                             f'rel="successor-version"')
        return response
