"""A route plan drawn as a self-contained SVG for the manager's screen (pure; no plotting library).

Coordinates are projected equirectangularly around the plan's mean latitude (fine for a city: a
few tens of kilometres), scaled to fit the drawing. Each technician with work gets one colour:
a polyline from the start place through the numbered stops to the end place; the start is a
square, a different end place a hollow square. Jobs left out of the plan are grey crosses, and the
legend lists them with their reasons. The point's districts are the base layer (pale polygons with
their names, clipped to the map), every stop is labelled with its planned time, and stops that
would cover one another (one address, or a few metres apart) are spread around their place so
none is hidden.
"""

from __future__ import annotations

import colorsys
import math
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

WIDTH, HEIGHT = 960, 640
MAP_SIZE = 600  # the map is a square on the left; the legend fills the right
MARGIN = 24
LEGEND_X = MAP_SIZE + 2 * MARGIN

#: Distinguishable colours (Tableau 10 and a few more); further routes get golden-angle hues.
PALETTE = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948",
    "#b07aa1", "#ff9da7", "#9c755f", "#1f77b4", "#d62728", "#2ca02c",
)


@dataclass(frozen=True)
class MapStop:
    sequence: int
    label: str
    position: tuple[float, float]  # (lat, lon)
    time: str = ""  # planned start, "HH:MM"
    reason: str = ""  # why a job was left out


@dataclass(frozen=True)
class MapDistrict:
    name: str
    rings: tuple[tuple[tuple[float, float], ...], ...]  # outer rings of (lat, lon)


#: Stops closer than this (pixels) are spread on a circle of OFFSET_PX around their place.
OVERLAP_PX, OFFSET_PX = 19.0, 20.0  # a stop's disc is 18 px across


def _spread(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Drawn positions: a point landing on one already drawn moves round its place (six angles on
    a ring, then a wider ring) to the first spot where it covers nothing."""
    drawn: list[tuple[float, float]] = []
    for x, y in points:
        spot = (x, y)
        for k in range(60):
            if all(math.hypot(px - spot[0], py - spot[1]) >= OVERLAP_PX for px, py in drawn):
                break
            ring, angle = 1 + k // 6, (k % 6) * math.pi / 3 + (k // 6) * math.pi / 6
            spot = (round(x + OFFSET_PX * ring * math.cos(angle), 1), round(y + OFFSET_PX * ring * math.sin(angle), 1))
        drawn.append(spot)
    return drawn


@dataclass(frozen=True)
class MapRoute:
    label: str
    start: tuple[float, float]
    end: tuple[float, float]
    stops: tuple[MapStop, ...]


def colour(index: int) -> str:
    """The colour of the ``index``-th route: the palette first, then evenly spread hues."""
    if index < len(PALETTE):
        return PALETTE[index]
    hue = (index * 0.618033988749895) % 1.0
    r, g, b = colorsys.hls_to_rgb(hue, 0.45, 0.65)
    return f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}"


class _Projection:
    """lat/lon -> SVG x/y, keeping distances' proportions (north up)."""

    def __init__(self, points: Sequence[tuple[float, float]]) -> None:
        lats = [p[0] for p in points] or [0.0]
        lons = [p[1] for p in points] or [0.0]
        self.kx = math.cos(math.radians((min(lats) + max(lats)) / 2))
        self.lat_max, self.lon_min = max(lats), min(lons)
        span = max((max(lons) - min(lons)) * self.kx, max(lats) - min(lats), 1e-4)
        self.scale = (MAP_SIZE - 2 * MARGIN) / span
        self.dx = MARGIN + ((MAP_SIZE - 2 * MARGIN) - (max(lons) - min(lons)) * self.kx * self.scale) / 2
        self.dy = MARGIN + ((MAP_SIZE - 2 * MARGIN) - (max(lats) - min(lats)) * self.scale) / 2

    def __call__(self, position: tuple[float, float]) -> tuple[float, float]:
        lat, lon = position
        x = self.dx + (lon - self.lon_min) * self.kx * self.scale
        y = self.dy + (self.lat_max - lat) * self.scale
        return round(x, 1), round(y, 1)


def _square(x: float, y: float, size: float, fill: str, stroke: str, css: str, title: str) -> str:
    half = size / 2
    return (f'<rect class="{css}" x="{x - half}" y="{y - half}" width="{size}" height="{size}" '
            f'fill="{fill}" stroke="{stroke}" stroke-width="2"><title>{escape(title)}</title></rect>')


def render_plan_map(routes: Sequence[MapRoute], unassigned: Sequence[MapStop], *, title: str,
                    districts: Sequence[MapDistrict] = ()) -> str:
    """The SVG document (a string) for ``routes`` and the ``unassigned`` jobs over ``districts``."""
    points = [p for r in routes for p in (r.start, r.end, *(s.position for s in r.stops))]
    points += [s.position for s in unassigned]
    project = _Projection(points)
    drawn = iter(_spread([project(s.position) for r in routes if r.stops for s in r.stops]
                         + [project(s.position) for s in unassigned]))
    where = {(id(r), k): next(drawn) for r in routes if r.stops for k in range(len(r.stops))}
    where |= {(id(s), 0): next(drawn) for s in unassigned}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label={quoteattr(title)} '
        'font-family="Helvetica, Arial, sans-serif">',
        f"<title>{escape(title)}</title>",
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        f'<rect x="{MARGIN / 2}" y="{MARGIN / 2}" width="{MAP_SIZE - MARGIN}" height="{MAP_SIZE - MARGIN}" '
        'fill="#f6f6f2" stroke="#d0d0c8"/>',
        f'<clipPath id="map-area"><rect x="{MARGIN / 2}" y="{MARGIN / 2}" width="{MAP_SIZE - MARGIN}" '
        f'height="{MAP_SIZE - MARGIN}"/></clipPath>',
        '<g class="districts" clip-path="url(#map-area)">',
    ]
    for district in districts:
        for ring in district.rings:
            corners = [project(p) for p in ring]
            parts.append(f'<polygon class="district" points="{" ".join(f"{x},{y}" for x, y in corners)}" '
                         'fill="#dfe9d8" fill-opacity="0.8" stroke="#9bb58c" stroke-width="1.5">'
                         f"<title>{escape(district.name)}</title></polygon>")
            cx = sum(x for x, _ in corners) / len(corners)
            cy = sum(y for _, y in corners) / len(corners)
            parts.append(f'<text class="district-name" x="{round(cx, 1)}" y="{round(cy, 1)}" font-size="13" '
                         f'text-anchor="middle" fill="#6d8a5e">{escape(district.name)}</text>')
    parts.append("</g>")
    for item in unassigned:
        x, y = where[(id(item), 0)]
        parts.append(
            f'<path class="unassigned" d="M{x - 5},{y - 5}L{x + 5},{y + 5}M{x - 5},{y + 5}L{x + 5},{y - 5}" '
            f'stroke="#8c8c8c" stroke-width="2.5"><title>{escape(item.label)} (not planned)</title></path>'
        )
    times: list[str] = []  # drawn over every route, so no line hides a time
    for index, route in enumerate(routes):
        if not route.stops:
            continue
        stroke = colour(index)
        path = [project(route.start), *(where[(id(route), k)] for k in range(len(route.stops))),
                project(route.end)]
        parts.append(f'<g class="route" data-technician={quoteattr(route.label)}>')
        parts.append(
            f'<polyline class="route-line" points="{" ".join(f"{x},{y}" for x, y in path)}" fill="none" '
            f'stroke="{stroke}" stroke-width="3" stroke-linejoin="round" stroke-opacity="0.85"/>'
        )
        sx, sy = path[0]
        parts.append(_square(sx, sy, 14, stroke, "#222222", "start", f"{route.label}: start"))
        if route.end != route.start:
            ex, ey = path[-1]
            parts.append(_square(ex, ey, 14, "#ffffff", stroke, "end", f"{route.label}: end"))
        for stop, (x, y) in zip(route.stops, path[1:-1]):
            parts.append(
                f'<circle class="stop" cx="{x}" cy="{y}" r="9" fill="{stroke}" stroke="#ffffff" stroke-width="1.5">'
                f"<title>{escape(route.label)} #{stop.sequence}: {escape(stop.label)}</title></circle>"
            )
            parts.append(f'<text x="{x}" y="{y + 3.5}" font-size="10" text-anchor="middle" fill="#ffffff">'
                         f"{stop.sequence}</text>")
            if stop.time:
                times.append(f'<text class="time" x="{x + 11}" y="{y - 7}" font-size="10" fill="#222222" '
                             f'font-weight="bold">{escape(stop.time)}</text>')
        parts.append("</g>")
    parts += ['<g class="times">', *times, "</g>"]
    parts.append(f'<text x="{LEGEND_X}" y="{MARGIN + 6}" font-size="15" font-weight="bold">{escape(title)}</text>')
    y = MARGIN + 34
    for index, route in enumerate(routes):
        jobs = f"{len(route.stops)} job{'s' if len(route.stops) != 1 else ''}" if route.stops else "no jobs"
        parts.append(f'<rect x="{LEGEND_X}" y="{y - 10}" width="14" height="14" fill="{colour(index)}"/>')
        parts.append(f'<text x="{LEGEND_X + 22}" y="{y + 2}" font-size="13">{escape(route.label)} ({jobs})</text>')
        y += 22
    if unassigned:
        parts.append(f'<text x="{LEGEND_X}" y="{y + 6}" font-size="13" fill="#666666">'
                     f"\u00d7 {len(unassigned)} not planned</text>")
        for item in unassigned:
            y += 18
            reason = f": {item.reason}" if item.reason else ""
            parts.append(f'<text class="unassigned-reason" x="{LEGEND_X + 12}" y="{y + 6}" font-size="11" '
                         f'fill="#666666">{escape(item.label + reason)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)
