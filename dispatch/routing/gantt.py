"""A plan's day as a Gantt picture (SVG): one row per technician, time across.

Each row shows the shift (light grey), driving (amber), work on site (blue), the break (green) and
idle time (grey hatching: waiting on site for a window, or between the last visit and the end of
the shift is not drawn). Each visit's customer window is a bracket over the row ("[" at the window's
start, "]" at its end) and an SLA due time falling on the day is a red mark with a triangle.
:func:`render_gantt` is pure (plain data in, a string out); :func:`plan_gantt_svg` reads the plan.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from xml.sax.saxutils import escape, quoteattr

from dispatch.auth.principal import Principal
from dispatch.routing.views import READERS, load_plan
from dispatch.uow import UnitOfWork

LABEL_W, ROW_H, TOP, RIGHT = 170, 44, 64, 24
WIDTH = 1100
COLOURS = {"shift": "#eeeeee", "travel": "#f2b134", "work": "#4e79a7", "break": "#59a14f", "idle": "#9e9e9e",
           "window": "#222222", "sla": "#d62728"}


@dataclass(frozen=True)
class GanttVisit:
    label: str
    arrival_s: int
    start_s: int
    finish_s: int
    travel_s: int
    window: tuple[int, int] | None  # seconds since midnight, clipped to the day
    due_s: int | None


@dataclass(frozen=True)
class GanttRow:
    label: str
    shift: tuple[int, int]
    leave_s: int
    return_s: int
    return_travel_s: int
    break_: tuple[int, int] | None  # start, duration
    visits: tuple[GanttVisit, ...]


def _clock(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def render_gantt(rows: Sequence[GanttRow], *, title: str) -> str:
    """The SVG document for ``rows``."""
    first = min((r.shift[0] for r in rows), default=8 * 3600)
    last = max((max(r.shift[1], r.return_s) for r in rows), default=18 * 3600)
    first, last = first // 3600 * 3600, -(-last // 3600) * 3600
    span = max(last - first, 3600)
    height = TOP + ROW_H * max(len(rows), 1) + 60
    def x(seconds: int) -> float:  # on the time axis; earlier or later times sit at its ends
        seconds = min(max(seconds, first), last)
        return round(LABEL_W + (seconds - first) * (WIDTH - LABEL_W - RIGHT) / span, 1)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" '
        f'role="img" aria-label={quoteattr(title)} font-family="Helvetica, Arial, sans-serif">',
        f"<title>{escape(title)}</title>",
        f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#ffffff"/>',
        f'<text x="12" y="24" font-size="16" font-weight="bold">{escape(title)}</text>',
        '<defs><pattern id="idle" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#ffffff"/>'
        f'<rect width="3" height="6" fill="{COLOURS["idle"]}"/></pattern></defs>',
    ]
    for hour in range(first, last + 1, 3600):
        parts.append(f'<line x1="{x(hour)}" y1="{TOP - 8}" x2="{x(hour)}" y2="{TOP + ROW_H * len(rows)}" '
                     'stroke="#dddddd" stroke-width="1"/>')
        parts.append(f'<text x="{x(hour)}" y="{TOP - 12}" font-size="11" text-anchor="middle">{_clock(hour)}</text>')

    def bar(kind: str, start: int, end: int, y: float, tip: str, fill: str | None = None) -> None:
        if end <= start:
            return
        parts.append(f'<rect class="{kind}" x="{x(start)}" y="{y}" width="{round(x(end) - x(start), 1)}" '
                     f'height="18" fill="{fill or COLOURS[kind]}"><title>{escape(tip)}</title></rect>')

    for index, row in enumerate(rows):
        top = TOP + index * ROW_H
        y = top + 14
        parts.append(f'<g class="technician" data-technician={quoteattr(row.label)}>')
        parts.append(f'<text x="12" y="{y + 13}" font-size="13">{escape(row.label)}</text>')
        parts.append(f'<rect class="shift" x="{x(row.shift[0])}" y="{y - 4}" '
                     f'width="{round(x(row.shift[1]) - x(row.shift[0]), 1)}" height="26" fill="{COLOURS["shift"]}"/>')
        marks: list[str] = []  # brackets, then SLA marks, go over the bars
        dues: list[str] = []
        for visit in row.visits:
            bar("travel", visit.arrival_s - visit.travel_s, visit.arrival_s, y, f"drive to {visit.label}")
            bar("idle", visit.arrival_s, visit.start_s, y, f"waiting at {visit.label}", "url(#idle)")
            bar("work", visit.start_s, visit.finish_s, y,
                f"{visit.label} {_clock(visit.start_s)}-{_clock(visit.finish_s)}")
            if visit.window is not None:
                ws, we = visit.window
                for edge, tick in ((ws, 4), (we, -4)):
                    marks.append(f'<path class="window" d="M{x(edge) + tick},{y - 8}H{x(edge)}V{y + 26}'
                                 f'H{x(edge) + tick}" fill="none" stroke="{COLOURS["window"]}" stroke-width="1.5">'
                                 f"<title>{escape(visit.label)} window {_clock(ws)}-{_clock(we)}</title></path>")
            if visit.due_s is not None:
                due = x(visit.due_s)
                dues.append(f'<path class="sla-due" d="M{due},{y - 8}V{y + 26}M{due - 5},{y - 12}H{due + 5}'
                             f'L{due},{y - 4}Z" stroke="{COLOURS["sla"]}" stroke-width="2" fill="{COLOURS["sla"]}">'
                             f"<title>{escape(visit.label)} SLA due {_clock(visit.due_s)}</title></path>")
        if row.visits:
            back_from = row.return_s - row.return_travel_s
            bar("travel", back_from, row.return_s, y, "drive back")
        if row.break_ is not None:
            bar("break", row.break_[0], row.break_[0] + row.break_[1], y,
                f"break {_clock(row.break_[0])}-{_clock(row.break_[0] + row.break_[1])}")
        parts += marks + dues
        parts.append("</g>")
    legend_y = TOP + ROW_H * len(rows) + 28
    for k, (kind, text) in enumerate((("travel", "driving"), ("work", "on site"), ("break", "break"),
                                      ("idle", "waiting"), ("sla", "SLA due"))):
        lx = LABEL_W + k * 150
        fill = "url(#idle)" if kind == "idle" else COLOURS[kind]
        parts.append(f'<rect x="{lx}" y="{legend_y - 11}" width="14" height="14" fill="{fill}" stroke="#888888"/>')
        parts.append(f'<text x="{lx + 20}" y="{legend_y + 1}" font-size="12">{text}</text>')
    parts.append(f'<text x="{LABEL_W + 5 * 150}" y="{legend_y + 1}" font-size="12">[ ] customer window</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def _seconds(moment: datetime | None, midnight: datetime) -> int | None:
    if moment is None:
        return None
    return int((moment - midnight).total_seconds())


def plan_gantt_svg(uow: UnitOfWork, actor: Principal, plan_id: uuid.UUID) -> str:
    """The plan's technicians' days as a Gantt SVG."""
    actor.require(*READERS)
    with uow:
        plan = load_plan(uow.session, actor, plan_id, detail=True)
        midnight = plan.local_time(0)
        day_end = midnight + timedelta(days=1)
        rows = []
        for route in plan.routes:
            visits = []
            for stop in route.stops:
                job = stop.job
                window = None
                if job.window_start is not None and job.window_end is not None \
                        and job.window_start < day_end and job.window_end > midnight:
                    window = (max(0, _seconds(job.window_start, midnight)),
                              min(24 * 3600, _seconds(job.window_end, midnight)))
                due = _seconds(job.sla_due_at, midnight) if job.sla_due_at is not None \
                    and midnight <= job.sla_due_at < day_end else None
                visits.append(GanttVisit(job.reference, stop.arrival_s, stop.start_s, stop.finish_s, stop.travel_s,
                                         window, due))
            rows.append(GanttRow(
                label=route.technician.name, shift=(route.shift_start_s, route.shift_end_s),
                leave_s=route.start_s, return_s=route.end_s,
                return_travel_s=route.travel_s - sum(s.travel_s for s in route.stops),
                break_=(route.break_start_s, route.break_s) if route.break_start_s is not None and route.break_s else None,
                visits=tuple(visits)))
        title = f"Route plan {plan.service_day.isoformat()}: the technicians' day"
        return render_gantt(rows, title=title)
