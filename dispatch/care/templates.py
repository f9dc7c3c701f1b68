"""Message texts. Pure: the outbox stores a template name and its facts (payload); the text is
rendered when the message is sent, in the network's local time and in the recipient's language
(the payload's ``locale``, written when the message is queued; zh-CN when absent). The texts
are gettext message ids translated by :mod:`dispatch.i18n` (catalogue ``care.po``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from dispatch.i18n import DEFAULT_LOCALE, N_, gettext


class Template:
    JOB_SCHEDULED = "job_scheduled"
    TECHNICIAN_EN_ROUTE = "technician_en_route"
    JOB_COMPLETED = "job_completed"
    MAINTENANCE_DUE = "maintenance_due"
    COMPLAINT_ESCALATED = "complaint_escalated"
    SIGN_IN_CODE = "sign_in_code"
    ACTIVATION_FLAGGED = "activation_flagged"


NEEDS_RATING_LINK = frozenset({Template.JOB_COMPLETED})

SECRET_FACTS: dict[str, frozenset[str]] = {Template.SIGN_IN_CODE: frozenset({"code"})}
"""Facts that must never be shown (outbox listings) nor kept once the message is final."""

JOB_TYPE_NAMES = {"install": N_("installation"), "repair": N_("repair"), "maintenance": N_("maintenance")}


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


def masked(template: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The payload with its secret facts hidden (for listings and for the stored final copy)."""
    secret = SECRET_FACTS.get(template, frozenset())
    return {k: ("******" if k in secret else v) for k, v in payload.items()}


def _local(iso: str | None, tz: ZoneInfo, locale: str) -> str:
    if not iso:
        return gettext(locale, N_("to be confirmed"))
    return datetime.fromisoformat(iso).astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _day(iso: str) -> str:
    return date.fromisoformat(iso).strftime("%Y-%m-%d")


def render(template: str, payload: dict[str, Any], *, tz: ZoneInfo, rating_url: str | None = None,
           locale: str | None = None) -> Rendered:
    """The subject and text of one message; raises KeyError for an unknown template or fact."""
    p = payload
    loc = p.get("locale") or locale or DEFAULT_LOCALE

    def t(msgid: str, **params: Any) -> str:
        return gettext(loc, msgid, **params)

    def job_type() -> str:
        return t(JOB_TYPE_NAMES.get(p["job_type"], p["job_type"]))

    if template == Template.JOB_SCHEDULED:
        return Rendered(
            t(N_("Visit {reference} scheduled"), reference=p["reference"]),
            t(N_("Your {job_type} visit {reference} ({product}) is scheduled; the technician {technician} "
                 "expects to arrive at {eta}."), job_type=job_type(), reference=p["reference"],
              product=p["product"], technician=p["technician"], eta=_local(p.get("eta"), tz, loc)),
        )
    if template == Template.TECHNICIAN_EN_ROUTE:
        subject = t(N_("Technician on the way ({reference})"), reference=p["reference"])
        if p.get("eta"):
            return Rendered(subject, t(N_("{technician} is on the way for visit {reference}, expected at {eta}."),
                                       technician=p["technician"], reference=p["reference"],
                                       eta=_local(p["eta"], tz, loc)))
        return Rendered(subject, t(N_("{technician} is on the way for visit {reference}."),
                                   technician=p["technician"], reference=p["reference"]))
    if template == Template.JOB_COMPLETED:
        if rating_url is None:
            raise KeyError("rating_url")
        return Rendered(
            t(N_("Visit {reference} completed"), reference=p["reference"]),
            t(N_("Your {job_type} visit {reference} is completed. How did we do? Rate the visit (1-5): {url}"),
              job_type=job_type(), reference=p["reference"], url=rating_url),
        )
    if template == Template.MAINTENANCE_DUE:
        return Rendered(
            t(N_("Maintenance due")),
            t(N_("Your {product} (serial {serial}) is due for maintenance on {day}. We have opened visit "
                 "{reference}; the service point will call you to agree a time."),
              product=p["product"], serial=p["serial"], day=_day(p["due_on"]), reference=p["reference"]),
        )
    if template == Template.COMPLAINT_ESCALATED:
        return Rendered(
            t(N_("Complaint {reference} escalated"), reference=p["reference"]),
            t(N_("Complaint {reference} ({category}: {summary}) missed its deadline of {due_at} and is "
                 "escalated to HQ."), reference=p["reference"], category=p["category"], summary=p["summary"],
              due_at=_local(p["due_at"], tz, loc)),
        )
    if template == Template.SIGN_IN_CODE:
        return Rendered(
            t(N_("Your sign-in code")),
            t(N_("Your sign-in code is {code}. It expires in {minutes} minutes. Never share it with anyone, "
                 "our staff included."), code=p["code"], minutes=p["minutes"]),
        )
    if template == Template.ACTIVATION_FLAGGED:
        return Rendered(
            t(N_("Self-activation of {serial} to review"), serial=p["serial"]),
            t(N_("Unit {serial} was activated by its customer and needs a look: {flags}."),
              serial=p["serial"], flags=", ".join(p["flags"])),
        )
    raise KeyError(template)
