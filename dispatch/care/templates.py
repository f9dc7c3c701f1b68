"""Message texts. Pure: the outbox stores a template name and its facts (payload); the text is
rendered when the message is sent, in the network's local time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo


class Template:
    JOB_SCHEDULED = "job_scheduled"
    TECHNICIAN_EN_ROUTE = "technician_en_route"
    JOB_COMPLETED = "job_completed"
    MAINTENANCE_DUE = "maintenance_due"
    COMPLAINT_ESCALATED = "complaint_escalated"


NEEDS_RATING_LINK = frozenset({Template.JOB_COMPLETED})


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


def _local(iso: str | None, tz: ZoneInfo) -> str:
    if not iso:
        return "to be confirmed"
    return datetime.fromisoformat(iso).astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _day(iso: str) -> str:
    return date.fromisoformat(iso).strftime("%Y-%m-%d")


def render(template: str, payload: dict[str, Any], *, tz: ZoneInfo, rating_url: str | None = None) -> Rendered:
    """The subject and text of one message; raises KeyError for an unknown template or fact."""
    p = payload
    if template == Template.JOB_SCHEDULED:
        return Rendered(
            f"Visit {p['reference']} scheduled",
            f"Your {p['job_type']} visit {p['reference']} ({p['product']}) is scheduled; "
            f"the technician {p['technician']} expects to arrive at {_local(p.get('eta'), tz)}.",
        )
    if template == Template.TECHNICIAN_EN_ROUTE:
        return Rendered(
            f"Technician on the way ({p['reference']})",
            f"{p['technician']} is on the way for visit {p['reference']}"
            + (f", expected at {_local(p['eta'], tz)}." if p.get("eta") else "."),
        )
    if template == Template.JOB_COMPLETED:
        if rating_url is None:
            raise KeyError("rating_url")
        return Rendered(
            f"Visit {p['reference']} completed",
            f"Your {p['job_type']} visit {p['reference']} is completed. "
            f"How did we do? Rate the visit (1-5): {rating_url}",
        )
    if template == Template.MAINTENANCE_DUE:
        return Rendered(
            "Maintenance due",
            f"Your {p['product']} (serial {p['serial']}) is due for maintenance on {_day(p['due_on'])}. "
            f"We have opened visit {p['reference']}; the service point will call you to agree a time.",
        )
    if template == Template.COMPLAINT_ESCALATED:
        return Rendered(
            f"Complaint {p['reference']} escalated",
            f"Complaint {p['reference']} ({p['category']}: {p['summary']}) missed its deadline "
            f"of {_local(p['due_at'], tz)} and is escalated to HQ.",
        )
    raise KeyError(template)
