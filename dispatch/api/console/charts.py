"""Small inline SVG charts drawn on the server (no JavaScript library, nothing fetched): the
scorecards' defect rates with their confidence bounds, KPI trends, and the network map. Each
chart has a title and a text description for screen readers; the page shows the figures in a
table beside it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from markupsafe import Markup

INK, MUTED, ACCENT, WARN, BAD = "#1b1f24", "#57606a", "#0b5cad", "#9a6700", "#b42318"
FONT = 'font-family="system-ui, sans-serif" font-size="12"'


def _svg(width: int, height: int, title: str, body: Iterable[str]) -> Markup:
    label = escape(title)
    return Markup(f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{label}" '
                  f'viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet">'
                  f'<title>{label}</title>{"".join(body)}</svg>')


def defect_bounds(cards: Sequence[Any], title: str = "defect rate and 95% upper bound per point") -> Markup:
    """One row per point: the observed defect rate (dot) and the Wilson upper bound (bar)."""
    left, width, row = 90, 420, 26
    top = max([0.2] + [c.wilson_upper or 0 for c in cards])
    scale = width / top
    body = [f'<line x1="{left}" y1="4" x2="{left}" y2="{row * len(cards) + 4}" stroke="{MUTED}"/>']
    for i, card in enumerate(cards):
        y = 4 + i * row + row / 2
        body.append(f'<text x="{left - 8}" y="{y + 4}" text-anchor="end" fill="{INK}" {FONT}>'
                    f'{escape(card.service_point.code)}</text>')
        if not card.sampled:
            body.append(f'<text x="{left + 6}" y="{y + 4}" fill="{MUTED}" {FONT}>n = 0</text>')
            continue
        rate = card.defects / card.sampled
        colour = BAD if card.flagged else ACCENT
        body.append(f'<line x1="{left}" y1="{y}" x2="{left + (card.wilson_upper or 0) * scale:.1f}" y2="{y}" '
                    f'stroke="{colour}" stroke-width="6" stroke-opacity="0.35"/>')
        body.append(f'<circle cx="{left + rate * scale:.1f}" cy="{y}" r="5" fill="{colour}"/>')
        body.append(f'<text x="{left + width + 6}" y="{y + 4}" fill="{INK}" {FONT}>'
                    f'{rate:.0%} ≤ {card.wilson_upper or 0:.0%} (n = {card.sampled})</text>')
    return _svg(left + width + 140, row * len(cards) + 12, title, body)


def trend(points: Sequence[tuple[str, float | None]], title: str, *, percent: bool = True) -> Markup:
    """A line through weekly values (gaps where a week has no figure)."""
    left, width, height, bottom = 48, 460, 140, 24
    values = [v for _, v in points if v is not None]
    top = max(values + [1.0 if percent else 1.0])
    step = width / max(1, len(points) - 1)
    body = [f'<line x1="{left}" y1="{height}" x2="{left + width}" y2="{height}" stroke="{MUTED}"/>',
            f'<text x="{left - 6}" y="14" text-anchor="end" fill="{MUTED}" {FONT}>'
            f'{f"{top:.0%}" if percent else f"{top:g}"}</text>',
            f'<text x="{left - 6}" y="{height}" text-anchor="end" fill="{MUTED}" {FONT}>0</text>']
    path, previous = [], None
    for i, (label, value) in enumerate(points):
        x = left + i * step
        body.append(f'<text x="{x:.1f}" y="{height + 16}" text-anchor="middle" fill="{MUTED}" {FONT}>'
                    f'{escape(label)}</text>')
        if value is None:
            previous = None
            continue
        y = height - value / top * (height - 10)
        path.append(f'{"L" if previous is not None else "M"}{x:.1f},{y:.1f}')
        previous = value
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{ACCENT}"/>')
    if path:
        body.insert(0, f'<path d="{" ".join(path)}" fill="none" stroke="{ACCENT}" stroke-width="2"/>')
    return _svg(left + width + 20, height + bottom, title, body)


def network_map(regions: Sequence[Any], points: Sequence[Any], title: str = "regions and service points") -> Markup:
    """District boundaries (GeoJSON polygons, plate carrée) with the points on top."""
    rings = []
    for region in regions:
        geometry = region.boundary or {}
        polygons = geometry.get("coordinates", [])
        if geometry.get("type") == "Polygon":
            polygons = [polygons]
        for polygon in polygons if geometry.get("type") in ("Polygon", "MultiPolygon") else []:
            if polygon:
                rings.append((region, polygon[0]))
    xs = [x for _, ring in rings for x, _ in ring] + [p.lon for p in points]
    ys = [y for _, ring in rings for _, y in ring] + [p.lat for p in points]
    if not xs:
        return _svg(10, 10, title, [])
    width, height, pad = 640, 420, 16
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    scale = min((width - 2 * pad) / max(x1 - x0, 1e-6), (height - 2 * pad) / max(y1 - y0, 1e-6))

    def at(lon: float, lat: float) -> tuple[float, float]:
        return pad + (lon - x0) * scale, height - pad - (lat - y0) * scale

    body = []
    for region, ring in rings:
        coords = " ".join(f"{a:.1f},{b:.1f}" for a, b in (at(x, y) for x, y in ring))
        body.append(f'<polygon points="{coords}" fill="{ACCENT}" fill-opacity="0.08" stroke="{ACCENT}" '
                    f'stroke-width="1"><title>{escape(region.name)} ({escape(region.code)})</title></polygon>')
    for point in points:
        x, y = at(point.lon, point.lat)
        colour = ACCENT if point.status.value == "authorised" else WARN
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{colour}" stroke="#fff"/>'
                    f'<text x="{x + 7:.1f}" y="{y + 4:.1f}" fill="{INK}" {FONT}>{escape(point.code)}</text>')
    return _svg(width, height, title, body)
