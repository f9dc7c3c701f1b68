"""Request and response examples of the main operations, by operationId.

They are part of the OpenAPI document (:mod:`dispatch.api.contract`) and validated against their
schemas by ``tests/api/test_openapi_contract.py``, so an example cannot drift from what the server
accepts. Identifiers are illustrative; the demo data has its own.
"""

from __future__ import annotations

JOB_ID = "3f2a7c1e-9b4d-4e2a-8c1f-0a5b6d7e8f90"
CUSTOMER_ID = "7d1e2f3a-4b5c-4d6e-8f90-1a2b3c4d5e6f"
TECHNICIAN_ID = "c0ffee00-1234-4abc-9def-0123456789ab"
ATTACHMENT_ID = "a77ac4ed-0000-4000-8000-00000000c0de"

LOCATION = {"lat": 30.2741, "lon": 120.1551}

EXAMPLES: dict[str, dict] = {
    "login": {
        "request": {"username": "mgr.hz-xihu", "password": "correct horse battery staple"},
        "responses": {"200": {"access_token": "eyJhbGciOiJIUzI1NiJ9.e30.sig", "refresh_token": "r1.opaque",
                              "token_type": "Bearer", "expires_in": 900}},
    },
    "refreshToken": {"request": {"refresh_token": "r1.opaque"}},
    "createJob": {
        "request": {"type": "repair", "priority": "high", "customer_id": CUSTOMER_ID,
                    "unit_serial": "WP-2026-000123", "description": "Leaks under the sink after filter change",
                    "window_start": "2026-12-07T09:00:00+08:00", "window_end": "2026-12-07T12:00:00+08:00"},
    },
    "assignJob": {
        "request": {"technician_id": TECHNICIAN_ID, "scheduled_start": "2026-12-07T09:30:00+08:00",
                    "reason": "", "locked": False},
    },
    "transitionJob": {
        "request": {"to": "on_site", "recorded_at": "2026-12-07T09:41:12+08:00", "location": LOCATION},
    },
    "requestPlan": {"request": {"date": "2026-12-07", "time_limit_s": 10, "seed": 0}},
    "registerCustomer": {
        "request": {"name": "王芳", "phone": "+86 138 0013 8000", "address": "杭州市西湖区文三路 90 号",
                    "location": LOCATION, "grade": "standard"},
    },
    "activateWarranty": {
        "request": {"customer_id": CUSTOMER_ID, "purchased_on": "2026-11-28", "sales_channel": "retail"},
    },
    "recordChecklistStep": {
        "request": {"value": 0.25, "evidence": [ATTACHMENT_ID], "recorded_at": "2026-12-07T10:02:00+08:00",
                    "location": LOCATION},
    },
    "pushMutations": {
        "request": {"device_id": "5b0e9a52-7d1c-4a43-9a0e-3c1f2b4d5e6a", "app_version": "3.2.0",
                    "sent_at": "2026-12-07T11:20:03+08:00", "mutations": [
            {"id": 41, "kind": "job_transition", "recorded_at": "2026-12-07T09:05:00+08:00",
             "payload": {"job_id": JOB_ID, "to": "en_route"}},
            {"id": 42, "kind": "note", "recorded_at": "2026-12-07T09:50:00+08:00",
             "payload": {"job_id": JOB_ID, "text": "客户要求下午再来一次检查水压"}},
        ]},
    },
}
