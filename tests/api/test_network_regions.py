"""Regions through HTTP: the tree, boundaries (valid, non-overlapping), the district lookup."""

from __future__ import annotations

from tests.helpers import assert_problem

SQUARE = {"type": "Polygon", "coordinates": [[[100.0, 10.0], [100.1, 10.0], [100.1, 10.1], [100.0, 10.1],
                                               [100.0, 10.0]]]}
BOWTIE = {"type": "Polygon", "coordinates": [[[100.0, 10.0], [100.1, 10.1], [100.1, 10.0], [100.0, 10.1],
                                               [100.0, 10.0]]]}


def region(api, code):
    found = api.get(f"/api/v1/regions/?code={code}", as_="admin").json
    assert len(found) == 1, found
    return found[0]


def new_city(api):
    province = api.post("/api/v1/regions/", as_="admin", json={"code": "YN", "name": "Yunnan", "level": "province"})
    assert province.status_code == 201, province.json
    city = api.post("/api/v1/regions/", as_="admin", json={"code": "YN-KM", "name": "Kunming", "level": "city",
                                                          "parent_id": province.json["id"]})
    assert city.status_code == 201, city.json
    return city.json


def test_admin_builds_a_district_with_a_boundary_that_locates_points(api):
    city = new_city(api)
    created = api.post("/api/v1/regions/", as_="admin", json={"code": "yn-km-wh", "name": "Wuhua", "level": "district",
                                                             "parent_id": city["id"], "boundary": SQUARE})
    assert created.status_code == 201, created.json
    assert created.json["code"] == "YN-KM-WH" and created.json["parent_code"] == "YN-KM"
    assert created.headers["Location"].endswith(created.json["id"])
    located = api.get("/api/v1/regions/locate?lat=10.05&lon=100.05", as_="tech.hz01.1")
    assert located.status_code == 200 and located.json["code"] == "YN-KM-WH"
    assert api.get("/api/v1/regions/locate?lat=30.25&lon=120.13", as_="tech.hz01.1").json["code"] == "ZJ-HZ-XH"
    assert_problem(api.get("/api/v1/regions/locate?lat=0&lon=0", as_="admin"), 404)


def test_a_self_intersecting_boundary_is_a_422_naming_boundary(api):
    city = new_city(api)
    body = assert_problem(api.post("/api/v1/regions/", as_="admin", json={
        "code": "YN-KM-XS", "name": "Xishan", "level": "district", "parent_id": city["id"], "boundary": BOWTIE}),
        422, field="boundary")
    assert "self-intersection" in body["errors"]["boundary"][0].lower()
    not_polygon = api.post("/api/v1/regions/", as_="admin", json={
        "code": "YN-KM-XS", "name": "Xishan", "level": "district", "parent_id": city["id"],
        "boundary": {"type": "Point", "coordinates": [100, 10]}})
    assert_problem(not_polygon, 422, field="boundary")
    open_ring = {"type": "Polygon", "coordinates": [[[100.0, 10.0], [100.1, 10.0], [100.1, 10.1], [100.0, 10.1]]]}
    assert_problem(api.post("/api/v1/regions/", as_="admin", json={
        "code": "YN-KM-XS", "name": "Xishan", "level": "district", "parent_id": city["id"],
        "boundary": open_ring}), 422, field="boundary")


def test_a_boundary_overlapping_another_district_is_a_409_naming_it(api):
    city = new_city(api)
    xihu = region(api, "ZJ-HZ-XH")
    lon, lat = xihu["boundary"]["coordinates"][0][0]
    overlapping = {"type": "Polygon", "coordinates": [[[lon, lat], [lon + 0.05, lat], [lon + 0.05, lat + 0.05],
                                                       [lon, lat + 0.05], [lon, lat]]]}
    body = assert_problem(api.post("/api/v1/regions/", as_="admin", json={
        "code": "YN-KM-GD", "name": "Guandu", "level": "district", "parent_id": city["id"],
        "boundary": overlapping}), 409)
    assert body["conflicting_region_code"] == "ZJ-HZ-XH"


def test_the_tree_is_enforced_level_by_level(api):
    province = region(api, "ZJ")
    body = assert_problem(api.post("/api/v1/regions/", as_="admin", json={
        "code": "ZJ-XX-YY", "name": "Nowhere", "level": "district", "parent_id": province["id"]}),
        422, field="parent_id")
    assert "must be a city" in body["errors"]["parent_id"][0]
    assert_problem(api.post("/api/v1/regions/", as_="admin", json={
        "code": "ZJ-WZ", "name": "Wenzhou", "level": "city"}), 422, field="parent_id")
    assert_problem(api.post("/api/v1/regions/", as_="admin", json={
        "code": "ZJ", "name": "Again", "level": "province"}), 409)
    assert_problem(api.post("/api/v1/regions/", as_="admin", json={
        "code": "ZJ-HZ-B2", "name": "City with boundary", "level": "city", "parent_id": province["id"],
        "boundary": SQUARE}), 422, field="boundary")


def test_only_admins_write_regions_and_everyone_reads_them(api):
    assert_problem(api.post("/api/v1/regions/", as_="manager.hz01", json={
        "code": "YN", "name": "Yunnan", "level": "province"}), 403)
    listing = api.get("/api/v1/regions/?level=district&page_size=5", as_="tech.sz01.1")
    assert listing.status_code == 200 and len(listing.json) == 5
    assert '"total": 12' in listing.headers["X-Pagination"]
    children = api.get(f"/api/v1/regions/?parent_id={region(api, 'ZJ-HZ')['id']}", as_="reviewer").json
    assert [r["code"] for r in children] == ["ZJ-HZ-BJ", "ZJ-HZ-GS", "ZJ-HZ-SC", "ZJ-HZ-XH"]


def test_patch_needs_the_current_etag(api):
    xihu = region(api, "ZJ-HZ-XH")
    path = f"/api/v1/regions/{xihu['id']}"
    etag = api.get(path, as_="admin").headers["ETag"]
    assert_problem(api.patch(path, as_="admin", json={"name": "West Lake"}), 428)
    assert_problem(api.patch(path, as_="admin", json={"name": "West Lake"}, headers={"If-Match": '"stale"'}), 412)
    renamed = api.patch(path, as_="admin", json={"name": "West Lake"}, headers={"If-Match": etag})
    assert renamed.status_code == 200 and renamed.json["name"] == "West Lake"
    assert renamed.headers["ETag"] != etag
    assert_problem(api.patch(path, as_="admin", json={"name": "Again"}, headers={"If-Match": etag}), 412)


def test_a_region_in_use_cannot_be_deleted_but_an_unused_one_can(api):
    xihu = region(api, "ZJ-HZ-XH")
    path = f"/api/v1/regions/{xihu['id']}"
    body = assert_problem(api.delete(path, as_="admin", headers={"If-Match": api.get(path, as_="admin").headers["ETag"]}),
                          409)
    assert body["in_use"]["coverage rows"] == 2
    city = new_city(api)
    city_path = f"/api/v1/regions/{city['id']}"
    gone = api.delete(city_path, as_="admin", headers={"If-Match": api.get(city_path, as_="admin").headers["ETag"]})
    assert gone.status_code == 204
    assert_problem(api.get(city_path, as_="admin"), 404)


def test_redrawing_a_boundary_moves_the_district_lookup_at_once(api):
    city = new_city(api)
    created = api.post("/api/v1/regions/", as_="admin", json={"code": "YN-KM-PL", "name": "Panlong",
                                                             "level": "district", "parent_id": city["id"],
                                                             "boundary": SQUARE}).json
    assert api.get("/api/v1/regions/locate?lat=10.05&lon=100.05", as_="admin").json["code"] == "YN-KM-PL"
    moved = {"type": "Polygon", "coordinates": [[[101.0, 11.0], [101.1, 11.0], [101.1, 11.1], [101.0, 11.0]]]}
    path = f"/api/v1/regions/{created['id']}"
    redrawn = api.patch(path, as_="admin", json={"boundary": moved},
                        headers={"If-Match": api.get(path, as_="admin").headers["ETag"]})
    assert redrawn.status_code == 200, redrawn.json
    assert_problem(api.get("/api/v1/regions/locate?lat=10.05&lon=100.05", as_="admin"), 404)
    assert api.get("/api/v1/regions/locate?lat=11.02&lon=101.05", as_="admin").json["code"] == "YN-KM-PL"
    assert_problem(api.patch(path, as_="admin", json={"boundary": BOWTIE},
                             headers={"If-Match": redrawn.headers["ETag"]}), 422, field="boundary")
