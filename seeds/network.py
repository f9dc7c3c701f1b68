"""Demo network: HQ accounts, 3 cities split into 12 districts, 7 service points (one suspended),
their managers and technicians, the product catalogue, customers and units."""

from __future__ import annotations

import random
from datetime import date, time, timedelta
from typing import Any

from sqlalchemy import select

from dispatch.auth.models import Role, User
from dispatch.auth.service import hash_password
from dispatch.clock import utcnow
from dispatch.network.models import (
    Activation,
    AuthorisationChange,
    AuthorisationStatus,
    Certification,
    Coverage,
    Customer,
    CustomerGrade,
    JobType,
    Product,
    ProductCategory,
    Region,
    RegionLevel,
    ServicePoint,
    Skill,
    StartLocation,
    Technician,
    Unit,
    WeeklyShift,
)
from seeds import DEMO_PASSWORD, SeedContext

# province code, province name, city code, city name, (lat, lon) of the south-west corner,
# and the four districts (SW, SE, NW, NE cells of a 2 x 2 grid of ~11 km cells).
CITIES = [
    ("ZJ", "Zhejiang", "ZJ-HZ", "Hangzhou", (30.20, 120.08),
     [("ZJ-HZ-XH", "Xihu"), ("ZJ-HZ-SC", "Shangcheng"), ("ZJ-HZ-GS", "Gongshu"), ("ZJ-HZ-BJ", "Binjiang")]),
    ("ZJ", "Zhejiang", "ZJ-NB", "Ningbo", (29.80, 121.48),
     [("ZJ-NB-HS", "Haishu"), ("ZJ-NB-YZ", "Yinzhou"), ("ZJ-NB-JB", "Jiangbei"), ("ZJ-NB-ZH", "Zhenhai")]),
    ("JS", "Jiangsu", "JS-SZ", "Suzhou", (31.24, 120.54),
     [("JS-SZ-HQ", "Huqiu"), ("JS-SZ-GS", "Gusu"), ("JS-SZ-XC", "Xiangcheng"), ("JS-SZ-WZ", "Wuzhong")]),
]
CELL_LAT, CELL_LON = 0.10, 0.115

# code, name, city index, district indexes covered (both categories), technicians, status
POINTS = [
    ("HZ01", "Hangzhou West Service Centre", 0, (0, 2), 5, AuthorisationStatus.ACTIVE),
    ("HZ02", "Hangzhou East Service Centre", 0, (1, 3), 4, AuthorisationStatus.ACTIVE),
    ("NB01", "Ningbo South Service Centre", 1, (0, 1), 6, AuthorisationStatus.ACTIVE),
    ("NB02", "Ningbo North Service Centre", 1, (2, 3), 5, AuthorisationStatus.ACTIVE),
    ("SZ01", "Suzhou West Service Centre", 2, (0, 2), 4, AuthorisationStatus.ACTIVE),
    ("SZ02", "Suzhou East Service Centre", 2, (1, 3), 6, AuthorisationStatus.ACTIVE),
    ("SZ03", "Suzhou Lakeside Repairs (suspended)", 2, (1,), 4, AuthorisationStatus.SUSPENDED),
]

PRODUCTS = [
    ("WP-RO500", "AquaPure RO-500 under-sink purifier", ProductCategory.WATER_PURIFIER, 24, 180,
     {"install": 90, "repair": 60, "maintenance": 30}),
    ("WP-RO800", "AquaPure RO-800 tankless purifier", ProductCategory.WATER_PURIFIER, 36, 180,
     {"install": 100, "repair": 60, "maintenance": 35}),
    ("WP-UF300", "AquaPure UF-300 ultrafiltration purifier", ProductCategory.WATER_PURIFIER, 12, 365,
     {"install": 60, "repair": 45, "maintenance": 25}),
    ("WH-EH60", "HeatWell EH-60 electric water heater 60 L", ProductCategory.WATER_HEATER, 36, 365,
     {"install": 120, "repair": 75, "maintenance": 45}),
    ("WH-GH16", "HeatWell GH-16 gas instant water heater", ProductCategory.WATER_HEATER, 24, 365,
     {"install": 150, "repair": 90, "maintenance": 60}),
]

SURNAMES = ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Zhao", "Huang", "Zhou", "Wu", "Xu", "Sun",
            "Hu", "Zhu", "Gao", "Lin", "He", "Guo", "Ma", "Luo"]
GIVEN = ["Wei", "Fang", "Na", "Min", "Jing", "Lei", "Qiang", "Yan", "Jun", "Yong", "Jie", "Tao", "Ming",
         "Chao", "Xia", "Ping", "Gang", "Hui", "Ying", "Bo"]
STREETS = ["Wensan Rd", "Moganshan Rd", "Jiefang Rd", "Zhongshan Rd", "Renmin Rd", "Xueyuan Rd",
           "Yan'an Rd", "Qingchun Rd", "Fengqi Rd", "Tianmushan Rd"]


def _grid(origin: tuple[float, float], rng) -> list[list[tuple[float, float]]]:
    """3 x 3 jittered vertices (lat, lon); shared by neighbouring cells, so no gaps or overlaps."""
    lat0, lon0 = origin
    return [[(lat0 + i * CELL_LAT + rng.uniform(-0.012, 0.012) * (0 < i < 2),
              lon0 + j * CELL_LON + rng.uniform(-0.012, 0.012) * (0 < j < 2))
             for j in range(3)] for i in range(3)]


def _cell(grid, index: int) -> list[tuple[float, float]]:
    i, j = divmod(index, 2)  # 0 SW, 1 SE, 2 NW, 3 NE
    return [grid[i][j], grid[i][j + 1], grid[i + 1][j + 1], grid[i + 1][j]]


def _polygon(corners: list[tuple[float, float]]) -> dict[str, Any]:
    ring = [[round(lon, 6), round(lat, 6)] for lat, lon in corners]
    return {"type": "Polygon", "coordinates": [ring + [ring[0]]]}


def point_in_cell(corners, rng) -> tuple[float, float]:
    """A random point inside the quadrilateral (bilinear interpolation, kept off the edges)."""
    u, v = rng.uniform(0.05, 0.95), rng.uniform(0.05, 0.95)
    (a_lat, a_lon), (b_lat, b_lon), (c_lat, c_lon), (d_lat, d_lon) = corners
    lat = (1 - u) * (1 - v) * a_lat + u * (1 - v) * b_lat + u * v * c_lat + (1 - u) * v * d_lat
    lon = (1 - u) * (1 - v) * a_lon + u * (1 - v) * b_lon + u * v * c_lon + (1 - u) * v * d_lon
    return round(lat, 6), round(lon, 6)


class _Adder:
    """Looks rows up by natural key; adds only what is missing; counts what it added."""

    def __init__(self, session) -> None:
        self.session = session
        self.added: dict[str, int] = {}

    def get_or_add(self, model, key: dict[str, Any], **values):
        row = self.session.scalar(select(model).filter_by(**key))
        if row is None:
            row = model(**key, **values)
            self.session.add(row)
            self.session.flush()
            self.added[model.__tablename__] = self.added.get(model.__tablename__, 0) + 1
        return row


def seed(ctx: SeedContext) -> dict[str, int]:
    session, rng, today = ctx.session, ctx.rng, ctx.today
    add = _Adder(session)
    password_hash = None

    def user(username: str, role: Role, point_id=None, full_name: str = "") -> User:
        nonlocal password_hash
        existing = session.scalar(select(User).where(User.username == username))
        if existing is not None:
            return existing
        password_hash = password_hash or hash_password(DEMO_PASSWORD, ctx.settings.password_hash_method)
        return add.get_or_add(User, {"username": username}, password_hash=password_hash, role=role,
                              service_point_id=point_id, full_name=full_name)

    user("admin", Role.ADMIN, full_name="HQ Administrator")
    user("reviewer", Role.REVIEWER, full_name="HQ Quality Reviewer")
    user("reviewer2", Role.REVIEWER, full_name="HQ Second Reviewer")

    districts: list[list[Region]] = []
    cells: dict[str, list[tuple[float, float]]] = {}
    for province_code, province_name, city_code, city_name, origin, names in CITIES:
        province = add.get_or_add(Region, {"code": province_code}, name=province_name, level=RegionLevel.PROVINCE)
        city = add.get_or_add(Region, {"code": city_code}, name=city_name, level=RegionLevel.CITY,
                              parent_id=province.id)
        grid = _grid(origin, rng)
        row = []
        for index, (code, name) in enumerate(names):
            corners = _cell(grid, index)
            cells[code] = corners
            row.append(add.get_or_add(Region, {"code": code}, name=name, level=RegionLevel.DISTRICT,
                                      parent_id=city.id, boundary=_polygon(corners)))
        districts.append(row)
    ctx.cache["district_cells"] = cells

    products = {sku: add.get_or_add(Product, {"sku": sku}, name=name, category=category, warranty_months=months,
                                    maintenance_interval_days=interval, standard_minutes=minutes)
                for sku, name, category, months, interval, minutes in PRODUCTS}

    admin = session.scalar(select(User).where(User.username == "admin"))
    now = utcnow()
    # Dates relative to the day the demo is loaded, so it reads the same in any year.
    authorised_from, authorised_until = today - timedelta(days=600), date(today.year + 1, 12, 31)
    technicians: list[Technician] = []
    serving: dict[str, Any] = {}  # district code -> id of the active point serving it
    for code, name, city_index, covered, n_techs, status in POINTS:
        rng = random.Random(code)  # values depend on the natural key only: reruns match
        corners = cells[CITIES[city_index][5][covered[0]][0]]
        lat, lon = point_in_cell(corners, rng)
        point = session.scalar(select(ServicePoint).where(ServicePoint.code == code))
        if point is None:
            point = add.get_or_add(
                ServicePoint, {"code": code}, name=name, address=f"{rng.randint(1, 399)} {rng.choice(STREETS)}",
                lat=lat, lon=lon, contact_name=f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}",
                contact_phone=f"0571-{rng.randint(8000000, 8999999)}", status=status,
                valid_from=authorised_from, valid_until=authorised_until,
                categories=[c.value for c in ProductCategory], job_types=[t.value for t in JobType],
            )
            for region_index in covered:
                for category in ProductCategory:
                    session.add(Coverage(service_point_id=point.id, region_id=districts[city_index][region_index].id,
                                         category=category))
            session.add(AuthorisationChange(service_point_id=point.id, from_status=AuthorisationStatus.PENDING,
                                            to_status=AuthorisationStatus.ACTIVE, valid_from=authorised_from,
                                            valid_until=authorised_until, reason="demo: initial authorisation",
                                            actor_id=admin.id, at=now - timedelta(days=600)))
            if status == AuthorisationStatus.SUSPENDED:
                session.add(AuthorisationChange(service_point_id=point.id, from_status=AuthorisationStatus.ACTIVE,
                                                to_status=AuthorisationStatus.SUSPENDED,
                                                reason="demo: repeated SOP violations found in spot-checks",
                                                actor_id=admin.id, at=now - timedelta(days=20)))
        if status == AuthorisationStatus.ACTIVE:
            serving |= {CITIES[city_index][5][i][0]: point.id for i in covered}
        user(f"manager.{code.lower()}", Role.MANAGER, point.id, full_name=f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}")
        for n in range(1, n_techs + 1):
            username = f"tech.{code.lower()}.{n}"
            rng = random.Random(username)
            account = user(username, Role.TECHNICIAN, point.id)
            tech = session.scalar(select(Technician).where(Technician.user_id == account.id))
            if tech is None:
                from_home = n % 3 == 0
                home = point_in_cell(corners, rng) if from_home else (None, None)
                tech = add.get_or_add(
                    Technician, {"user_id": account.id}, service_point_id=point.id,
                    name=f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}", phone=f"139{rng.randint(10000000, 99999999)}",
                    hired_on=today - timedelta(days=12) if (code, n) == ("HZ02", 4) else date(2023, 3, 1) + timedelta(days=37 * n),
                    start_location=StartLocation.HOME if from_home else StartLocation.POINT,
                    home_lat=home[0], home_lon=home[1],
                    # lunch floats in this window: the planner puts it where it costs least
                    break_earliest=time(11, 0), break_latest=time(13, 30),
                )
                heater_skilled = n % 2 == 1 or n_techs <= 4
                for category in ProductCategory:
                    if category == ProductCategory.WATER_HEATER and not heater_skilled:
                        continue
                    for job_type in JobType:
                        session.add(Skill(technician_id=tech.id, category=category, job_type=job_type))
                    expired = (code, n, category) == ("NB01", 3, ProductCategory.WATER_HEATER)
                    session.add(Certification(
                        technician_id=tech.id, name=f"{category.value.replace('_', ' ').title()} service certificate",
                        category=category, issued_on=today - timedelta(days=522),
                        expires_on=today - timedelta(days=158) if expired else today + timedelta(days=573),
                    ))
                for weekday in range(5):
                    session.add(WeeklyShift(technician_id=tech.id, weekday=weekday, start=time(8, 30), end=time(17, 30)))
                if n % 2 == 0:
                    session.add(WeeklyShift(technician_id=tech.id, weekday=5, start=time(9, 0), end=time(15, 0)))
            technicians.append(tech)

    # Customers and units: ~25 customers per district, half of them with an activated purifier or heater.
    serial_no = 0
    for city_index, (_, _, _, _, _, names) in enumerate(CITIES):
        for district_index, (code, _) in enumerate(names):
            for k in range(25):
                rng = random.Random(f"{code}:{k}")
                phone = f"138{city_index}{district_index}{k:02d}{rng.randint(1000, 9999)}"
                lat, lon = point_in_cell(cells[code], rng)
                customer = session.scalar(select(Customer).where(Customer.phone == phone))
                if customer is None:
                    customer = add.get_or_add(
                        Customer, {"phone": phone}, name=f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}",
                        address=f"{rng.randint(1, 999)} {rng.choice(STREETS)}, {code}", lat=lat, lon=lon,
                        grade=CustomerGrade.VIP if k % 9 == 0 else CustomerGrade.STANDARD,
                        service_point_id=serving[code],  # the point that first served them
                    )
                serial_no += 1
                sku = list(products)[serial_no % len(products)]
                serial = f"{sku.split('-')[1][:2]}{2025 if k % 3 else 2024}{serial_no:07d}"
                manufactured = date(2024 + (k % 3 != 0), 1 + serial_no % 12, 1 + serial_no % 27)
                unit = session.scalar(select(Unit).where(Unit.serial == serial))
                if unit is None:
                    unit = add.get_or_add(Unit, {"serial": serial}, product_id=products[sku].id,
                                          manufactured_on=manufactured)
                    if k % 2 == 0:
                        purchased = max(manufactured + timedelta(days=30), today - timedelta(days=40 + 23 * k))
                        activated_at = now - timedelta(days=(today - purchased).days)
                        unit.customer_id, unit.purchased_on = customer.id, purchased
                        unit.sales_channel, unit.activated_at = rng.choice(["retail", "online", "installer"]), activated_at
                        session.add(Activation(unit_id=unit.id, customer_id=customer.id, purchased_on=purchased,
                                               sales_channel=unit.sales_channel, activated_at=activated_at,
                                               actor_id=admin.id, reason="demo: warranty card"))
    ctx.cache["technicians"] = technicians
    return add.added
