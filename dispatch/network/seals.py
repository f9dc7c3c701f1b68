"""The warranty registry rows the tamper-evident log vouches for: every activation, and the unit's
current warranty card (warranty is judged from it; unbound units hold none)."""

from __future__ import annotations

from sqlalchemy import or_

from dispatch.audit_log.seals import SealSpec
from dispatch.network.models import Activation, Unit

SEALS = (
    SealSpec(Activation, ("unit_id", "customer_id", "purchased_on", "sales_channel", "activated_at", "actor_id",
                          "reason", "superseded_at")),
    SealSpec(Unit, ("customer_id", "purchased_on", "sales_channel", "activated_at"),
             expected=lambda: or_(Unit.customer_id.is_not(None), Unit.purchased_on.is_not(None),
                                  Unit.activated_at.is_not(None))),
)
