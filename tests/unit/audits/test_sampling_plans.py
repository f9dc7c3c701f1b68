"""ISO 2859-1 tables kept as data: Table I code letters and the AQL 2.5 column of Table II-A,
checked against entries of the published tables (and the arrow rules)."""

from __future__ import annotations

import math

import pytest

from dispatch.audits import sampling
from dispatch.audits.sampling import LotDecision, Verdict, decide_lot, plan_for

# Table I, general inspection level II: (lot size, code letter) at both ends of every row.
LEVEL_II_ROWS = [
    (2, 8, "A"), (9, 15, "B"), (16, 25, "C"), (26, 50, "D"), (51, 90, "E"), (91, 150, "F"),
    (151, 280, "G"), (281, 500, "H"), (501, 1200, "J"), (1201, 3200, "K"), (3201, 10000, "L"),
    (10001, 35000, "M"), (35001, 150000, "N"), (150001, 500000, "P"), (500001, 10**7, "Q"),
]


@pytest.mark.parametrize(("low", "high", "letter"), LEVEL_II_ROWS)
def test_every_row_of_table_one_gives_its_level_two_code_letter_at_both_ends(low, high, letter):
    assert sampling.code_letter(low) == letter
    assert sampling.code_letter(high) == letter


def test_level_one_and_three_letters_follow_table_one():
    assert [sampling.code_letter(n, "I") for n in (8, 50, 150, 500, 3200, 10000)] == ["A", "C", "D", "F", "H", "J"]
    assert [sampling.code_letter(n, "III") for n in (8, 50, 150, 500, 3200, 10000)] == ["B", "E", "G", "J", "L", "M"]


def test_code_letters_map_to_the_standard_sample_sizes():
    assert sampling.SAMPLE_SIZES == {"A": 2, "B": 3, "C": 5, "D": 8, "E": 13, "F": 20, "G": 32, "H": 50, "J": 80,
                                     "K": 125, "L": 200, "M": 315, "N": 500, "P": 800, "Q": 1250, "R": 2000}


# (lot size, code letter, plan row after arrows, n, Ac, Re) for AQL 2.5 normal inspection.
AQL_2_5_FIXTURES = [
    (8, "A", "C", 5, 0, 1),  # A: arrow down to C
    (15, "B", "C", 5, 0, 1),  # B: arrow down to C
    (25, "C", "C", 5, 0, 1),
    (50, "D", "C", 5, 0, 1),  # D: arrow up to C (n = 5, not 8)
    (90, "E", "F", 20, 1, 2),  # E: arrow down to F (n = 20, not 13)
    (150, "F", "F", 20, 1, 2),
    (280, "G", "G", 32, 2, 3),
    (500, "H", "H", 50, 3, 4),
    (1000, "J", "J", 80, 5, 6),
    (3200, "K", "K", 125, 7, 8),
    (10000, "L", "L", 200, 10, 11),
    (35000, "M", "M", 315, 14, 15),
    (150000, "N", "N", 500, 21, 22),
    (500000, "P", "N", 500, 21, 22),  # P: arrow up to N
    (600000, "Q", "N", 500, 21, 22),  # Q: arrow up to N
]


@pytest.mark.parametrize(("lot_size", "letter", "plan_letter", "n", "ac", "re"), AQL_2_5_FIXTURES)
def test_aql_2_5_normal_plans_match_the_published_table(lot_size, letter, plan_letter, n, ac, re):
    plan = plan_for(lot_size)
    assert (plan.code_letter, plan.plan_letter, plan.sample_size, plan.accept, plan.reject) == (
        letter, plan_letter, n, ac, re)
    assert plan.reject == plan.accept + 1  # single sampling: Re = Ac + 1


def test_a_lot_no_larger_than_the_sample_is_inspected_completely():
    for lot_size in (1, 2, 5):
        plan = plan_for(lot_size)
        assert plan.sample_size == lot_size and plan.hundred_percent
        assert plan.table_sample_size == 5 and (plan.accept, plan.reject) == (0, 1)
    assert not plan_for(6).hundred_percent and plan_for(6).sample_size == 5


def test_unknown_levels_aqls_and_empty_lots_are_refused():
    with pytest.raises(ValueError):
        plan_for(10, level="IV")
    with pytest.raises(ValueError):
        plan_for(10, aql="0.65")
    with pytest.raises(ValueError):
        plan_for(0)


def _p_accept(n: int, ac: int, p: float) -> float:
    return sum(math.comb(n, d) * p**d * (1 - p) ** (n - d) for d in range(ac + 1))


@pytest.mark.parametrize(("lot_size", "expected"), [
    (30, {0.01: 0.951, 0.05: 0.774, 0.10: 0.590}),
    (100, {0.01: 0.983, 0.05: 0.736, 0.10: 0.392}),
    (400, {0.01: 0.998, 0.05: 0.760, 0.10: 0.250}),
])
def test_the_plans_have_the_operating_characteristics_of_the_design_notes(lot_size, expected):
    plan = plan_for(lot_size)
    for p, accept in expected.items():
        assert _p_accept(plan.sample_size, plan.accept, p) == pytest.approx(accept, abs=0.0015)


class TestLotDecision:
    plan = plan_for(100)  # n = 20, Ac 1, Re 2

    def test_accepts_when_complete_with_defects_up_to_the_acceptance_number(self):
        verdicts = [Verdict.CONFORMING] * 18 + [Verdict.MAJOR, Verdict.MINOR]
        assert decide_lot(self.plan, verdicts, critical_anywhere=False, complete=True) == LotDecision.ACCEPTED

    def test_rejects_at_the_rejection_number_even_before_every_verdict_is_final(self):
        verdicts = [Verdict.MAJOR, Verdict.UNVERIFIABLE]
        assert decide_lot(self.plan, verdicts, critical_anywhere=False, complete=False) == LotDecision.REJECTED

    def test_any_critical_rejects_the_lot(self):
        assert decide_lot(self.plan, [Verdict.CONFORMING], critical_anywhere=True, complete=False) == (
            LotDecision.REJECTED)

    def test_minors_do_not_count_and_an_incomplete_clean_lot_stays_undecided(self):
        verdicts = [Verdict.MINOR] * 10
        assert decide_lot(self.plan, verdicts, critical_anywhere=False, complete=False) is None
        assert decide_lot(self.plan, verdicts, critical_anywhere=False, complete=True) == LotDecision.ACCEPTED
