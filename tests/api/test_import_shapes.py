"""Bulk import of customers, parts (price list) and technicians through HTTP, CSV and XLSX: a dry
run names each bad row by line and field; a real run is a background task polled through the
API; running it again changes nothing; a refused row writes nothing of itself; the export of each
shape re-imports as a no-op; who may import what."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import openpyxl
import pytest
from sqlalchemy import func, select

from dispatch.audit_log.models import LogEntry
from dispatch.auth import service as auth_service
from dispatch.auth.models import User
from dispatch.network.models import Customer, Product, ServicePoint, Technician, Unit
from dispatch.stock.models import Part
from tests.dates import SUITE_TODAY
from tests.helpers import assert_problem

API = "/api/v1/imports"
HIRED = SUITE_TODAY - timedelta(days=40)
ISSUED, EXPIRES = SUITE_TODAY - timedelta(days=100), SUITE_TODAY + timedelta(days=600)


def upload(api, kind: str, content: str | bytes, *, dry_run: bool = False, as_: str = "admin",
           filename: str | None = None):
    data = content.encode() if isinstance(content, str) else content
    name = filename or f"{kind}.{'csv' if isinstance(content, str) else 'xlsx'}"
    return api.post(f"{API}/{kind}{'?dry_run=true' if dry_run else ''}", as_=as_, content_type="multipart/form-data",
                    data={"file": (io.BytesIO(data), name)})


def run_of(api, started, as_: str = "admin") -> dict:
    """The run the upload queued, polled through the API (the inline queue ran it already)."""
    assert started.status_code == 202, started.get_data(as_text=True)
    run = api.get(started.headers["Location"], as_=as_).json
    assert run["status"] == "succeeded", run
    return run


def xlsx(rows: list[list]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_text(header: str, rows: list[str]) -> str:
    return "\n".join([header, *rows]) + "\n"


def count(session, model, *where) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where))


def exported(api, kind: str, as_: str = "admin") -> str:
    response = api.get(f"{API}/{kind}/export", as_=as_)
    assert response.status_code == 200 and response.mimetype == "text/csv", response.get_data(as_text=True)[:300]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return text[1:]


# --- customers ----------------------------------------------------------------------------------

CUSTOMERS = "phone,name,email,address,lat,lon,grade,service_point_code,locale"


def customer_rows() -> list[str]:
    return ["139 5555 0001,Lin Yue,lin@example.com,1 Lake Road,30.25,120.16,vip,HZ01,zh-CN",
            "13955550002,Zhou Min,,2 River Road,,,,,en",
            "+8613955550003,=HYPERLINK(\"x\"),,3 Hill Road,,,standard,NB01,"]


def test_customers_dry_run_names_each_bad_row_and_writes_nothing(api, session):
    bad = customer_rows()[:1] + [
        "not-a-phone,Bad Phone,,,,,,,",
        "13955550009,Half Place,,,30.1,,,,",
        "13955550010,Bad Grade,,,,,gold,,",
        "13955550011,No Point,,,,,,XX99,",
        "139-5555-0001,Same Phone,,,,,,,",
    ]
    answer = assert_problem(upload(api, "customers", csv_text(CUSTOMERS, bad), dry_run=True), 422)
    assert [(p["line"], p["field"]) for p in answer["problems"]] == [
        (3, "phone"), (4, "lon"), (5, "grade"), (6, "service_point_code"), (7, "phone")]
    assert "line 3" in answer["detail"]
    assert count(session, Customer, Customer.phone.like("13955550%")) == 0
    ok = upload(api, "customers", csv_text(CUSTOMERS, customer_rows()), dry_run=True)
    assert ok.status_code == 200 and ok.json == {"rows": 3, "valid": 3}


def test_customers_run_in_the_background_twice_changes_nothing_and_the_export_reimports(api, session):
    run = run_of(api, upload(api, "customers", csv_text(CUSTOMERS, customer_rows())))
    assert (run["kind"], run["total"], run["applied"], run["failed"]) == ("customers", 3, 3, 0)
    lin = session.scalar(select(Customer).where(Customer.phone == "13955550001"))
    hz01 = session.scalar(select(ServicePoint.id).where(ServicePoint.code == "HZ01"))
    assert (lin.name, lin.grade.value, lin.lat, lin.service_point_id, lin.locale) == (
        "Lin Yue", "vip", 30.25, hz01, "zh_CN")
    assert session.scalar(select(Customer.name).where(Customer.phone == "+8613955550003")) == '=HYPERLINK("x")'
    versions = dict(session.execute(select(Customer.phone, Customer.version)).all())

    again = run_of(api, upload(api, "customers", csv_text(CUSTOMERS, customer_rows())))
    assert (again["applied"], again["failed"]) == (3, 0)
    text = exported(api, "customers")
    lines = text.splitlines()
    assert lines[0] == CUSTOMERS
    assert "'=HYPERLINK" in text and "'+8613955550003" in text  # the one CSV helper guarded them
    assert_problem(api.get(f"{API}/customers/export", as_="reviewer"), 403)
    assert run_of(api, upload(api, "customers", text))["failed"] == 0
    session.expire_all()
    assert dict(session.execute(select(Customer.phone, Customer.version)).all()) == versions

    changed = run_of(api, upload(api, "customers", csv_text(CUSTOMERS, ["13955550002,Zhou Min,,5 New Road,,,,,"])))
    assert changed["applied"] == 1
    session.expire_all()
    zhou = session.scalar(select(Customer).where(Customer.phone == "13955550002"))
    assert (zhou.address, zhou.locale, zhou.version) == ("5 New Road", "en", versions["13955550002"] + 1)


# --- parts and the price list -------------------------------------------------------------------

PARTS = "sku,name,description,list_price,currency,is_consumable,warranty_covered,active,compatible_products"


def product_skus(session) -> list[str]:
    return list(session.scalars(select(Product.sku).order_by(Product.sku).limit(2)))


def test_parts_price_list_goes_through_the_catalogue_service_and_is_sealed(api, session):
    stored = session.scalar(select(Part).where(Part.active.is_(True)).order_by(Part.sku))
    first, second = product_skus(session)
    old_price = stored.list_price
    rows = [f"{stored.sku},,,{old_price + Decimal('10.50')},,,,,",
            f"IMP-FLT-01,Import filter,Sediment stage,45.00,CNY,true,false,true,{first};{second}",
            "IMP-FLT-02,Retired filter,,12,,yes,,false,"]
    bad = rows + ["IMP-FLT-03,No price,,,,,,,", "IMP-FLT-04,Minus,,-1,,,,,", "IMP-FLT-05,Wrong model,,3,,,,,NOPE-1",
                  "IMP-FLT-06,Dollars,,3,USD,,,,", f"{stored.sku},,,5,,,,,"]
    answer = assert_problem(upload(api, "parts", csv_text(PARTS, bad), dry_run=True), 422)
    assert [(p["line"], p["field"]) for p in answer["problems"]] == [
        (5, "list_price"), (6, "list_price"), (7, "compatible_products"), (8, "currency"), (9, "sku")]
    entries = count(session, LogEntry, LogEntry.kind == "stock.part_price")

    run = run_of(api, upload(api, "parts", csv_text(PARTS, rows)))
    assert (run["applied"], run["failed"]) == (3, 0)
    session.expire_all()
    assert session.get(Part, stored.id).list_price == old_price + Decimal("10.50")
    new = session.scalar(select(Part).where(Part.sku == "IMP-FLT-01"))
    assert (new.list_price, new.is_consumable, new.warranty_covered, new.compatible_products) == (
        Decimal("45.00"), True, False, sorted([first, second]))
    assert session.scalar(select(Part.active).where(Part.sku == "IMP-FLT-02")) is False
    assert count(session, LogEntry, LogEntry.kind == "stock.part_price") == entries + 4  # price, 2 new, deactivated

    api_part = api.get(f"/api/v1/parts/{new.id}", as_="tech.hz01.1").json  # what everyone reads
    assert Decimal(str(api_part["list_price"])) == Decimal("45.00")
    logged = count(session, LogEntry, LogEntry.kind == "stock.part_price")
    assert run_of(api, upload(api, "parts", csv_text(PARTS, rows)))["applied"] == 3
    text = exported(api, "parts", as_="reviewer")
    assert run_of(api, upload(api, "parts", text))["failed"] == 0
    assert count(session, LogEntry, LogEntry.kind == "stock.part_price") == logged  # no change, no entry


# --- technicians --------------------------------------------------------------------------------

TECHS = ("username,name,service_point_code,phone,hired_on,active,start_location,home_lat,home_lon,break_minutes,"
         "break_earliest,break_latest,skills,certifications,weekly_shifts")


def tech_rows(point: str = "HZ01", prefix: str = "imp") -> list[str]:
    cert = f"RO licence|water_purifier|{ISSUED}|{EXPIRES}"
    return [(f"{prefix}.one,Import One,{point},13800000001,{HIRED},true,point,,,30,11:30,13:00,"
             f"water_purifier:install;water_purifier:repair,{cert},0 08:30-17:30;1 08:30-17:30"),
            f"{prefix}.two,Import Two,{point},,{HIRED},,home,30.2,120.1,45,,,water_heater:maintenance,,2 09:00-18:00"]


def test_technicians_dry_run_problems_name_line_and_column(api, session):
    bad = tech_rows() + [
        f"imp.three,Three,HZ01,,{HIRED},,,,,,,,water_purifier:fly,,",
        f"imp.four,Four,HZ01,,{HIRED},,,,,,,,,RO|water_purifier|{EXPIRES}|{ISSUED},",
        f"imp.five,Five,HZ01,,{HIRED},,,,,,,,,,7 08:00-17:00",
        "imp.six,Six,HZ01,,not-a-day,,,,,,,,,,",
        f"imp.one,One again,HZ01,,{HIRED},,,,,,,,,,",
        f"imp.seven,Seven,NOPE,,{HIRED},,,,,,,,,,",
    ]
    answer = assert_problem(upload(api, "technicians", csv_text(TECHS, bad), dry_run=True), 422)
    assert [(p["line"], p["field"]) for p in answer["problems"]] == [
        (4, "skills"), (5, "certifications"), (6, "weekly_shifts"), (7, "hired_on"), (8, "username"),
        (9, "service_point_code")]
    assert count(session, User, User.username.like("imp.%")) == 0


def test_technicians_are_hired_through_the_service_and_a_rerun_and_the_export_change_nothing(api, session):
    run = run_of(api, upload(api, "technicians", csv_text(TECHS, tech_rows())))
    assert (run["kind"], run["applied"], run["failed"]) == ("technicians", 2, 0)
    one = session.scalar(select(Technician).join(User, User.id == Technician.user_id)
                         .where(User.username == "imp.one"))
    assert one.user.role.value == "technician" and one.user.service_point_id == one.service_point_id
    assert {(s.category.value, s.job_type.value) for s in one.skills} == {
        ("water_purifier", "install"), ("water_purifier", "repair")}
    assert [(c.name, c.expires_on) for c in one.certifications] == [("RO licence", EXPIRES)]
    assert [s.weekday for s in one.shifts] == [0, 1]
    listed = api.get("/api/v1/technicians/?q=Import", as_="manager.hz01").json
    assert {t["name"] for t in listed} >= {"Import One", "Import Two"}
    versions = dict(session.execute(select(Technician.id, Technician.version)).all())

    assert run_of(api, upload(api, "technicians", csv_text(TECHS, tech_rows())))["applied"] == 2
    text = exported(api, "technicians", as_="manager.hz01")
    assert all(",HZ01," in line for line in text.splitlines()[1:])  # a manager exports their own point
    assert run_of(api, upload(api, "technicians", text, as_="manager.hz01"), as_="manager.hz01")["failed"] == 0
    session.expire_all()
    assert dict(session.execute(select(Technician.id, Technician.version)).all()) == versions

    later = f"{EXPIRES + timedelta(days=1)}"
    moved = [(f"imp.two,Import Two,HZ01,,{HIRED},false,,,,,,,water_heater:maintenance,"
              f"WH licence|water_heater|{ISSUED}|{later},")]
    assert run_of(api, upload(api, "technicians", csv_text(TECHS, moved)))["applied"] == 1
    session.expire_all()
    two = session.scalar(select(Technician).join(User, User.id == Technician.user_id)
                         .where(User.username == "imp.two"))
    assert (two.active, two.user.is_active, [c.name for c in two.certifications]) == (False, False, ["WH licence"])


def test_a_refused_technician_row_writes_nothing_of_itself(api, session):
    """The second row passes the dry run but the service refuses it (its home needs a location;
    the username is an existing manager's): neither leaves an account or a profile behind."""
    rows = tech_rows() + [f"imp.three,Three,HZ01,,{HIRED},,home,,,,,,,,", f"manager.hz02,Taken,HZ01,,{HIRED},,,,,,,,,,"]
    run = run_of(api, upload(api, "technicians", csv_text(TECHS, rows)))
    assert (run["applied"], run["failed"]) == (2, 2)
    assert {(e["line"], e["field"]) for e in run["errors"]} == {(4, "home_lat"), (5, "username")}
    assert count(session, User, User.username == "imp.three") == 0
    assert session.scalar(select(User.role).where(User.username == "manager.hz02")).value == "manager"


def test_a_manager_imports_their_own_points_technicians_only(api, session):
    foreign = upload(api, "technicians", csv_text(TECHS, tech_rows("NB01", "nb")), dry_run=True, as_="manager.hz01")
    answer = assert_problem(foreign, 422)
    assert {(p["field"], p["reason"]) for p in answer["problems"]} == {("service_point_code", "no service point 'NB01'")}
    run = run_of(api, upload(api, "technicians", csv_text(TECHS, tech_rows("NB01", "nb")), as_="manager.hz01"),
                 as_="manager.hz01")
    assert (run["applied"], run["failed"]) == (0, 2)
    assert count(session, User, User.username.like("nb.%")) == 0
    nb_tech = session.scalar(select(User.username).where(User.username == "tech.nb01.1"))
    takeover = [f"{nb_tech},Stolen,HZ01,,{HIRED},,,,,,,,,,"]
    run = run_of(api, upload(api, "technicians", csv_text(TECHS, takeover), as_="manager.hz01"), as_="manager.hz01")
    assert run["errors"][0]["field"] == "username"
    theirs = run_of(api, upload(api, "technicians", csv_text(TECHS, tech_rows("NB01", "nb")), as_="manager.nb01"),
                    as_="manager.nb01")
    assert theirs["applied"] == 2
    assert_problem(api.get(f"{API}/{theirs['id']}", as_="manager.hz01"), 404)  # another point's run is not found
    assert theirs["id"] not in {r["id"] for r in api.get(f"{API}/", as_="manager.hz01").json}
    mine = {r["id"] for r in api.get(f"{API}/", as_="manager.hz01").json}
    assert mine and all(api.get(f"{API}/{r}", as_="manager.hz01").status_code == 200 for r in mine)


@pytest.mark.parametrize("kind", ["customers", "parts", "technicians"])
def test_point_roles_machine_scopes_and_customers_are_refused(api, app, session, kind):
    rows = {"customers": csv_text(CUSTOMERS, customer_rows()), "parts": csv_text(PARTS, ["IMP-X,X,,1,,,,,"]),
            "technicians": csv_text(TECHS, tech_rows())}[kind]
    refused = ["tech.hz01.1", "reviewer"] + (["manager.hz01"] if kind != "technicians" else [])
    for username in refused:
        assert_problem(upload(api, kind, rows, as_=username), 403)
        assert_problem(upload(api, kind, rows, dry_run=True, as_=username), 403)
    assert_problem(api.get(f"{API}/{kind}/export", as_="tech.hz01.1"), 403)
    customer = session.scalar(select(Customer).where(Customer.phone == "13900000000"))
    token = auth_service.customer_token(app.extensions["dispatch"].token_config, customer.id,
                                        customer.token_version, 600)
    answer = api.client.post(f"{API}/{kind}?dry_run=true", headers={"Authorization": f"Bearer {token}"},
                             content_type="multipart/form-data", data={"file": (io.BytesIO(rows.encode()), "x.csv")})
    assert answer.status_code in (401, 403)
    erp = api.post("/api/v1/clients", as_="admin", json={"name": "ERP", "scopes": ["units:import"]}).json
    grant = api.client.post("/api/v1/oauth/token", data={"grant_type": "client_credentials",
                                                         "client_id": erp["client_id"],
                                                         "client_secret": erp["client_secret"]}).json
    machine = api.client.post(f"{API}/{kind}?dry_run=true", headers={"Authorization": f"Bearer {grant['access_token']}"},
                              content_type="multipart/form-data", data={"file": (io.BytesIO(rows.encode()), "x.csv")})
    assert_problem(machine, 403)  # units:import does not name this shape


# --- XLSX ---------------------------------------------------------------------------------------


def test_xlsx_rows_are_numbered_as_in_the_sheet_and_formulas_are_refused(api, session):
    header = CUSTOMERS.split(",")
    sheet = xlsx([header, [13955550101, "Typed Number", None, "Road", 30.5, 120.5, "standard", "HZ01", None],
                  [],
                  ["13955550102", "=CONCAT(\"a\",\"b\")", None, None, None, None, None, None, None],
                  ["13955550103", "Ok Name", None, None, None, None, "=IF(1,\"vip\",\"\")", None, None]])
    answer = assert_problem(upload(api, "customers", sheet, dry_run=True), 422)
    assert [(p["line"], p["field"]) for p in answer["problems"]] == [(4, "name"), (5, "grade")]
    assert "formula" in answer["problems"][0]["reason"]
    good = xlsx([header, [13955550101, "Typed Number", None, "Road", 30.5, 120.5, "standard", "HZ01", None]])
    run = run_of(api, upload(api, "customers", good))
    assert (run["file_format"], run["applied"]) == ("xlsx", 1)
    assert session.scalar(select(Customer.lat).where(Customer.phone == "13955550101")) == 30.5
    assert_problem(upload(api, "customers", b"PK\x03\x04 not a zip", dry_run=True), 422, field="file")


@pytest.mark.parametrize("kind", ["units", "customers", "parts", "technicians"])
def test_the_xlsx_export_reimports_as_a_no_op(api, session, kind):
    model = {"units": Unit, "customers": Customer, "parts": Part, "technicians": Technician}[kind]
    versions = dict(session.execute(select(model.id, model.version)).all())
    response = api.get(f"{API}/{kind}/export?format=xlsx", as_="admin")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    book = openpyxl.load_workbook(io.BytesIO(response.data), read_only=True)
    rows = list(book.active.iter_rows(values_only=True))
    assert len(rows) > 1 and all(cell is None or not str(cell).startswith("'") for row in rows for cell in row)
    run = run_of(api, upload(api, kind, response.data))
    assert (run["failed"], run["applied"]) == (0, len(rows) - 1), run["errors"][:3]
    session.expire_all()
    assert dict(session.execute(select(model.id, model.version)).all()) == versions
