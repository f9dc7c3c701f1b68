"""Pure SOP rules: template checks, step ordering, value validation per kind, judging and the
checklist outcome."""

from __future__ import annotations

import pytest

from dispatch.errors import ValidationFailed
from dispatch.sop.rules import (
    Answer,
    OutOfRange,
    StepKind,
    StepSpec,
    StepStatus,
    check_template,
    evaluate,
    judge,
    normalise,
    prerequisites,
    waiting_for,
)


def confirm(key, **kw):
    return StepSpec(key=key, title=key.replace("_", " "), kind=StepKind.CONFIRM, **kw)


def number(key, low=None, high=None, unit="ppm", **kw):
    return StepSpec(key=key, title=key, kind=StepKind.NUMBER, unit=unit, min=low, max=high, **kw)


PURIFIER = [
    StepSpec("site_photo", "Site photo", StepKind.PHOTO, after=()),
    number("pressure", 0.1, 0.4, decimals=2, unit="MPa", after=("site_photo",)),
    number("voltage", 198, 242, after=("site_photo",)),
    confirm("mount"),  # in order: every earlier required step
    confirm("note_taken", required=False),
    confirm("connect"),  # in order, but the optional step before it never holds it up
    number("tds_tap", 0, 1500, decimals=0, out_of_range=OutOfRange.FLAG, after=()),
    number("tds_purified", 0, 100, decimals=0, out_of_range=OutOfRange.FLAG, lt_step="tds_tap", after=("connect",)),
]


def rejected(specs) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        check_template(specs)
    return caught.value


class TestTemplateChecks:
    def test_a_sound_template_passes(self):
        check_template(PURIFIER)

    @pytest.mark.parametrize(("specs", "field"), [
        ([confirm("a"), confirm("a")], "steps.1.key"),
        ([confirm("Bad Key")], "steps.0.key"),
        ([confirm("a", after=("b",)), confirm("b")], "steps.0.after"),
        ([number("a", 5, 1)], "steps.0.max"),
        ([number("a", decimals=9)], "steps.0.decimals"),
        ([confirm("a"), number("b", lt_step="a")], "steps.1.lt_step"),
        ([number("b", gt_step="c"), number("c")], "steps.0.gt_step"),
        ([StepSpec("c", "c", StepKind.CHOICE, options=("only",))], "steps.0.options"),
        ([StepSpec("c", "c", StepKind.CHOICE, options=("a", "a"))], "steps.0.options"),
        ([StepSpec("c", "c", StepKind.CONFIRM, options=("a", "b"))], "steps.0.options"),
        ([StepSpec("t", "t", StepKind.TEXT, unit="V")], "steps.0.unit"),
        ([StepSpec("p", "p", StepKind.PHOTO, min_count=0)], "steps.0.min_count"),
        ([StepSpec("p", "p", StepKind.PHOTO, min_count=3, max_count=2)], "steps.0.min_count"),
        ([StepSpec("s", "s", StepKind.SIGNATURE, max_count=2)], "steps.0.min_count"),
        ([StepSpec("x", "  ", StepKind.CONFIRM)], "steps.0.title"),
    ])
    def test_a_bad_setting_is_rejected_naming_the_step_and_setting(self, specs, field):
        assert rejected(specs).field == field


class TestOrdering:
    def test_steps_without_after_need_every_earlier_required_step(self):
        assert prerequisites(PURIFIER, "mount") == ("site_photo", "pressure", "voltage")
        assert prerequisites(PURIFIER, "connect") == ("site_photo", "pressure", "voltage", "mount")

    def test_after_lists_exactly_what_a_step_needs_and_an_empty_list_means_any_time(self):
        assert prerequisites(PURIFIER, "pressure") == ("site_photo",)
        assert prerequisites(PURIFIER, "tds_tap") == ()
        assert prerequisites(PURIFIER, "site_photo") == ()

    def test_a_compared_step_is_needed_even_when_after_does_not_name_it(self):
        assert prerequisites(PURIFIER, "tds_purified") == ("connect", "tds_tap")

    def test_waiting_for_names_the_missing_prerequisites_in_template_order(self):
        assert waiting_for(PURIFIER, "mount", {"site_photo"}) == ("pressure", "voltage")
        assert waiting_for(PURIFIER, "mount", {"site_photo", "voltage", "pressure"}) == ()
        assert waiting_for(PURIFIER, "tds_purified", {"connect"}) == ("tds_tap",)


def spec(kind: StepKind, **kw) -> StepSpec:
    return StepSpec("s", "Step", kind, **kw)


class TestValues:
    @pytest.mark.parametrize(("step", "value", "evidence", "field"), [
        (spec(StepKind.CONFIRM), "yes", 0, "value"),
        (spec(StepKind.CONFIRM), None, 0, "value"),
        (spec(StepKind.NUMBER), "0.2", 0, "value"),
        (spec(StepKind.NUMBER), True, 0, "value"),
        (spec(StepKind.NUMBER), float("nan"), 0, "value"),
        (spec(StepKind.NUMBER, decimals=1), 0.25, 0, "value"),
        (spec(StepKind.NUMBER, decimals=0), 3.5, 0, "value"),
        (spec(StepKind.CHOICE, options=("a", "b")), "c", 0, "value"),
        (spec(StepKind.CHOICE, options=("a", "b")), ["a"], 0, "value"),
        (spec(StepKind.TEXT), "   ", 0, "value"),
        (spec(StepKind.TEXT), "x" * 2001, 0, "value"),
        (spec(StepKind.PHOTO), None, 0, "evidence"),
        (spec(StepKind.PHOTO, min_count=2, max_count=3), None, 1, "evidence"),
        (spec(StepKind.PHOTO, max_count=3), None, 4, "evidence"),
        (spec(StepKind.PHOTO), "a caption", 1, "value"),
        (spec(StepKind.SIGNATURE), "Li Na", 0, "evidence"),
        (spec(StepKind.SIGNATURE), "", 1, "value"),
        (spec(StepKind.CONFIRM), True, 6, "evidence"),
    ])
    def test_a_value_of_the_wrong_kind_or_evidence_count_is_rejected(self, step, value, evidence, field):
        with pytest.raises(ValidationFailed) as caught:
            normalise(step, value, evidence)
        assert caught.value.field == field

    @pytest.mark.parametrize(("step", "value", "evidence", "stored"), [
        (spec(StepKind.CONFIRM), False, 0, False),
        (spec(StepKind.NUMBER, decimals=2), 0.25, 0, 0.25),
        (spec(StepKind.NUMBER, decimals=0), 10.0, 0, 10.0),
        (spec(StepKind.NUMBER), 7, 1, 7),
        (spec(StepKind.CHOICE, options=("a", "b")), "b", 0, "b"),
        (spec(StepKind.TEXT), "  pump noisy  ", 0, "pump noisy"),
        (spec(StepKind.PHOTO, min_count=2), None, 2, None),
        (spec(StepKind.SIGNATURE), " Li Na ", 1, "Li Na"),
    ])
    def test_a_well_formed_value_is_stored_normalised(self, step, value, evidence, stored):
        assert normalise(step, value, evidence) == stored


class TestJudging:
    def test_a_blocking_number_out_of_range_fails_with_a_reason(self):
        pressure = number("pressure", 0.1, 0.4, unit="MPa")
        low = judge(pressure, 0.05, {})
        assert low.status == StepStatus.FAILED
        assert [(r.code, r.message) for r in low.reasons] == [
            ("below-min", "0.05 MPa is below the minimum 0.1 MPa")]
        assert judge(pressure, 0.45, {}).reasons[0].code == "above-max"
        assert judge(pressure, 0.4, {}).status == StepStatus.PASSED
        assert judge(pressure, 0.1, {}).status == StepStatus.PASSED

    def test_a_flag_only_number_out_of_range_is_flagged_not_failed(self):
        assert judge(number("tds", 0, 100, out_of_range=OutOfRange.FLAG), 120, {}).status == StepStatus.FLAGGED

    def test_purified_water_not_lower_than_tap_water_is_flagged(self):
        purified = PURIFIER[-1]
        same = judge(purified, 80, {"tds_tap": 80})
        assert same.status == StepStatus.FLAGGED
        assert [r.code for r in same.reasons] == ["not-lower"]
        assert judge(purified, 12, {"tds_tap": 80}).status == StepStatus.PASSED
        assert judge(number("hot", gt_step="cold"), 20, {"cold": 30}).reasons[0].code == "not-higher"

    def test_a_confirm_answered_false_is_out_of_range(self):
        assert judge(confirm("leak_free"), False, {}).status == StepStatus.FAILED
        assert judge(confirm("leak_free", out_of_range=OutOfRange.FLAG), False, {}).status == StepStatus.FLAGGED
        assert judge(confirm("leak_free"), True, {}).status == StepStatus.PASSED


class TestOutcome:
    def test_missing_required_steps_and_failed_blocking_steps_hold_up_completion(self):
        answers = {"site_photo": Answer(None, 1), "pressure": Answer(0.5), "voltage": Answer(220)}
        outcome = evaluate(PURIFIER, answers)
        assert outcome.missing_required == ("mount", "connect", "tds_tap", "tds_purified")  # note_taken optional
        assert outcome.failed == ("pressure",)
        assert not outcome.complete
        assert outcome.step("mount").waiting_for == ()
        assert outcome.step("connect").waiting_for == ("mount",)

    def test_a_checklist_with_every_required_step_in_range_is_complete_even_with_flags(self):
        answers = {"site_photo": Answer(None, 1), "pressure": Answer(0.3), "voltage": Answer(220),
                   "mount": Answer(True), "connect": Answer(True), "tds_tap": Answer(90),
                   "tds_purified": Answer(95)}
        outcome = evaluate(PURIFIER, answers)
        assert outcome.complete
        assert outcome.flagged == ("tds_purified",)
        assert outcome.step("note_taken").status == StepStatus.PENDING

    def test_a_comparison_follows_a_re_measured_reference(self):
        answers = {"tds_tap": Answer(90), "tds_purified": Answer(95), "connect": Answer(True)}
        assert evaluate(PURIFIER, answers).step("tds_purified").status == StepStatus.FLAGGED
        answers["tds_tap"] = Answer(300)
        assert evaluate(PURIFIER, answers).step("tds_purified").status == StepStatus.PASSED
