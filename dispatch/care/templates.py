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
    COMPLAINT_PROPOSAL = "complaint_proposal"
    COMPLAINT_SATISFACTION = "complaint_satisfaction"
    REPLACEMENT_SUGGESTED = "replacement_suggested"
    REMEDY_DECIDED = "remedy_decided"
    CONTRACT_EXPIRING = "contract_expiring"
    CONTRACT_CANCELLED = "contract_cancelled"
    RECALL_OPENED = "recall_opened"
    WEBHOOK_DISABLED = "webhook_disabled"


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
    if template == Template.COMPLAINT_PROPOSAL:
        return Rendered(
            t(N_("Our proposal for complaint {reference}"), reference=p["reference"]),
            t(N_("About your complaint {reference} we propose: {resolution}. Please accept or decline it in "
                 "your account, or tell us when we call."), reference=p["reference"], resolution=p["resolution"]),
        )
    if template == Template.COMPLAINT_SATISFACTION:
        return Rendered(
            t(N_("How did we handle complaint {reference}?"), reference=p["reference"]),
            t(N_("Your complaint {reference} is closed. How satisfied are you with how we handled it (1-5)? "
                 "Answer in your account."), reference=p["reference"]),
        )
    if template == Template.REPLACEMENT_SUGGESTED:
        return Rendered(
            t(N_("Replace unit {serial}?"), serial=p["serial"]),
            t(N_("Unit {serial} was repaired twice for the same defect {code} within its warranty (visits "
                 "{first} and {second}): replacing it is suggested."),
              serial=p["serial"], code=p["code"], first=p["first"], second=p["second"]),
        )
    if template == Template.REMEDY_DECIDED:
        return _remedy(p, t)
    if template == Template.RECALL_OPENED:
        return Rendered(
            t(N_("Free safety recall for your unit {serial}"), serial=p["serial"]),
            t(N_("Recall {code}: we will replace the {part} of your unit {serial} free of charge ({title}). Visit "
                 "{reference} is opened; the service point will call you to agree a time."),
              code=p["code"], part=p["part"], serial=p["serial"], title=p["title"], reference=p["reference"]),
        )
    if template == Template.CONTRACT_EXPIRING:
        return Rendered(
            t(N_("Your service contract {reference} ends soon"), reference=p["reference"]),
            t(N_("Your service contract {reference} for unit {serial} ends on {day}. Call us to renew it and "
                 "keep your visits and parts covered."), reference=p["reference"], serial=p["serial"],
              day=_day(p["ends_on"])),
        )
    if template == Template.CONTRACT_CANCELLED:
        return Rendered(
            t(N_("Your service contract {reference} is cancelled"), reference=p["reference"]),
            t(N_("Your service contract {reference} for unit {serial} is cancelled from {day}. We owe you a "
                 "refund of {refund} yuan for the time and visits not used."), reference=p["reference"],
              serial=p["serial"], day=_day(p["cancelled_on"]), refund=p["refund"]),
        )
    if template == Template.WEBHOOK_DISABLED:
        return Rendered(
            t(N_("Webhook endpoint disabled")),
            t(N_("The webhook endpoint {url} has not accepted an event since {since} and is disabled; its "
                 "events wait until it is enabled again. Last error: {error}"),
              url=p["url"], since=_local(p["failing_since"], tz, loc), error=p["last_error"]),
        )
    raise KeyError(template)


def _remedy(p: dict[str, Any], t) -> Rendered:
    if not p["approved"]:
        return Rendered(t(N_("Your request for {serial}"), serial=p["serial"]),
                        t(N_("We cannot refund or replace your unit {serial}: {reason}. We will repair it under "
                             "its warranty."), serial=p["serial"], reason=p["reason"]))
    if p["kind"] == "replace":
        return Rendered(t(N_("Your unit {serial} will be replaced"), serial=p["serial"]),
                        t(N_("Your unit {serial} will be replaced by a new unit {replacement_serial}, under "
                             "warranty until {until}. We will collect the old unit."), serial=p["serial"],
                          replacement_serial=p["replacement_serial"], until=_day(p["warranty_until"])))
    return Rendered(t(N_("Your unit {serial} will be refunded"), serial=p["serial"]),
                    t(N_("Your refund for unit {serial} is approved. We will collect the unit and refund the "
                         "purchase price."), serial=p["serial"]))
