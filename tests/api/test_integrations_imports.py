"""Bulk import of the installed base through HTTP: a dry run names each bad row by its line; a real
run is a background task with progress, idempotent by natural keys, never half-applying a row; the
export has the import's shape and re-importing it changes nothing."""

from __future__ import annotations

import io
from datetime import timedelta

from sqlalchemy import func, select

from dispatch.audit_log.verification import verify as verify_audit_log
from dispatch.network.models import Activation, Customer, Product, Unit
from dispatch.warranty.models import JourneyEvent, TradePartner
from tests.dates import SUITE_TODAY
from tests.helpers import assert_problem

HEADER = "serial,product_sku,manufactured_on,customer_phone,customer_name,customer_address,purchased_on," \
         "sales_channel,dealer_code"
YEAR = SUITE_TODAY.year - 1
MADE = SUITE_TODAY.replace(year=YEAR, month=3, day=1)
BOUGHT = SUITE_TODAY - timedelta(days=20)


def catalogue(session) -> tuple[str, str]:
    sku = session.scalar(select(Product.sku).order_by(Product.sku))
    dealer = session.scalar(select(TradePartner.code).where(TradePartner.kind == "dealer").order_by(TradePartner.code))
    return sku, dealer


def serial(n: int) -> str:
    return f"IMP{YEAR}{n:07d}"


def good_rows(session, count: int = 3, start: int = 1) -> list[str]:
    sku, dealer = catalogue(session)
    rows = []
    for n in range(start, start + count):
        if n % 2:
            rows.append(f"{serial(n)},{sku},{MADE},1390000{n:04d},Buyer {n},{n} Import Road,{BOUGHT},retail,{dealer}")
        else:
            rows.append(f"{serial(n)},{sku},{MADE},,,,,,")
    return rows


def upload(api, text: str, *, dry_run: bool = False, as_: str = "admin"):
    return api.post(f"/api/v1/imports/units{'?dry_run=true' if dry_run else ''}", as_=as_,
                    content_type="multipart/form-data",
                    data={"file": (io.BytesIO(text.encode()), "units.csv")})


def test_a_dry_run_names_each_bad_row_by_its_line_and_writes_nothing(api, session):
    sku, dealer = catalogue(session)
    rows = good_rows(session, 2) + [
        f"{serial(10)},NO-SUCH-SKU,{MADE},,,,,,",
        f"{serial(11)},{sku},{YEAR + 1}-01-01,,,,,,",
        f"{serial(12)},{sku},{MADE},13900001212,,,{BOUGHT},retail,",
        f"bad serial,{sku},{MADE},,,,,,",
        f"{serial(1)},{sku},{MADE},,,,,,",
        f"{serial(13)},{sku},{MADE},13900001313,Someone,,{BOUGHT},barter,{dealer}",
        f"{serial(14)},{sku},{MADE},,,,,,NO-DEALER",
    ]
    answer = assert_problem(upload(api, "\n".join([HEADER, *rows]), dry_run=True), 422)
    assert answer["rows"] == 9
    assert [(p["line"], p["field"]) for p in answer["problems"]] == [
        (4, "product_sku"), (5, "manufactured_on"), (6, "customer_name"), (7, "serial"), (8, "serial"),
        (9, "sales_channel"), (10, "dealer_code")]
    assert "line 4" in answer["detail"]
    assert session.scalar(select(func.count()).select_from(Unit).where(Unit.serial.like("IMP%"))) == 0
    ok = upload(api, "\n".join([HEADER, *good_rows(session, 4)]), dry_run=True)
    assert ok.status_code == 200 and ok.json == {"rows": 4, "valid": 4}


def test_an_unreadable_file_is_a_422_naming_the_file(api):
    assert_problem(upload(api, "serial,colour\nX,red", dry_run=True), 422, field="file")
    assert_problem(upload(api, HEADER, dry_run=True), 422, field="file")
    assert_problem(api.post("/api/v1/imports/units?dry_run=true", as_="admin", content_type="multipart/form-data",
                            data={"file": (io.BytesIO(b"\xff\xfe\x00bad"), "units.csv")}), 422, field="file")
    assert_problem(api.post("/api/v1/imports/units", as_="admin", content_type="multipart/form-data", data={}),
                   422, field="file")
    for username in ("reviewer", "manager.hz01", "tech.hz01.1"):
        assert_problem(upload(api, HEADER + "\n" + f"{serial(1)},X,{MADE},,,,,,", as_=username), 403)


def test_a_run_applies_the_good_rows_with_progress_and_twice_changes_nothing(api, session):
    sku, _ = catalogue(session)
    text = "\n".join([HEADER, *good_rows(session, 5), f"{serial(99)},NO-SUCH-SKU,{MADE},,,,,,"])
    started = upload(api, text)
    assert started.status_code == 202, started.json
    run = api.get(started.headers["Location"], as_="admin").json  # the inline queue ran it already
    assert (run["status"], run["total"], run["applied"], run["failed"]) == ("succeeded", 6, 5, 1)
    assert run["errors"] == [{"line": 7, "field": "product_sku", "reason": "no product 'NO-SUCH-SKU'"}]
    units = {u.serial: u for u in session.scalars(select(Unit).where(Unit.serial.like("IMP%")))}
    assert sorted(units) == [serial(n) for n in range(1, 6)]
    bound = units[serial(1)]
    assert bound.purchased_on == BOUGHT and bound.sales_channel == "retail"
    assert session.get(Customer, bound.customer_id).phone == "13900000001"
    assert units[serial(2)].customer_id is None
    assert session.scalar(select(func.count()).select_from(JourneyEvent).where(
        JourneyEvent.unit_id == bound.id, JourneyEvent.kind == "to_dealer")) == 1
    counts = [session.scalar(select(func.count()).select_from(model)) for model in (Unit, Customer, Activation,
                                                                                   JourneyEvent)]
    again = api.get(upload(api, text).headers["Location"], as_="admin").json
    assert (again["applied"], again["failed"]) == (5, 1)
    assert [session.scalar(select(func.count()).select_from(model)) for model in (Unit, Customer, Activation,
                                                                                 JourneyEvent)] == counts
    assert {run["id"], again["id"]} <= {item["id"] for item in api.get("/api/v1/imports/", as_="reviewer").json}
    assert verify_audit_log(session).ok  # the imported warranty cards are sealed


def test_a_row_that_conflicts_is_refused_whole_and_the_others_go_on(api, session):
    upload(api, "\n".join([HEADER, *good_rows(session, 1)]))
    sku, dealer = catalogue(session)
    other_owner = f"{serial(1)},{sku},{MADE},13911112222,Someone Else,,{BOUGHT},retail,{dealer}"
    new_one = f"{serial(3)},{sku},{MADE},13911113333,Third Buyer,,{BOUGHT},online,"
    run = api.get(upload(api, "\n".join([HEADER, other_owner, new_one])).headers["Location"], as_="admin").json
    assert (run["applied"], run["failed"]) == (1, 1)
    assert run["errors"][0]["line"] == 2 and run["errors"][0]["field"] == "customer_phone"
    assert session.scalar(select(Customer).where(Customer.phone == "13911112222")) is None  # nothing of the row
    assert session.scalar(select(Unit).where(Unit.serial == serial(3))).sales_channel == "online"


def test_the_export_has_the_import_shape_and_reimports_to_no_change(api, session):
    upload(api, "\n".join([HEADER, *good_rows(session, 3)]))
    exported = api.get("/api/v1/imports/units/export", as_="reviewer")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    lines = exported.get_data(as_text=True).splitlines()
    assert lines[0] == "\ufeff" + HEADER  # written like every CSV of the API: a BOM, no formulas
    mine = [line for line in lines if line.startswith("IMP")]
    assert len(mine) == 3 and mine[0].split(",")[3] == "13900000001"
    assert_problem(api.get("/api/v1/imports/units/export", as_="manager.hz01"), 403)
    counts = session.scalar(select(func.count()).select_from(Activation))
    run = api.get(upload(api, "\n".join([HEADER, *mine])).headers["Location"], as_="admin").json
    assert (run["applied"], run["failed"]) == (3, 0)
    assert session.scalar(select(func.count()).select_from(Activation)) == counts
