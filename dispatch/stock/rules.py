"""Pure stock rules (no database): what a job's bill is, whether a warranty claim passes the
automatic checks, and which transfers would bring locations back to their maximum.

Services load the rows, turn them into the small frozen inputs below and ask these functions.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from dispatch.errors import ValidationFailed

CENT = Decimal("0.01")


def money(value: Decimal | int | str) -> Decimal:
    """Round to the cent, half up (how prices are printed on a bill)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


# ----------------------------------------------------------------------------------------- bill


@dataclass(frozen=True)
class ChargeablePart:
    """Parts fitted on a job, grouped by part; ``list_price`` is the price list that applies."""

    part_id: uuid.UUID
    sku: str
    name: str
    quantity: int
    list_price: Decimal
    warranty_covered: bool  # the catalogue says warranty pays for this part (filters: no)


@dataclass(frozen=True)
class BillLine:
    kind: str  # "labour" or "part"
    part_id: uuid.UUID | None
    sku: str | None
    description: str
    quantity: int
    list_unit_price: Decimal
    unit_price: Decimal  # after a manager's reduction; never above list_unit_price
    covered: bool  # warranty pays: the customer is charged 0 for this line
    amount: Decimal


@dataclass(frozen=True)
class Bill:
    currency: str
    labour_covered: bool
    parts_covered: bool
    lines: tuple[BillLine, ...]

    @property
    def total(self) -> Decimal:
        return money(sum((line.amount for line in self.lines), Decimal(0)))


def check_price_override(unit_price: Decimal, list_price: Decimal, field: str) -> None:
    """A manager may lower a price, never raise it above the list (or below zero)."""
    if unit_price < 0:
        raise ValidationFailed(field, "a price cannot be negative")
    if unit_price > list_price:
        raise ValidationFailed(field, f"{unit_price} is above the list price {list_price}; nothing above list "
                                      "price can be billed", list_price=str(list_price))


def compute_bill(
    *,
    job_type: str,
    labour_rate: Decimal,
    labour_covered: bool,
    parts_covered: bool,
    parts: Sequence[ChargeablePart],
    overrides: Mapping[uuid.UUID | None, Decimal],
    currency: str,
) -> Bill:
    """Labour from the rate table plus parts at list price; warranty-covered lines cost 0.

    Prices come only from the catalogue and the rate table. An override (key ``None`` =
    labour) can only lower a price: it is capped at the list price even if the list price
    fell after the override was set.
    """
    lines: list[BillLine] = []
    labour_list = money(labour_rate)
    labour_unit = min(money(overrides.get(None, labour_list)), labour_list)
    lines.append(BillLine(
        kind="labour", part_id=None, sku=None, description=f"labour: {job_type}", quantity=1,
        list_unit_price=labour_list, unit_price=labour_unit, covered=labour_covered,
        amount=Decimal("0.00") if labour_covered else labour_unit,
    ))
    for part in sorted(parts, key=lambda p: (p.sku, p.list_price)):
        list_price = money(part.list_price)
        unit = min(money(overrides.get(part.part_id, list_price)), list_price)
        covered = parts_covered and part.warranty_covered
        lines.append(BillLine(
            kind="part", part_id=part.part_id, sku=part.sku, description=part.name, quantity=part.quantity,
            list_unit_price=list_price, unit_price=unit, covered=covered,
            amount=Decimal("0.00") if covered else money(unit * part.quantity),
        ))
    return Bill(currency=currency, labour_covered=labour_covered, parts_covered=parts_covered, lines=tuple(lines))


# --------------------------------------------------------------------------------------- claims


class ClaimRejection(StrEnum):
    NO_UNIT = "no_unit"  # the job names no unit: nothing to check the warranty against
    NOT_ACTIVATED = "not_activated"  # the unit's warranty card was never activated
    OUT_OF_WARRANTY = "out_of_warranty"  # the warranty had ended (or not begun) on the job date
    PART_DOES_NOT_FIT = "part_does_not_fit"  # the part is not listed for the unit's model
    HQ_DECISION = "hq_decision"  # rejected by HQ after review
    MISUSE = "misuse"  # the repair's fault cause is misuse or an outside cause: the customer pays


@dataclass(frozen=True)
class ClaimFacts:
    """What the automatic claim checks look at."""

    job_date: date
    part_sku: str
    has_unit: bool
    activated: bool = False
    purchased_on: date | None = None
    warranty_until: date | None = None
    product_sku: str | None = None
    part_fits: bool = False
    previous_claim_on: date | None = None  # the latest earlier claim (not rejected) for this unit and part
    repeat_window_days: int = 90


@dataclass(frozen=True)
class ClaimCheck:
    rejection: ClaimRejection | None
    detail: str

    @property
    def passed(self) -> bool:
        return self.rejection is None


@dataclass(frozen=True)
class CheckResult:
    """One named check of a claim, passed or failed, with what it saw."""

    check: str
    passed: bool | None  # None: not checked (an earlier check already rejects the claim)
    detail: str

    def as_dict(self) -> dict[str, object]:
        return {"check": self.check, "passed": self.passed, "detail": self.detail}


def check_claim(facts: ClaimFacts) -> ClaimCheck:
    """The first automatic reason to reject the claim, or a pass.

    Order: no unit, never activated, out of warranty on the job date, part does not fit.
    """
    if not facts.has_unit:
        return ClaimCheck(ClaimRejection.NO_UNIT, "the job names no unit, so its warranty cannot be checked")
    if not facts.activated or facts.purchased_on is None:
        return ClaimCheck(ClaimRejection.NOT_ACTIVATED, "the unit's warranty card was never activated")
    if facts.warranty_until is None or not facts.purchased_on <= facts.job_date <= facts.warranty_until:
        return ClaimCheck(
            ClaimRejection.OUT_OF_WARRANTY,
            f"on the job date {facts.job_date} the unit was out of warranty "
            f"(purchased {facts.purchased_on}, warranty until {facts.warranty_until})",
        )
    if not facts.part_fits:
        return ClaimCheck(ClaimRejection.PART_DOES_NOT_FIT,
                          f"part {facts.part_sku} is not listed as fitting model {facts.product_sku}")
    return ClaimCheck(None, "")


REJECTING_CHECKS = (
    ("unit_named", ClaimRejection.NO_UNIT),
    ("activated", ClaimRejection.NOT_ACTIVATED),
    ("in_warranty", ClaimRejection.OUT_OF_WARRANTY),
    ("part_fits", ClaimRejection.PART_DOES_NOT_FIT),
)


def repeat_check(facts: ClaimFacts) -> CheckResult:
    """Passed unless the same unit and part were claimed within the window before the job date
    (a repeat claim is held for HQ's review, not rejected). A window of 0 days turns the check off."""
    if facts.repeat_window_days == 0:
        return CheckResult("not_a_repeat", True, "the repeat-claim check is off (window 0 days)")
    if facts.previous_claim_on is None:
        return CheckResult("not_a_repeat", True, f"no claim for this unit and part in the last "
                                                 f"{facts.repeat_window_days} days")
    days = (facts.job_date - facts.previous_claim_on).days
    if days <= facts.repeat_window_days:
        return CheckResult("not_a_repeat", False, f"part {facts.part_sku} was claimed for this unit on "
                                                  f"{facts.previous_claim_on}, {days} days before "
                                                  f"(window {facts.repeat_window_days} days): held for review")
    return CheckResult("not_a_repeat", True, f"the last claim for this unit and part was {days} days before")


def claim_checks(facts: ClaimFacts) -> tuple[list[CheckResult], ClaimCheck, bool]:
    """Every filing-time check with its outcome, the first rejecting failure (if any), and whether
    the claim is held for review (a repeat claim that nothing rejects)."""
    first = check_claim(facts)
    failed_at = next((i for i, (_, code) in enumerate(REJECTING_CHECKS) if code == first.rejection), None)
    results = []
    for index, (name, _code) in enumerate(REJECTING_CHECKS):
        if failed_at is not None and index > failed_at:
            results.append(CheckResult(name, None, "not checked: an earlier check failed"))
        elif index == failed_at:
            results.append(CheckResult(name, False, first.detail))
        else:
            results.append(CheckResult(name, True, "ok"))
    repeat = repeat_check(facts)
    results.append(repeat)
    return results, first, first.passed and not repeat.passed


# -------------------------------------------------------------------------------- replenishment


@dataclass(frozen=True)
class LevelFacts:
    """One (location, part) for the replenishment calculation."""

    location_id: uuid.UUID
    code: str
    kind: str  # "hq", "point" or "van"
    part_id: uuid.UUID
    on_hand: int = 0
    reserved: int = 0
    in_transit: int = 0
    min_level: int | None = None
    max_level: int | None = None

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    @property
    def position(self) -> int:
        """What the location can count on: available now plus what is on its way."""
        return self.available + self.in_transit


def is_low(position: int, min_level: int | None) -> bool:
    """At or below the minimum (``position`` = available + in transit)."""
    return min_level is not None and position <= min_level


def refill_need(level: LevelFacts, position: int | None = None) -> int:
    """Units to bring a low location back to its maximum (or its minimum when no maximum is set)."""
    position = level.position if position is None else position
    if not is_low(position, level.min_level):
        return 0
    target = level.max_level if level.max_level is not None else level.min_level
    return max(target - position, 0)


@dataclass(frozen=True)
class Suggestion:
    """Move ``quantity`` from ``from_location_id`` (None: buy from the supplier) to the location.

    ``short_by`` is what the source could not cover; ``need`` what the location wanted.
    """

    from_location_id: uuid.UUID | None
    to_location_id: uuid.UUID
    part_id: uuid.UUID
    quantity: int
    need: int
    short_by: int
    position: int
    min_level: int | None
    max_level: int | None


@dataclass(frozen=True)
class LocationFacts:
    code: str
    kind: str  # "hq", "point" or "van"
    parent_id: uuid.UUID | None  # where it is replenished from: van -> its point, point -> HQ, HQ -> None


def suggest_transfers(levels: Sequence[LevelFacts], locations: Mapping[uuid.UUID, LocationFacts]) -> list[Suggestion]:
    """Transfers (HQ to point, point to van) that bring low locations back to their maximum.

    Vans are served from their point's available stock first (in code order); whatever a point
    cannot give its vans is added to what the point asks from HQ, and whatever HQ cannot give is
    a purchase suggestion (``from_location_id`` None). ``locations`` describes every location
    named in ``levels`` and every parent.
    """
    by_key = {(lv.location_id, lv.part_id): lv for lv in levels}

    def level(location_id: uuid.UUID, part_id: uuid.UUID) -> LevelFacts:
        facts = locations[location_id]
        return by_key.get((location_id, part_id)) or LevelFacts(
            location_id=location_id, code=facts.code, kind=facts.kind, part_id=part_id
        )

    suggestions: list[Suggestion] = []
    given: dict[tuple[uuid.UUID, uuid.UUID], int] = defaultdict(int)  # taken from a source's available
    unmet: dict[tuple[uuid.UUID, uuid.UUID], int] = defaultdict(int)  # children's need a source could not cover

    for tier in ("van", "point", "hq"):
        keys = {(lv.location_id, lv.part_id) for lv in levels if locations[lv.location_id].kind == tier}
        keys |= {key for key in unmet if locations[key[0]].kind == tier}
        for location_id, part_id in sorted(keys, key=lambda key: (locations[key[0]].code, str(key[1]))):
            lv = level(location_id, part_id)
            position = lv.position - given[(location_id, part_id)]
            need = refill_need(lv, position) + unmet[(location_id, part_id)]
            if need <= 0:
                continue
            source_id = locations[location_id].parent_id
            if source_id is None:
                quantity = need
            else:
                source = level(source_id, part_id)
                quantity = min(need, max(source.available - given[(source_id, part_id)], 0))
                given[(source_id, part_id)] += quantity
                if need > quantity:
                    unmet[(source_id, part_id)] += need - quantity
            suggestions.append(Suggestion(
                from_location_id=source_id, to_location_id=location_id, part_id=part_id, quantity=quantity,
                need=need, short_by=need - quantity, position=lv.position,
                min_level=lv.min_level, max_level=lv.max_level,
            ))
    return suggestions
