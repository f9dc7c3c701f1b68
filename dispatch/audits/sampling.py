"""Audit sampling maths, pure (no database, no web): ISO 2859-1 plans, lot calendar,
commit-reveal selection, the Wilson bound and the quality score.

Everything an outsider needs to re-derive a sample lives here and uses only ``hashlib`` and
``hmac``, so the same inputs give the same sample on every Python version and database.

ISO 2859-1 (= ANSI/ASQ Z1.4, ex MIL-STD-105E) is used as follows:

* Table I maps the lot size and the general inspection level to a *sample size code letter*.
* Table II-A (single sampling, normal inspection) maps the code letter and the AQL to the
  sample size ``n`` and the acceptance / rejection numbers ``Ac`` / ``Re``. Some cells hold an
  arrow: "use the first plan below (or above) the arrow", *including that plan's sample size*.
* When ``n`` is at least the lot size, every item is inspected (the plan's Ac/Re still apply).

Only the AQL 2.5 column of Table II-A is kept (the one the audits use for majors); criticals use
c = 0 (any critical rejects the lot) and minors are not counted in Ac/Re.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from dispatch.geo import great_circle_m

# ---------------------------------------------------------------------------------------------
# ISO 2859-1 tables (kept as data)
# ---------------------------------------------------------------------------------------------

# Table I: upper bound of each lot-size row (inclusive) and its code letter for general
# inspection levels I, II and III. The first row starts at 2; the last row is open-ended.
CODE_LETTERS: tuple[tuple[int | None, str, str, str], ...] = (
    # max lot size, level I, level II, level III
    (8, "A", "A", "B"),
    (15, "A", "B", "C"),
    (25, "B", "C", "D"),
    (50, "C", "D", "E"),
    (90, "C", "E", "F"),
    (150, "D", "F", "G"),
    (280, "E", "G", "H"),
    (500, "F", "H", "J"),
    (1200, "G", "J", "K"),
    (3200, "H", "K", "L"),
    (10000, "J", "L", "M"),
    (35000, "K", "M", "N"),
    (150000, "L", "N", "P"),
    (500000, "M", "P", "Q"),
    (None, "N", "Q", "R"),
)
LEVELS = ("I", "II", "III")

# Table II-A: sample size per code letter (the letters I and O are not used by the standard).
SAMPLE_SIZES: dict[str, int] = {
    "A": 2, "B": 3, "C": 5, "D": 8, "E": 13, "F": 20, "G": 32, "H": 50,
    "J": 80, "K": 125, "L": 200, "M": 315, "N": 500, "P": 800, "Q": 1250, "R": 2000,
}
LETTER_ORDER: tuple[str, ...] = tuple(SAMPLE_SIZES)

DOWN = "down"  # use the first plan below the arrow
UP = "up"  # use the first plan above the arrow

# Table II-A, AQL 2.5 column: (Ac, Re) or an arrow.
AQL_2_5_NORMAL: dict[str, tuple[int, int] | str] = {
    "A": DOWN, "B": DOWN, "C": (0, 1), "D": UP, "E": DOWN, "F": (1, 2), "G": (2, 3), "H": (3, 4),
    "J": (5, 6), "K": (7, 8), "L": (10, 11), "M": (14, 15), "N": (21, 22), "P": UP, "Q": UP, "R": UP,
}
NORMAL_PLANS: dict[str, dict[str, tuple[int, int] | str]] = {"2.5": AQL_2_5_NORMAL}


@dataclass(frozen=True)
class SamplingPlan:
    """The single sampling plan for one lot.

    ``code_letter`` is Table I's letter for the lot size; ``plan_letter`` the row whose plan
    applies after following the arrows (its sample size is used). ``sample_size`` is what is
    actually drawn: ``min(n, lot_size)``; ``hundred_percent`` says the whole lot is inspected.
    """

    lot_size: int
    level: str
    aql: str
    code_letter: str
    plan_letter: str
    table_sample_size: int
    sample_size: int
    accept: int
    reject: int

    @property
    def hundred_percent(self) -> bool:
        return self.lot_size > 0 and self.sample_size >= self.lot_size


def code_letter(lot_size: int, level: str = "II") -> str:
    """Table I: the sample size code letter for ``lot_size`` at a general inspection level."""
    if level not in LEVELS:
        raise ValueError(f"unknown inspection level {level!r}; use one of {', '.join(LEVELS)}")
    if lot_size < 1:
        raise ValueError("a lot has at least one item")
    column = LEVELS.index(level) + 1
    for row in CODE_LETTERS:
        upper = row[0]
        if upper is None or lot_size <= upper:
            return row[column]
    raise AssertionError("the last row of Table I is open-ended")  # pragma: no cover


def _resolve_arrows(letter: str, column: dict[str, tuple[int, int] | str]) -> tuple[str, int, int]:
    """Follow the arrows from ``letter`` to the first row holding a plan."""
    index = LETTER_ORDER.index(letter)
    seen = 0
    while True:
        cell = column[LETTER_ORDER[index]]
        if isinstance(cell, tuple):
            return LETTER_ORDER[index], cell[0], cell[1]
        index += 1 if cell == DOWN else -1
        seen += 1
        if not 0 <= index < len(LETTER_ORDER) or seen > len(LETTER_ORDER):
            raise ValueError(f"the arrows from code letter {letter} lead nowhere")  # pragma: no cover


def plan_for(lot_size: int, *, level: str = "II", aql: str = "2.5") -> SamplingPlan:
    """The normal-inspection single sampling plan for a lot of ``lot_size`` checklists."""
    if aql not in NORMAL_PLANS:
        raise ValueError(f"no plan table for AQL {aql}; known: {', '.join(NORMAL_PLANS)}")
    letter = code_letter(lot_size, level)
    plan_letter, accept, reject = _resolve_arrows(letter, NORMAL_PLANS[aql])
    n = SAMPLE_SIZES[plan_letter]
    return SamplingPlan(lot_size=lot_size, level=level, aql=aql, code_letter=letter, plan_letter=plan_letter,
                        table_sample_size=n, sample_size=min(n, lot_size), accept=accept, reject=reject)


# ---------------------------------------------------------------------------------------------
# Lot calendar: one lot per service point and ISO week (local time)
# ---------------------------------------------------------------------------------------------

FREEZE_DELAY = timedelta(hours=48)  # absorbs late offline syncs


@dataclass(frozen=True)
class LotWeek:
    """An ISO week in local time and the instants that bound its lot (all aware)."""

    iso_year: int
    iso_week: int
    starts_at: datetime  # Monday 00:00 local
    ends_at: datetime  # next Monday 00:00 local
    freezes_at: datetime  # ends_at + 48 h

    @property
    def label(self) -> str:
        return f"{self.iso_year}-W{self.iso_week:02d}"

    def next(self, tz: ZoneInfo) -> LotWeek:
        return lot_week_of(self.ends_at, tz)


def lot_week(iso_year: int, iso_week: int, tz: ZoneInfo) -> LotWeek:
    monday = date.fromisocalendar(iso_year, iso_week, 1)
    starts = datetime.combine(monday, time.min, tzinfo=tz)
    ends = datetime.combine(monday + timedelta(days=7), time.min, tzinfo=tz)
    return LotWeek(iso_year, iso_week, starts, ends, ends + FREEZE_DELAY)


def lot_week_of(moment: datetime, tz: ZoneInfo) -> LotWeek:
    """The lot week containing the aware instant ``moment`` (in local time ``tz``)."""
    if moment.tzinfo is None:
        raise ValueError("lot_week_of needs an aware datetime")
    year, week, _ = moment.astimezone(tz).isocalendar()
    return lot_week(year, week, tz)


def is_late(received_at: datetime, week: LotWeek) -> bool:
    """A checklist of ``week`` that reached the server at or after the freeze is a late sync."""
    return received_at >= week.freezes_at


# ---------------------------------------------------------------------------------------------
# Commit-reveal selection
# ---------------------------------------------------------------------------------------------

SEED_BYTES = 32


def seed_commitment(seed: bytes) -> str:
    """SHA-256 of the period seed, published (logged) before the lot's content is known."""
    if len(seed) != SEED_BYTES:
        raise ValueError(f"a period seed has {SEED_BYTES} bytes")
    return hashlib.sha256(seed).hexdigest()


def frame_sha256(checklist_ids: Iterable[uuid.UUID | str]) -> str:
    """SHA-256 of the frozen frame: sorted lowercase UUID strings joined by newlines."""
    return hashlib.sha256("\n".join(canonical_frame(checklist_ids)).encode()).hexdigest()


def canonical_frame(checklist_ids: Iterable[uuid.UUID | str]) -> list[str]:
    """The frame as it is hashed and logged: sorted, canonical (lowercase, hyphenated) ids."""
    return sorted({str(uuid.UUID(str(i))) for i in checklist_ids})


def rank_key(seed: bytes, lot_id: uuid.UUID | str, checklist_id: uuid.UUID | str) -> str:
    """HMAC-SHA256(seed, "<lot id>:<checklist id>") as 64 lowercase hex digits."""
    message = f"{uuid.UUID(str(lot_id))}:{uuid.UUID(str(checklist_id))}".encode()
    return hmac.new(seed, message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class RankedItem:
    checklist_id: str
    key: str
    rank: int  # 1 = lowest key
    selected: bool


def derive_sample(seed: bytes, lot_id: uuid.UUID | str, checklist_ids: Iterable[uuid.UUID | str],
                  sample_size: int) -> list[RankedItem]:
    """Rank every checklist of the frame by its HMAC key and select the ``sample_size`` lowest.

    Sorting by a uniform random key is simple random sampling without replacement. Keys are
    compared as hex strings (equal to comparing the 256-bit numbers), ties broken by id.
    """
    if sample_size < 0:
        raise ValueError("sample size cannot be negative")
    frame = canonical_frame(checklist_ids)
    keyed = sorted(((rank_key(seed, lot_id, cid), cid) for cid in frame))
    return [RankedItem(checklist_id=cid, key=key, rank=i + 1, selected=i < sample_size)
            for i, (key, cid) in enumerate(keyed)]


def selected_ids(ranking: Sequence[RankedItem]) -> list[str]:
    return [item.checklist_id for item in ranking if item.selected]


# ---------------------------------------------------------------------------------------------
# Verdicts, lot decisions, the score
# ---------------------------------------------------------------------------------------------


class Verdict(StrEnum):
    CONFORMING = "conforming"
    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"
    UNVERIFIABLE = "unverifiable"


DEFECTIVE = frozenset({Verdict.MAJOR, Verdict.CRITICAL, Verdict.UNVERIFIABLE})
"""A checklist with one of these final verdicts counts as one defective item (1 per checklist)."""


class LotDecision(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"


def decide_lot(plan: SamplingPlan, verdicts: Sequence[Verdict], *, critical_anywhere: bool,
               complete: bool) -> LotDecision | None:
    """Accept/reject a lot from the final verdicts of its statistical sample.

    ``d`` = checklists whose verdict is major, critical or unverifiable. Reject as soon as
    ``d >= Re`` or any critical was found (random or targeted: c = 0); accept only when every
    audit of the lot is final (``complete``) and ``d <= Ac``. Otherwise undecided (None).
    """
    d = sum(1 for v in verdicts if v in DEFECTIVE)
    if critical_anywhere or d >= plan.reject:
        return LotDecision.REJECTED
    if complete:
        return LotDecision.ACCEPTED if d <= plan.accept else LotDecision.REJECTED
    return None


Z_ONE_SIDED_95 = 1.6448536269514722  # standard normal quantile at 0.95


def wilson_upper(defects: int, n: int, z: float = Z_ONE_SIDED_95) -> float:
    """One-sided Wilson score upper bound for a proportion (``defects`` out of ``n``)."""
    if n <= 0:
        raise ValueError("the Wilson bound needs at least one observation")
    if not 0 <= defects <= n:
        raise ValueError("defects must lie between 0 and n")
    p = defects / n
    z2 = z * z
    centre = p + z2 / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return min(1.0, (centre + spread) / (1 + z2 / n))


CRITICAL_CAP = 60.0
SCORE_WINDOW_LOTS = 8


def quality_score(defects: int, n: int, *, critical: bool) -> float | None:
    """100 x (1 - Wilson upper bound), to 0.1 point; capped at 60 after a critical.

    None when nothing was sampled: no evidence is not a perfect score.
    """
    if n <= 0:
        return None
    score = round(100.0 * (1.0 - wilson_upper(defects, n)), 1)
    return min(score, CRITICAL_CAP) if critical else score


class Band(StrEnum):
    GREEN = "green"
    AMBER = "amber"
    RED = "red"
    NO_DATA = "no_data"


GREEN_FROM = 85.0
RED_BELOW = 70.0


def band(score: float | None) -> Band:
    """green >= 85, amber 70-85, red < 70 (no_data without sampled checklists).

    The cut-offs are lower than a plain defect-rate view would suggest because the Wilson
    bound punishes small samples: 40 clean checklists score 93.7, 16 clean ones 85.6.
    """
    if score is None:
        return Band.NO_DATA
    if score >= GREEN_FROM:
        return Band.GREEN
    return Band.AMBER if score >= RED_BELOW else Band.RED


def is_flagged(score: float | None, defects: int, *, critical: bool,
               recent_decisions: Sequence[LotDecision]) -> list[str]:
    """Why a point needs HQ review (empty list: it does not).

    * ``red_score``: red band with at least one defect found (a point is never flagged only
      because few of its checklists were sampled);
    * ``critical``: a critical verdict in the scoring window;
    * ``recent_rejection``: one of its last two decided lots was rejected.
    """
    reasons = []
    if band(score) == Band.RED and defects > 0:
        reasons.append("red_score")
    if critical:
        reasons.append("critical")
    if any(d == LotDecision.REJECTED for d in recent_decisions[:2]):
        reasons.append("recent_rejection")
    return reasons


# ---------------------------------------------------------------------------------------------
# Targeted (risk-based) review triggers: reviewed on top, never counted in the statistics
# ---------------------------------------------------------------------------------------------


class Trigger(StrEnum):
    REUSED_PHOTO = "reused_photo"  # the same photo hash on another job
    EXIF_TIME_SKEW = "exif_time_skew"  # EXIF time far from the server receive time / job time
    EXIF_GPS_FAR = "exif_gps_far"  # EXIF position far from the job site
    TOO_FAST = "too_fast"  # completed much faster than the standard duration
    FLAGGED_READING = "flagged_reading"  # a step the SOP rules flagged
    LATE_SYNC = "late_sync"  # reached the server after its week's lot froze
    NEW_TECHNICIAN = "new_technician"  # technician in their first 30 days
    CRITICAL_FOLLOW_UP = "critical_follow_up"  # same technician and SOP as a critical finding


EXIF_TIME_TOLERANCE = timedelta(hours=2)
GPS_TOLERANCE_M = 1000.0
TOO_FAST_RATIO = 0.5
NEW_TECHNICIAN_DAYS = 30


def exif_time_skewed(exif_at: datetime | None, reference_times: Iterable[datetime | None]) -> bool:
    """The EXIF time lies more than the tolerance outside the span of the reference times
    (the job's arrival and completion, the step's server receive time).

    A photo taken during a long visit that synced much later is inside the span; one taken
    days before the visit is not. A missing EXIF time is unverified, not skewed.
    """
    refs = [r for r in reference_times if r is not None]
    if exif_at is None or not refs:
        return False
    return exif_at < min(refs) - EXIF_TIME_TOLERANCE or exif_at > max(refs) + EXIF_TIME_TOLERANCE


def gps_far(exif_lat: float | None, exif_lon: float | None, site_lat: float | None,
            site_lon: float | None) -> float | None:
    """Distance to the site when it exceeds the tolerance, else None (missing GPS: unverified)."""
    if None in (exif_lat, exif_lon, site_lat, site_lon):
        return None
    metres = great_circle_m(exif_lat, exif_lon, site_lat, site_lon)  # type: ignore[arg-type]
    return metres if metres > GPS_TOLERANCE_M else None


def too_fast(started_at: datetime | None, completed_at: datetime | None, standard_minutes: int | None) -> bool:
    """Completed in less than half the product's standard minutes for the job type."""
    if started_at is None or completed_at is None or not standard_minutes:
        return False
    return (completed_at - started_at) < timedelta(minutes=standard_minutes * TOO_FAST_RATIO)


def new_technician(hired_on: date | None, completed_on: date) -> bool:
    return hired_on is not None and (completed_on - hired_on).days < NEW_TECHNICIAN_DAYS
