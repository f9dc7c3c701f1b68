"""Commit-reveal selection, the lot calendar, the Wilson bound, the score, bands and flags."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dispatch import geo
from dispatch.audits import sampling
from dispatch.audits.sampling import Band, LotDecision

SHANGHAI = ZoneInfo("Asia/Shanghai")
GOLDEN_SEED = hashlib.sha256(b"dispatch golden seed").digest()
GOLDEN_LOT = uuid.UUID("00000000-0000-4000-8000-000000000001")
GOLDEN_FRAME = [uuid.uuid5(uuid.NAMESPACE_URL, f"checklist-{i}") for i in range(12)]


class TestSelection:
    def test_golden_sample_from_a_fixed_seed_and_frame(self):
        # Committed fixture; the first key was checked with
        # printf '%s' "<lot>:<checklist>" | openssl dgst -sha256 -mac HMAC -macopt hexkey:<seed hex>
        ranking = sampling.derive_sample(GOLDEN_SEED, GOLDEN_LOT, GOLDEN_FRAME, 5)
        assert ranking[0].key == "070864e817c0cc597cecdf9737c2aefefe3b452b35951d5b0e305c3c01127ff3"
        assert sampling.selected_ids(ranking) == [
            "8461e1bd-0aa4-5774-9c15-d56cdbf30dd9",
            "af19f065-c68d-5219-83a1-32fd3bfc1fa2",
            "540e7246-aef2-54e1-bd70-158229ed8475",
            "89666e4a-1dbb-57a5-a7a0-94b1c6571e67",
            "d1a1bdd8-d0ba-5d1b-a681-e1029ba58347",
        ]
        assert [item.rank for item in ranking] == list(range(1, 13))

    def test_keys_are_hmac_sha256_of_lot_and_checklist_ids(self):
        cid = GOLDEN_FRAME[3]
        expected = hmac.new(GOLDEN_SEED, f"{GOLDEN_LOT}:{cid}".encode(), hashlib.sha256).hexdigest()
        assert sampling.rank_key(GOLDEN_SEED, GOLDEN_LOT, cid) == expected
        assert sampling.rank_key(GOLDEN_SEED, str(GOLDEN_LOT).upper(), str(cid)) == expected  # canonical ids

    def test_the_sample_does_not_depend_on_the_order_ids_arrive_in(self):
        shuffled = list(reversed(GOLDEN_FRAME))
        assert sampling.derive_sample(GOLDEN_SEED, GOLDEN_LOT, shuffled, 5) == sampling.derive_sample(
            GOLDEN_SEED, GOLDEN_LOT, GOLDEN_FRAME, 5)

    def test_another_seed_or_lot_gives_another_ranking(self):
        base = sampling.selected_ids(sampling.derive_sample(GOLDEN_SEED, GOLDEN_LOT, GOLDEN_FRAME, 5))
        other_seed = bytes(32)
        assert sampling.selected_ids(sampling.derive_sample(other_seed, GOLDEN_LOT, GOLDEN_FRAME, 5)) != base
        assert sampling.selected_ids(sampling.derive_sample(GOLDEN_SEED, uuid.uuid4(), GOLDEN_FRAME, 5)) != base

    def test_every_item_is_equally_likely_to_be_drawn(self):
        frame = [uuid.uuid5(uuid.NAMESPACE_URL, f"uniform-{i}") for i in range(50)]
        lot_id, draws, n = uuid.UUID(int=7), 2000, 5
        counts = dict.fromkeys(map(str, frame), 0)
        for i in range(draws):
            seed = hashlib.sha256(f"seed-{i}".encode()).digest()
            for cid in sampling.selected_ids(sampling.derive_sample(seed, lot_id, frame, n)):
                counts[cid] += 1
        expected = draws * n / len(frame)  # 200
        sigma = (draws * (n / len(frame)) * (1 - n / len(frame))) ** 0.5
        assert sum(counts.values()) == draws * n
        worst = max(abs(c - expected) for c in counts.values())
        print(f"inclusion counts: expected {expected:.0f}, worst deviation {worst:.0f} ({worst / sigma:.2f} sigma)")
        assert worst < 4 * sigma

    def test_the_commitment_is_the_sha256_of_the_seed_and_a_changed_seed_is_detected(self):
        commitment = sampling.seed_commitment(GOLDEN_SEED)
        assert commitment == hashlib.sha256(GOLDEN_SEED).hexdigest()
        tampered = bytes([GOLDEN_SEED[0] ^ 1]) + GOLDEN_SEED[1:]
        assert sampling.seed_commitment(tampered) != commitment
        with pytest.raises(ValueError):
            sampling.seed_commitment(b"short")

    def test_the_frame_hash_covers_the_sorted_canonical_ids(self):
        text = "\n".join(sorted(str(i) for i in GOLDEN_FRAME))
        assert sampling.frame_sha256(GOLDEN_FRAME) == hashlib.sha256(text.encode()).hexdigest()
        assert sampling.frame_sha256(reversed(GOLDEN_FRAME)) == sampling.frame_sha256(GOLDEN_FRAME)
        assert sampling.frame_sha256(GOLDEN_FRAME[1:]) != sampling.frame_sha256(GOLDEN_FRAME)


class TestLotCalendar:
    def test_a_lot_runs_from_monday_midnight_local_and_freezes_48_hours_after_the_week(self):
        week = sampling.lot_week_of(datetime(2026, 11, 18, 15, 0, tzinfo=SHANGHAI), SHANGHAI)
        assert (week.iso_year, week.iso_week, week.label) == (2026, 47, "2026-W47")
        assert week.starts_at == datetime(2026, 11, 16, 0, 0, tzinfo=SHANGHAI)
        assert week.ends_at == datetime(2026, 11, 23, 0, 0, tzinfo=SHANGHAI)
        assert week.freezes_at == datetime(2026, 11, 25, 0, 0, tzinfo=SHANGHAI)

    def test_weeks_are_cut_in_local_time_not_utc(self):
        sunday_late_local = datetime(2026, 11, 22, 23, 59, tzinfo=SHANGHAI)
        monday_local_is_sunday_utc = datetime(2026, 11, 23, 0, 30, tzinfo=SHANGHAI)
        assert sampling.lot_week_of(sunday_late_local, SHANGHAI).iso_week == 47
        assert sampling.lot_week_of(monday_local_is_sunday_utc, SHANGHAI).iso_week == 48
        assert monday_local_is_sunday_utc.astimezone(ZoneInfo("UTC")).isoweekday() == 7

    def test_iso_weeks_cross_the_new_year(self):
        week = sampling.lot_week_of(datetime(2027, 1, 3, 12, tzinfo=SHANGHAI), SHANGHAI)
        assert week.label == "2026-W53"
        assert week.next(SHANGHAI).label == "2027-W01"

    def test_a_checklist_received_at_or_after_the_freeze_is_late(self):
        week = sampling.lot_week(2026, 47, SHANGHAI)
        assert not sampling.is_late(week.freezes_at - timedelta(seconds=1), week)
        assert sampling.is_late(week.freezes_at, week)


class TestWilsonBound:
    # Hand-computed with z = 1.644854 (z^2 = 2.705543):
    # * d = 0: the bound simplifies to z^2 / (n + z^2).
    #   n = 20: 2.705543 / 22.705543 = 0.119158;  n = 40: 2.705543 / 42.705543 = 0.063353
    # * d = 2, n = 50: p = 0.04; centre = p + z^2/2n = 0.04 + 0.027055 = 0.067055;
    #   spread = z * sqrt(p(1-p)/n + z^2/4n^2) = 1.644854 * sqrt(0.000768 + 0.000271) = 0.053008;
    #   U = (0.067055 + 0.053008) / (1 + z^2/n = 1.054111) = 0.113900
    # * d = 5, n = 80: p = 0.0625; centre = 0.0625 + 0.016910 = 0.079410;
    #   spread = 1.644854 * sqrt(0.000732422 + 0.000105685) = 0.047619;
    #   U = 0.127028 / 1.033819 = 0.122873
    @pytest.mark.parametrize(("d", "n", "upper"), [
        (0, 20, 0.119158), (0, 40, 0.063353), (2, 50, 0.113900), (5, 80, 0.122873), (3, 3, 1.0),
    ])
    def test_matches_hand_computed_values(self, d, n, upper):
        assert sampling.wilson_upper(d, n) == pytest.approx(upper, abs=2e-6)

    def test_is_refused_without_observations_or_with_impossible_counts(self):
        with pytest.raises(ValueError):
            sampling.wilson_upper(0, 0)
        with pytest.raises(ValueError):
            sampling.wilson_upper(5, 4)


class TestScore:
    @pytest.mark.parametrize(("d", "n", "critical", "score"), [
        (0, 40, False, 93.7), (0, 20, False, 88.1), (2, 50, False, 88.6), (5, 80, False, 87.7),
        (0, 40, True, 60.0), (3, 20, False, 67.8), (0, 0, False, None),
    ])
    def test_is_100_times_one_minus_the_wilson_bound_capped_at_60_after_a_critical(self, d, n, critical, score):
        assert sampling.quality_score(d, n, critical=critical) == score

    def test_a_critical_caps_even_a_low_score_without_raising_it(self):
        assert sampling.quality_score(3, 20, critical=True) == 60.0
        assert sampling.quality_score(8, 20, critical=True) < 60.0

    @pytest.mark.parametrize(("score", "expected"), [
        (None, Band.NO_DATA), (93.7, Band.GREEN), (85.0, Band.GREEN), (84.9, Band.AMBER), (70.0, Band.AMBER),
        (69.9, Band.RED),
    ])
    def test_bands(self, score, expected):
        assert sampling.band(score) == expected

    def test_a_red_score_is_flagged_only_with_defects_found(self):
        assert sampling.is_flagged(68.9, 0, critical=False, recent_decisions=[]) == []  # 6 clean samples
        assert sampling.is_flagged(67.8, 3, critical=False, recent_decisions=[]) == ["red_score"]

    def test_a_rejection_in_the_last_two_decided_lots_or_a_critical_flags_the_point(self):
        recent = [LotDecision.ACCEPTED, LotDecision.REJECTED, LotDecision.ACCEPTED]
        assert sampling.is_flagged(90.0, 1, critical=False, recent_decisions=recent) == ["recent_rejection"]
        older = [LotDecision.ACCEPTED, LotDecision.ACCEPTED, LotDecision.REJECTED]
        assert sampling.is_flagged(90.0, 1, critical=False, recent_decisions=older) == []
        assert sampling.is_flagged(60.0, 1, critical=True, recent_decisions=[]) == ["red_score", "critical"]


class TestTargetedTriggers:
    def test_distance_is_haversine_metres(self):
        # 0.01 degree of latitude is 1111.95 m on the mean-radius sphere (the one distance, dispatch.geo)
        assert geo.great_circle_m(30.0, 120.0, 30.01, 120.0) == pytest.approx(1111.95, abs=0.1)

    def test_gps_far_from_the_site_beyond_one_kilometre_and_missing_gps_is_not_far(self):
        assert sampling.gps_far(30.0, 120.0, 30.0089, 120.0) is None  # ~990 m
        assert sampling.gps_far(30.0, 120.0, 30.02, 120.0) == pytest.approx(2223.9, abs=0.1)
        assert sampling.gps_far(None, None, 30.0, 120.0) is None

    def test_exif_time_is_skewed_only_when_outside_the_visit_and_receipt_span_by_two_hours(self):
        arrived = datetime(2026, 11, 18, 10, tzinfo=SHANGHAI)
        completed = datetime(2026, 11, 18, 16, tzinfo=SHANGHAI)
        received_next_day = datetime(2026, 11, 19, 9, tzinfo=SHANGHAI)  # offline all day
        span = [arrived, completed, received_next_day]
        assert not sampling.exif_time_skewed(arrived + timedelta(hours=3), span)  # mid-visit
        assert not sampling.exif_time_skewed(arrived - timedelta(minutes=110), span)
        assert sampling.exif_time_skewed(arrived - timedelta(hours=3), span)
        assert sampling.exif_time_skewed(arrived - timedelta(days=7), span)  # an old photo
        assert sampling.exif_time_skewed(received_next_day + timedelta(hours=2, seconds=1), span)
        assert not sampling.exif_time_skewed(None, span)
        assert not sampling.exif_time_skewed(arrived, [None])

    def test_too_fast_means_under_half_the_standard_minutes(self):
        start = datetime(2026, 11, 18, 10, tzinfo=SHANGHAI)
        assert sampling.too_fast(start, start + timedelta(minutes=44), 90)
        assert not sampling.too_fast(start, start + timedelta(minutes=45), 90)
        assert not sampling.too_fast(None, start, 90)

    def test_new_technician_during_the_first_30_days(self):
        assert sampling.new_technician(date(2026, 11, 1), date(2026, 11, 30))
        assert not sampling.new_technician(date(2026, 11, 1), date(2026, 12, 1))
