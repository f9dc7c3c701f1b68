"""The pictures a manager looks at (issue 19), checked on the drawn pixels: each SVG is rendered
to PNG with cairosvg and the colours are read back where the SVG says things are.

- the route map: districts as the base layer, every stop visible (also two at one address) with
  its planned time, the jobs left out listed with their reasons;
- the Gantt picture of each technician's day: driving, work, break and waiting; customer windows
  as brackets; SLA due times as red marks.
"""

from __future__ import annotations

import io
from xml.etree import ElementTree

import cairosvg
import pytest
from PIL import Image

from tests.helpers import assert_problem
from tests.plan_builders import TZ, local, make_job, next_workday, point

SVG = {"svg": "http://www.w3.org/2000/svg"}


def rendered(svg: bytes) -> Image.Image:
    return Image.open(io.BytesIO(cairosvg.svg2png(bytestring=svg))).convert("RGB")


def rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))


def near(pixel, colour, tolerance=40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour))


def dark_pixels(image, box) -> int:
    left, top, right, bottom = (int(v) for v in box)
    return sum(1 for x in range(left, right) for y in range(top, bottom)
               if sum(image.getpixel((x, y))) < 450)  # ink: text and lines, not the pale grounds


@pytest.fixture
def plan(api, session):
    day = next_workday()
    hz01 = point(session, "HZ01")
    for i in range(10):
        make_job(session, "HZ01", day, window=(9 + i % 4 * 2, 11 + i % 4 * 2), seed=f"pic{i}")
    twins = (hz01.lat + 0.012, hz01.lon - 0.01)
    for i in range(2):
        make_job(session, "HZ01", day, window=(9, 17), location=twins, seed=f"twin{i}")
    due = make_job(session, "HZ01", day, window=(9, 17), minutes=30, seed="due",
                   sla_due_at=local(day, 11).astimezone(TZ))
    make_job(session, "HZ01", day, window=(20, 21), seed="late")  # left out: outside every shift
    session.commit()
    response = api.post(f"/api/v1/service-points/{hz01.id}/plans", as_="manager.hz01",
                        json={"date": day.isoformat(), "time_limit_s": 1})
    body = api.get(response.headers["Location"], as_="manager.hz01").json
    assert body["status"] == "done"
    return body | {"due_job_reference": due.reference}


def test_the_map_draws_districts_under_routes_every_stop_with_its_time_and_the_reasons(api, plan):
    response = api.get(f"/api/v1/plans/{plan['id']}/map.svg", as_="manager.hz01")
    assert response.status_code == 200
    root = ElementTree.fromstring(response.data)
    image = rendered(response.data)

    districts = root.findall(".//svg:polygon[@class='district']", SVG)
    assert len(districts) >= 2  # HZ01 covers two districts
    pale = rgb("#dfe9d8")
    map_pixels = [image.getpixel((x, y)) for x in range(20, 580, 4) for y in range(20, 580, 4)]
    assert sum(near(p, pale, 12) for p in map_pixels) > len(map_pixels) * 0.05  # drawn, not just written

    circles = root.findall(".//svg:circle[@class='stop']", SVG)
    stops = [stop for route in plan["routes"] for stop in route["stops"]]
    assert len(circles) == len(stops) >= 10
    centres = [(float(c.get("cx")), float(c.get("cy"))) for c in circles]
    for circle, (cx, cy) in zip(circles, centres):  # inside the disc, around the number (a neighbour's
        # time label may cross part of it, never all of it)
        around = [image.getpixel((int(cx + dx), int(cy + dy))) for dx, dy in ((-6, 0), (6, 0), (0, -6), (0, 6),
                                                                              (-4, 4), (4, 4))]
        assert sum(near(p, rgb(circle.get("fill"))) for p in around) >= 1, (circle.get("fill"), around)
    for i, (x1, y1) in enumerate(centres):  # no stop hides another, not even at one address
        for x2, y2 in centres[i + 1:]:
            assert ((x1 - x2) ** 2 + (y1 - y2) ** 2) ** 0.5 >= 18

    times = root.findall(".//svg:text[@class='time']", SVG)
    planned = sorted(stop["start_at"][11:16] for stop in stops)
    assert sorted(t.text for t in times) == planned
    for label in times:
        x, y = float(label.get("x")), float(label.get("y"))
        assert dark_pixels(image, (x, y - 9, x + 30, y + 1)) > 10

    reasons = [t.text for t in root.findall(".//svg:text[@class='unassigned-reason']", SVG)]
    left_out = [item for item in plan["unassigned"] if item["location"] is not None]
    assert len(reasons) == len(left_out) >= 1
    for item, text in zip(left_out, reasons):
        assert text.startswith(item["job_reference"]) and item["detail"] in text
    legend_y = max(float(t.get("y")) for t in root.findall(".//svg:text[@class='unassigned-reason']", SVG))
    assert dark_pixels(image, (660, legend_y - 9, 940, legend_y + 2)) > 20


def test_the_gantt_shows_each_day_with_driving_work_breaks_windows_and_sla_marks(api, session, plan):
    due_job_reference = plan["due_job_reference"]
    response = api.get(f"/api/v1/plans/{plan['id']}/gantt.svg", as_="manager.hz01")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    root = ElementTree.fromstring(response.data)
    image = rendered(response.data)
    rows = root.findall(".//svg:g[@class='technician']", SVG)
    assert [g.get("data-technician") for g in rows] == [r["technician_name"] for r in plan["routes"]]

    def centre(rect):
        return (int(float(rect.get("x")) + float(rect.get("width")) / 2), int(float(rect.get("y")) + 9))

    works = root.findall(".//svg:rect[@class='work']", SVG)
    assert len(works) == sum(len(r["stops"]) for r in plan["routes"])
    for rect in works:  # another visit's window bracket or an SLA mark may cross a bar, never cover it
        left, width, mid = float(rect.get("x")), float(rect.get("width")), int(float(rect.get("y")) + 9)
        row = [image.getpixel((int(left + 1 + i), mid)) for i in range(max(int(width) - 2, 1))]
        assert sum(near(p, rgb("#4e79a7")) for p in row) >= len(row) / 2, rect.find("svg:title", SVG).text
    travels = [r for r in root.findall(".//svg:rect[@class='travel']", SVG) if float(r.get("width")) >= 3]
    assert travels and sum(near(image.getpixel(centre(r)), rgb("#f2b134")) for r in travels) >= len(travels) * 0.8
    breaks = root.findall(".//svg:rect[@class='break']", SVG)
    assert len(breaks) == sum(1 for r in plan["routes"] if r["break_start_at"] and r["break_minutes"])
    assert breaks and all(near(image.getpixel(centre(r)), rgb("#59a14f")) for r in breaks)

    marks = root.findall(".//svg:path[@class='sla-due']", SVG)
    assert any(mark.find("svg:title", SVG).text.startswith(due_job_reference) for mark in marks)
    marked = set()
    for mark in marks:  # d = "M{x},{top}V...": a red upright
        due_x = int(float(mark.get("d")[1:].split(",")[0]))
        due_top = float(mark.get("d").split(",")[1].split("V")[0])
        column = [image.getpixel((due_x, int(y))) for y in range(int(due_top), int(due_top) + 30)]
        assert sum(near(p, rgb("#d62728"), 60) for p in column) > 10, (mark.get("d"), column[:12])
        marked |= {(x, int(due_top)) for x in range(due_x - 3, due_x + 4)}
    brackets = root.findall(".//svg:path[@class='window']", SVG)
    assert len(brackets) == 2 * len(works)  # every job has a window that day: "[" and "]"
    for bracket in brackets:  # d = "M{tick},{top}H{edge}V{bottom}H{tick}": the upright is drawn
        top = float(bracket.get("d").split(",")[1].split("H")[0])
        edge = int(float(bracket.get("d").split("H")[1].split("V")[0]))
        if (edge, int(top)) in marked:
            continue  # an SLA mark on the same minute is drawn over it
        assert dark_pixels(image, (edge - 1, top + 2, edge + 2, top + 30)) > 10, bracket.get("d")


def test_pictures_of_someone_elses_plan_are_not_found(api, plan):
    assert_problem(api.get(f"/api/v1/plans/{plan['id']}/gantt.svg", as_="manager.hz02"), 404)
    assert_problem(api.get("/api/v1/plans/00000000-0000-0000-0000-000000000000/gantt.svg", as_="admin"), 404)
    assert api.get(f"/api/v1/plans/{plan['id']}/gantt.svg", as_="reviewer").status_code == 200
