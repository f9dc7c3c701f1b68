"""Outbound events: HQ's webhook endpoints, their delivery log and manual redelivery."""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from dispatch.api.deps import current_principal, settings, task_queue, unit_of_work
from dispatch.api.errors import ProblemSchema
from dispatch.api.schemas.webhooks import (
    WebhookEventTypeSchema,
    WebhookDeliveryDetailSchema,
    WebhookDeliveryFilterSchema,
    WebhookDeliverySchema,
    WebhookEndpointCreateSchema,
    WebhookEndpointSchema,
    WebhookEndpointUpdateSchema,
    WebhookEndpointWithSecretSchema,
    WebhookPruningSchema,
)
from dispatch.integrations import retention, webhooks
from dispatch.integrations.enums import EventType

blp = Blueprint("webhooks", __name__, url_prefix="/api/v1/webhooks",
                description="Outbound events (webhooks) signed as Standard Webhooks do; HQ registers receivers")

EVENT_DESCRIPTIONS = {
    EventType.JOB_CREATED: "a job was taken in",
    EventType.JOB_DISPATCHED: "a job was routed to a service point",
    EventType.JOB_SCHEDULED: "a job was given a technician and a time",
    EventType.JOB_STATUS_CHANGED: "any status change of a job (the specific events are sent as well)",
    EventType.JOB_COMPLETED: "the work was done",
    EventType.CHECKLIST_COMPLETED: "a job's SOP checklist was completed",
    EventType.AUDIT_VERDICT: "an HQ reviewer gave (or changed) an audit's verdict",
    EventType.STOCK_BELOW_MINIMUM: "a part at a location fell to or below its minimum",
    EventType.CLAIM_DECIDED: "HQ approved or rejected a warranty claim",
    EventType.COMPLAINT_OPENED: "a complaint was received",
    EventType.COMPLAINT_ESCALATED: "a complaint missed its deadline and went to HQ",
}


def _private() -> bool:
    return settings().webhook_allow_private_targets


@blp.route("/event-types")
class EventTypes(MethodView):
    @blp.response(200, WebhookEventTypeSchema(many=True))
    def get(self):
        """The event types an endpoint may subscribe to (HQ)."""
        current_principal().require(*webhooks.HQ)
        return [{"type": kind, "description": EVENT_DESCRIPTIONS[kind]} for kind in EventType]


@blp.route("/endpoints")
class Endpoints(MethodView):
    @blp.response(200, WebhookEndpointSchema(many=True))
    @blp.paginate()
    def get(self, pagination_parameters):
        """The registered receivers (HQ)."""
        items, total = webhooks.list_endpoints(unit_of_work(), current_principal(),
                                               offset=pagination_parameters.first_item,
                                               limit=pagination_parameters.page_size)
        pagination_parameters.item_count = total
        return items

    @blp.arguments(WebhookEndpointCreateSchema)
    @blp.response(201, WebhookEndpointWithSecretSchema)
    def post(self, body):
        """Register a receiver (admin); the answer carries its signing secret."""
        endpoint = webhooks.create_endpoint(unit_of_work(), current_principal(), allow_private=_private(), **body)
        return endpoint, {"Location": url_for("webhooks.EndpointById", endpoint_id=endpoint.id)}


@blp.route("/endpoints/<uuid:endpoint_id>")
class EndpointById(MethodView):
    @blp.response(200, WebhookEndpointSchema)
    def get(self, endpoint_id):
        """One receiver (HQ)."""
        return webhooks.get_endpoint(unit_of_work(), current_principal(), endpoint_id)

    @blp.arguments(WebhookEndpointUpdateSchema)
    @blp.response(200, WebhookEndpointSchema)
    def patch(self, changes, endpoint_id):
        """Change the URL, the event types or the description; disable or enable it (admin)."""
        return webhooks.update_endpoint(unit_of_work(), current_principal(), endpoint_id, allow_private=_private(),
                                        **changes)

    @blp.response(204)
    def delete(self, endpoint_id):
        """Remove a receiver with its delivery log (admin)."""
        webhooks.delete_endpoint(unit_of_work(), current_principal(), endpoint_id)


@blp.route("/endpoints/<uuid:endpoint_id>/secret")
class EndpointSecret(MethodView):
    @blp.response(200, WebhookEndpointWithSecretSchema)
    def post(self, endpoint_id):
        """Rotate the signing secret (admin): deliveries from now on are signed with the new one."""
        return webhooks.rotate_secret(unit_of_work(), current_principal(), endpoint_id)


@blp.route("/endpoints/<uuid:endpoint_id>/deliveries")
class EndpointDeliveries(MethodView):
    @blp.arguments(WebhookDeliveryFilterSchema, location="query")
    @blp.response(200, WebhookDeliverySchema(many=True))
    @blp.paginate()
    def get(self, filters, pagination_parameters, endpoint_id):
        """The delivery log of a receiver, newest event first (HQ)."""
        items, total = webhooks.list_deliveries(unit_of_work(), current_principal(), endpoint_id,
                                                offset=pagination_parameters.first_item,
                                                limit=pagination_parameters.page_size, **filters)
        pagination_parameters.item_count = total
        return items


@blp.route("/deliveries/<uuid:delivery_id>")
class DeliveryById(MethodView):
    @blp.response(200, WebhookDeliveryDetailSchema)
    def get(self, delivery_id):
        """One delivery with every attempt (HQ)."""
        return webhooks.get_delivery(unit_of_work(), current_principal(), delivery_id)


@blp.route("/deliveries/<uuid:delivery_id>/redelivery")
class DeliveryRedelivery(MethodView):
    @blp.response(202, WebhookDeliveryDetailSchema)
    @blp.alt_response(409, schema=ProblemSchema, description="the endpoint is disabled")
    def post(self, delivery_id):
        """Send a delivery again now, whatever its state (admin)."""
        return webhooks.redeliver(unit_of_work(), current_principal(), task_queue(), delivery_id)


@blp.route("/pruning")
class Pruning(MethodView):
    @blp.response(202, WebhookPruningSchema)
    @blp.alt_response(403, schema=ProblemSchema, description="HQ admins only")
    def post(self):
        """Prune the outboxes now instead of at the nightly run (admin): delivered webhooks and sent
        messages older than 30 days, undelivered and failed ones older than 90."""
        return retention.request_prune(unit_of_work(), current_principal(), task_queue())
