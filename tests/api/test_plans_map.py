"""The plan's map: valid SVG, one coloured polyline per technician with work, numbered stops."""

from __future__ import annotations

from datetime import timedelta
from xml.etree import ElementTree

from tests.plan_builders import make_job, next_workday, point

SVG = {"svg": "http://www.w3.org/2000/svg"}


def planned(api, session, day, jobs=0):
    for i in range(jobs):
        make_job(session, "HZ01", day, window=(9, 17), seed=f"map{i}")
    make_job(session, "HZ01", day, window=(20, 21), seed="map-late")  # left out: a grey cross
    session.commit()
    response = api.post(f"/api/v1/service-points/{point(session, 'HZ01').id}/plans", as_="manager.hz01",
                        json={"date": day.isoformat(), "time_limit_s": 1})
    return response.headers["Location"]


def test_the_map_draws_one_coloured_polyline_per_technician_with_a_route(api, session):
    location = planned(api, session, next_workday(), jobs=12)
    plan = api.get(location, as_="manager.hz01").json
    response = api.get(f"{location}/map.svg", as_="manager.hz01")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"

    root = ElementTree.fromstring(response.data)  # well-formed XML
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    working = [route for route in plan["routes"] if route["stops"]]
    groups = root.findall("svg:g[@class='route']", SVG)
    assert [g.get("data-technician") for g in groups] == [route["technician_name"] for route in working]
    lines = root.findall(".//svg:polyline", SVG)
    assert len(lines) == len(working) >= 2
    assert len({line.get("stroke") for line in lines}) == len(lines)
    for group, route in zip(groups, working):
        line = group.find("svg:polyline", SVG)
        assert len(line.get("points").split()) == len(route["stops"]) + 2  # start, stops, end
        numbers = [text.text for text in group.findall("svg:text", SVG)]
        assert numbers == [str(n) for n in range(1, len(route["stops"]) + 1)]
        assert len(group.findall("svg:circle", SVG)) == len(route["stops"])
        assert group.find("svg:rect[@class='start']", SVG) is not None
        for x, y in (map(float, pair.split(",")) for pair in line.get("points").split()):
            assert 0 <= x <= 960 and 0 <= y <= 640
    crosses = root.findall("svg:path[@class='unassigned']", SVG)
    assert len(crosses) == sum(1 for item in plan["unassigned"] if item["location"] is not None) >= 1


def test_a_day_without_anyone_on_shift_still_draws_a_valid_map(api, session):
    day = next_workday()
    sunday = day + timedelta(days=6 - day.weekday())
    response = api.get(f"{planned(api, session, sunday)}/map.svg", as_="manager.hz01")
    root = ElementTree.fromstring(response.data)
    assert root.findall(".//svg:polyline", SVG) == []
    assert root.findall("svg:path[@class='unassigned']", SVG)
    assert "Route plan" in root.find("svg:title", SVG).text
