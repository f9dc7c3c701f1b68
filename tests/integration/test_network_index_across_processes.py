"""Each API process keeps the network in memory (dispatch.network.index); a point suspended
through the API of *another* process is what this process's very next intake routes by."""

from __future__ import annotations

import subprocess
import sys

from dispatch import clock
from dispatch.app import create_app
from dispatch.config import Settings
from dispatch.db import make_engine, make_session_factory
from tests.conftest import TEST_HASH
from tests.dates import SUITE_NOW
from tests.helpers import Api
from tests.processes import REPO, SECRET, environment, seeded_database

# The other process: its own app on the same database, a manager of HQ suspends HZ01 over HTTP.
SUSPEND_HZ01 = """
from dispatch.app import create_app
client = create_app().test_client()
token = client.post("/api/v1/auth/token", json={"username": "admin", "password": "demo1234"}).json["access_token"]
auth = {"Authorization": f"Bearer {token}"}
hz01 = client.get("/api/v1/service-points/?code=HZ01", headers=auth).json[0]
response = client.post(f"/api/v1/service-points/{hz01['id']}/suspend", headers=auth, json={"reason": "audit"})
assert response.status_code == 200, response.get_data(as_text=True)
print(response.json["status"])
"""


def intake(api: Api, **where) -> dict:
    body = {"type": "install", "product_sku": "WP-RO500", "description": "new kitchen",
            "customer": {"name": "Qian Hao", "phone": "13999990001", "address": "8 Lakeview Rd"}}
    response = api.post("/api/v1/jobs/", as_="admin", json=body | where)
    assert response.status_code == 201, response.json
    return response.json["dispatch"]


def test_a_point_suspended_by_another_process_is_not_routed_to_by_this_ones_next_intake(tmp_path):
    url = seeded_database("network_index", tmp_path, ["seeds.network"])
    engine = make_engine(url)
    settings = Settings(database_url=url, secret_key=SECRET, upload_dir=tmp_path / "uploads",
                        instance_path=tmp_path, password_hash_method=TEST_HASH)
    try:
        with clock.frozen(SUITE_NOW):
            api = Api(create_app(settings, session_factory=make_session_factory(engine)).test_client())
            warm = intake(api, region_code="ZJ-HZ-XH")  # this process now holds the network in memory
            assert (warm["service_point_code"], warm["reason"]) == ("HZ01", "region_code")
            assert intake(api, region_code="ZJ-HZ-XH")["service_point_code"] == "HZ01"

            other = subprocess.run([sys.executable, "-c", SUSPEND_HZ01], cwd=REPO, capture_output=True, text=True,
                                   env=environment(tmp_path, DATABASE_URL=url), timeout=120)
            assert other.returncode == 0 and other.stdout.strip() == "suspended", other.stderr[-2000:]

            hz01 = api.get(f"/api/v1/service-points/{warm['service_point_id']}", as_="admin").json
            moved = intake(api, region_code="ZJ-HZ-XH", location=hz01["location"])
            assert (moved["service_point_code"], moved["reason"], moved["out_of_area"]) == ("HZ02", "nearest", True)
    finally:
        engine.dispose()
