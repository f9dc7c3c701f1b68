"""Pure SOP logic: step specifications, template checks, step ordering, value validation and the
checklist outcome. No database here: services turn rows into :class:`StepSpec` and ask.

The rule language is deliberately small:

* every step has a ``kind`` and kind-specific settings (number: unit, min, max, decimals;
  choice: options; photo/signature: min/max evidence count);
* a step is done in template order (it needs every earlier *required* step) unless it declares
  ``after``: the list of earlier steps it needs (``[]`` = any time);
* a number step may compare itself with an earlier number step (``lt_step``/``gt_step``);
* an out-of-range value (outside min/max, a failed comparison, a confirm answered ``false``)
  is stored either way; ``out_of_range`` decides whether it ``block``s completion (the step is
  failed) or only ``flag``s it for review.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from dispatch.errors import ValidationFailed


class StepKind(StrEnum):
    CONFIRM = "confirm"  # value: true (false = could not confirm: out of range)
    NUMBER = "number"  # value: a number with unit, range and precision
    CHOICE = "choice"  # value: one of the options
    TEXT = "text"  # value: free text
    PHOTO = "photo"  # evidence: min..max photos; no value
    SIGNATURE = "signature"  # value: the signer's name; evidence: exactly one image of the signature


class OutOfRange(StrEnum):
    BLOCK = "block"  # stored, the step fails, completion is refused until it is redone in range
    FLAG = "flag"  # stored, the step passes but is flagged for review


class StepStatus(StrEnum):
    PENDING = "pending"
    PASSED = "passed"
    FAILED = "failed"
    FLAGGED = "flagged"


KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
TEXT_MAX_LENGTH = 2000
SIGNER_MAX_LENGTH = 200
MAX_DECIMALS = 6
MAX_EVIDENCE = 20

# (min, max) attachments per kind when the template does not say.
EVIDENCE_DEFAULTS: dict[StepKind, tuple[int, int]] = {
    StepKind.CONFIRM: (0, 5),
    StepKind.NUMBER: (0, 5),  # e.g. a photo of the gauge
    StepKind.CHOICE: (0, 5),
    StepKind.TEXT: (0, 5),
    StepKind.PHOTO: (1, 10),
    StepKind.SIGNATURE: (1, 1),
}

# Settings that only make sense for some kinds (anything else is a template error).
_KIND_SETTINGS: dict[str, frozenset[StepKind]] = {
    "unit": frozenset({StepKind.NUMBER}),
    "min": frozenset({StepKind.NUMBER}),
    "max": frozenset({StepKind.NUMBER}),
    "decimals": frozenset({StepKind.NUMBER}),
    "lt_step": frozenset({StepKind.NUMBER}),
    "gt_step": frozenset({StepKind.NUMBER}),
    "options": frozenset({StepKind.CHOICE}),
}


@dataclass(frozen=True)
class StepSpec:
    """One step of a template version, as the rules see it."""

    key: str
    title: str
    kind: StepKind
    required: bool = True
    instructions: str = ""
    after: tuple[str, ...] | None = None  # None: in order (every earlier required step)
    out_of_range: OutOfRange = OutOfRange.BLOCK
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    decimals: int | None = None
    options: tuple[str, ...] = ()
    min_count: int | None = None
    max_count: int | None = None
    lt_step: str | None = None  # this value must be lower than that step's
    gt_step: str | None = None  # this value must be higher than that step's

    @property
    def evidence_bounds(self) -> tuple[int, int]:
        low, high = EVIDENCE_DEFAULTS[self.kind]
        return (low if self.min_count is None else self.min_count,
                high if self.max_count is None else self.max_count)

    @property
    def compared_with(self) -> tuple[str, ...]:
        return tuple(k for k in (self.lt_step, self.gt_step) if k)

    def settings(self) -> dict[str, Any]:
        """The kind-specific settings that are set (what a template stores beside the basics)."""
        values = {"unit": self.unit, "min": self.min, "max": self.max, "decimals": self.decimals,
                  "options": list(self.options) or None, "min_count": self.min_count,
                  "max_count": self.max_count, "lt_step": self.lt_step, "gt_step": self.gt_step}
        return {name: value for name, value in values.items() if value is not None}


@dataclass(frozen=True)
class Reason:
    """Why a value is out of range (``code`` is stable, ``message`` is for people)."""

    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class Judgement:
    status: StepStatus
    reasons: tuple[Reason, ...] = ()


@dataclass(frozen=True)
class Answer:
    """The current result of a step: its (normalised) value and how many attachments it has."""

    value: Any
    evidence_count: int = 0


@dataclass(frozen=True)
class StepOutcome:
    key: str
    status: StepStatus
    reasons: tuple[Reason, ...] = ()
    prerequisites: tuple[str, ...] = ()
    waiting_for: tuple[str, ...] = ()  # prerequisites not submitted yet


@dataclass(frozen=True)
class Outcome:
    """The state of a whole checklist: per step, and what still stands between it and completion."""

    steps: tuple[StepOutcome, ...]
    missing_required: tuple[str, ...]
    failed: tuple[str, ...]
    flagged: tuple[str, ...] = field(default=())

    @property
    def complete(self) -> bool:
        return not self.missing_required and not self.failed

    def step(self, key: str) -> StepOutcome:
        return next(s for s in self.steps if s.key == key)


# --- template checks -----------------------------------------------------------------------------


def _number(value: Any) -> Decimal | None:
    """A finite JSON number as an exact Decimal (bool is not a number here)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:  # pragma: no cover - str() of an int/float always parses
        return None
    return number if number.is_finite() else None


def _places(number: Decimal) -> int:
    exponent = number.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def check_template(specs: Sequence[StepSpec], *, field_prefix: str = "steps") -> None:
    """Raise ValidationFailed naming the first bad setting (``steps.<index>.<setting>``)."""
    seen: dict[str, StepSpec] = {}
    for index, spec in enumerate(specs):
        where = f"{field_prefix}.{index}"
        if not KEY_PATTERN.match(spec.key):
            raise ValidationFailed(f"{where}.key", "use lowercase letters, digits and _ (start with a letter)")
        if spec.key in seen:
            raise ValidationFailed(f"{where}.key", f"step key {spec.key!r} is used twice")
        if not spec.title.strip():
            raise ValidationFailed(f"{where}.title", "must not be blank")
        for name, kinds in _KIND_SETTINGS.items():
            value = getattr(spec, name)
            if value not in (None, ()) and spec.kind not in kinds:
                raise ValidationFailed(f"{where}.{name}", f"only {', '.join(sorted(kinds))} steps take {name}")
        for key in spec.after or ():
            if key not in seen:
                raise ValidationFailed(f"{where}.after", f"{key!r} is not an earlier step")
        if spec.after is not None and len(set(spec.after)) != len(spec.after):
            raise ValidationFailed(f"{where}.after", "lists a step twice")
        if spec.kind == StepKind.NUMBER:
            _check_number(spec, where, seen)
        if spec.kind == StepKind.CHOICE:
            options = [o.strip() for o in spec.options]
            if len(options) < 2 or not all(options):
                raise ValidationFailed(f"{where}.options", "a choice needs at least two non-blank options")
            if len(set(options)) != len(options):
                raise ValidationFailed(f"{where}.options", "options must be unique")
        low, high = spec.evidence_bounds
        if not 0 <= low <= high <= MAX_EVIDENCE:
            raise ValidationFailed(f"{where}.min_count", f"need 0 <= min_count <= max_count <= {MAX_EVIDENCE}")
        if spec.kind == StepKind.PHOTO and low < 1:
            raise ValidationFailed(f"{where}.min_count", "a photo step needs at least one photo")
        if spec.kind == StepKind.SIGNATURE and (low, high) != (1, 1):
            raise ValidationFailed(f"{where}.min_count", "a signature is exactly one image")
        seen[spec.key] = spec


def _check_number(spec: StepSpec, where: str, seen: Mapping[str, StepSpec]) -> None:
    low = None if spec.min is None else _number(spec.min)
    high = None if spec.max is None else _number(spec.max)
    if spec.min is not None and low is None:
        raise ValidationFailed(f"{where}.min", "must be a finite number")
    if spec.max is not None and high is None:
        raise ValidationFailed(f"{where}.max", "must be a finite number")
    if low is not None and high is not None and low > high:
        raise ValidationFailed(f"{where}.max", "must not be below min")
    if spec.decimals is not None and not 0 <= spec.decimals <= MAX_DECIMALS:
        raise ValidationFailed(f"{where}.decimals", f"between 0 and {MAX_DECIMALS}")
    for name in ("lt_step", "gt_step"):
        other = getattr(spec, name)
        if other is None:
            continue
        if other not in seen or seen[other].kind != StepKind.NUMBER:
            raise ValidationFailed(f"{where}.{name}", f"{other!r} is not an earlier number step")


# --- ordering ------------------------------------------------------------------------------------


def prerequisites(specs: Sequence[StepSpec], key: str) -> tuple[str, ...]:
    """The steps that must be submitted before ``key``.

    In order by default: every earlier *required* step (an optional step never holds others up).
    A step that declares ``after`` needs exactly those. A step compared with another step needs
    that one as well, so the comparison always has both values.
    """
    index = next(i for i, s in enumerate(specs) if s.key == key)
    spec = specs[index]
    if spec.after is None:
        needed = [s.key for s in specs[:index] if s.required]
    else:
        needed = list(spec.after)
    needed += [k for k in spec.compared_with if k not in needed]
    return tuple(needed)


def waiting_for(specs: Sequence[StepSpec], key: str, submitted: Iterable[str]) -> tuple[str, ...]:
    """Prerequisites of ``key`` not submitted yet (a failed or flagged step counts as submitted:
    the technician may carry on; the completion gate is what a failed step stops)."""
    done = set(submitted)
    return tuple(k for k in prerequisites(specs, key) if k not in done)


# --- values --------------------------------------------------------------------------------------


def normalise(spec: StepSpec, value: Any, evidence_count: int) -> Any:
    """Check a submitted value's type and shape for its kind; return the value to store.

    Raises ValidationFailed (field ``value`` or ``evidence``) for input that is not an answer to
    this step at all. A well-formed value outside the range is *not* an error here: see
    :func:`judge`.
    """
    low, high = spec.evidence_bounds
    if evidence_count < low:
        raise ValidationFailed("evidence", f"{spec.title!r} needs at least {low} attachment(s), got {evidence_count}")
    if evidence_count > high:
        raise ValidationFailed("evidence", f"{spec.title!r} takes at most {high} attachment(s), got {evidence_count}")
    if spec.kind == StepKind.CONFIRM:
        if not isinstance(value, bool):
            raise ValidationFailed("value", "a confirm step takes true or false")
        return value
    if spec.kind == StepKind.NUMBER:
        number = _number(value)
        if number is None:
            raise ValidationFailed("value", "must be a finite number")
        if spec.decimals is not None and _places(number) > spec.decimals:
            raise ValidationFailed("value", f"at most {spec.decimals} decimal place(s)")
        return value
    if spec.kind == StepKind.CHOICE:
        if not isinstance(value, str) or value not in spec.options:
            raise ValidationFailed("value", f"must be one of: {', '.join(spec.options)}")
        return value
    if spec.kind == StepKind.TEXT:
        if not isinstance(value, str) or not value.strip():
            raise ValidationFailed("value", "must be non-blank text")
        if len(value) > TEXT_MAX_LENGTH:
            raise ValidationFailed("value", f"at most {TEXT_MAX_LENGTH} characters")
        return value.strip()
    if spec.kind == StepKind.PHOTO:
        if value is not None:
            raise ValidationFailed("value", "a photo step takes evidence, not a value (send null)")
        return None
    # signature: the signer's name beside the image of the signature
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed("value", "the signer's name is required")
    if len(value) > SIGNER_MAX_LENGTH:
        raise ValidationFailed("value", f"at most {SIGNER_MAX_LENGTH} characters")
    return value.strip()


def _fmt(number: Decimal | float | int, unit: str | None) -> str:
    text = format(number.normalize(), "f") if isinstance(number, Decimal) else str(number)
    return f"{text} {unit}" if unit else text


def judge(spec: StepSpec, value: Any, others: Mapping[str, Any]) -> Judgement:
    """Passed, failed or flagged: range, comparisons and confirmations, with reasons.

    ``others`` maps other step keys to their current values (for ``lt_step``/``gt_step``).
    """
    reasons: list[Reason] = []
    if spec.kind == StepKind.CONFIRM and value is False:
        reasons.append(Reason("not-confirmed", f"{spec.title!r} was not confirmed"))
    if spec.kind == StepKind.NUMBER:
        number = _number(value)
        if number is not None:
            reasons += _range_reasons(spec, number, others)
    if not reasons:
        return Judgement(StepStatus.PASSED)
    status = StepStatus.FAILED if spec.out_of_range == OutOfRange.BLOCK else StepStatus.FLAGGED
    return Judgement(status, tuple(reasons))


def _range_reasons(spec: StepSpec, number: Decimal, others: Mapping[str, Any]) -> list[Reason]:
    reasons = []
    low = None if spec.min is None else _number(spec.min)
    high = None if spec.max is None else _number(spec.max)
    if low is not None and number < low:
        reasons.append(Reason("below-min", f"{_fmt(number, spec.unit)} is below the minimum {_fmt(low, spec.unit)}"))
    if high is not None and number > high:
        reasons.append(Reason("above-max", f"{_fmt(number, spec.unit)} is above the maximum {_fmt(high, spec.unit)}"))
    for name, code, holds, word in (("lt_step", "not-lower", lambda a, b: a < b, "lower"),
                                    ("gt_step", "not-higher", lambda a, b: a > b, "higher")):
        other_key = getattr(spec, name)
        other = _number(others.get(other_key)) if other_key else None
        if other is not None and not holds(number, other):
            reasons.append(Reason(code, f"{_fmt(number, spec.unit)} is not {word} than "
                                        f"{other_key} ({_fmt(other, spec.unit)})"))
    return reasons


def evaluate(specs: Sequence[StepSpec], answers: Mapping[str, Answer]) -> Outcome:
    """The checklist's state from the current answers: per-step status (re-judged, so a
    comparison follows a re-measured reference), what each step waits for, and what stands
    between the checklist and completion (required steps missing, blocking steps failed)."""
    values = {key: answer.value for key, answer in answers.items()}
    outcomes: list[StepOutcome] = []
    for spec in specs:
        needed = prerequisites(specs, spec.key)
        waiting = tuple(k for k in needed if k not in answers)
        answer = answers.get(spec.key)
        if answer is None:
            outcomes.append(StepOutcome(spec.key, StepStatus.PENDING, (), needed, waiting))
            continue
        judgement = judge(spec, answer.value, values)
        outcomes.append(StepOutcome(spec.key, judgement.status, judgement.reasons, needed, waiting))
    by_key = {spec.key: spec for spec in specs}
    missing = tuple(o.key for o in outcomes if o.status == StepStatus.PENDING and by_key[o.key].required)
    failed = tuple(o.key for o in outcomes if o.status == StepStatus.FAILED)
    flagged = tuple(o.key for o in outcomes if o.status == StepStatus.FLAGGED)
    return Outcome(tuple(outcomes), missing, failed, flagged)
