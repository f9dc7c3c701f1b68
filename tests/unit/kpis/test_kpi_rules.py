"""KPI maths on hand-made counts."""

from __future__ import annotations

from dispatch.kpis.rules import KpiCounts, figures, rank, score

COUNTS = KpiCounts(jobs_done=8, repairs_done=4, repairs_repeated=1, sla_jobs=5, sla_met=4, travel_jobs=2,
                   travel_s=3000.0, on_site_jobs=4, on_site_s=4 * 60 * 50.0, standard_minutes=160, ratings=3,
                   rating_sum=13, audits=0, audits_passed=0, complaints=2)


def test_figures_are_rates_and_means_of_the_counts():
    k = figures(COUNTS)
    assert k.jobs_done == 8
    assert k.first_time_fix_rate == 0.75
    assert k.sla_compliance == 0.8
    assert k.mean_travel_minutes == 25.0
    assert k.mean_on_site_minutes == 50.0
    assert k.mean_standard_minutes == 40.0
    assert k.on_site_vs_standard == 1.25
    assert k.rating_average == 4.33 and k.rating_count == 3
    assert k.complaints_per_100_jobs == 25.0


def test_no_data_is_null_not_zero():
    k = figures(KpiCounts())
    assert k.jobs_done == 0 and k.rating_count == 0
    assert k.first_time_fix_rate is None and k.sla_compliance is None and k.mean_travel_minutes is None
    assert k.rating_average is None and k.complaints_per_100_jobs is None and k.audit_pass_rate is None


def test_the_audit_pass_rate_counts_passed_audits_over_audits():
    assert figures(KpiCounts(audits=4, audits_passed=3)).audit_pass_rate == 0.75


def test_the_score_averages_the_known_quality_rates_less_complaints():
    # sla 0.8, ftf 0.75, rating (4.33-1)/4 = 0.8325 -> mean 0.79417 -> 79.4, minus 25 complaints/100 jobs
    assert score(figures(COUNTS)) == 54.4
    assert score(figures(KpiCounts())) is None


def test_ranking_puts_the_best_first_shares_ties_and_leaves_no_data_last():
    good = figures(KpiCounts(jobs_done=4, sla_jobs=4, sla_met=4))
    also_good = figures(KpiCounts(jobs_done=2, sla_jobs=2, sla_met=2))
    poor = figures(KpiCounts(jobs_done=4, sla_jobs=4, sla_met=1))
    empty = figures(KpiCounts())
    ranked = rank([("empty", empty), ("poor", poor), ("also_good", also_good), ("good", good)])
    assert [(r.key, r.rank) for r in ranked] == [("good", 1), ("also_good", 1), ("poor", 3), ("empty", 4)]
    assert ranked[0].score == 100.0 and ranked[-1].score is None
