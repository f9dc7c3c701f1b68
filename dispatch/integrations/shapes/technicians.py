"""Technicians and their login accounts, by username (the account's name, unique).

A new username hires a technician through ``create_technician`` (the profile and its account in
one transaction, at the point named by its code); a known one is changed through
``update_technician`` with only the fields that differ, and certifications the file names that
the technician lacks are added through ``add_certification`` (an import removes none). HQ
imports any point's technicians; a point's manager only their own point's (another point's code
reads as unknown, another point's technician as a taken username). An empty cell leaves the
stored value as it is.

A new account gets a random password nobody knows: files are stored, so passwords never travel
in them. Cells holding lists:

* ``skills``: ``category:job_type`` pairs separated by ``;`` (``water_purifier:install``);
* ``certifications``: ``name|category|issued_on|expires_on`` separated by ``;``;
* ``weekly_shifts``: ``weekday HH:MM-HH:MM`` separated by ``;`` (weekday 0 is Monday).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from dispatch.auth.enums import Role
from dispatch.auth.models import User
from dispatch.auth.principal import Principal
from dispatch.errors import ValidationFailed
from dispatch.integrations.enums import ImportKind
from dispatch.integrations.shapes.base import (
    Applying,
    Shape,
    a_bool,
    a_date,
    a_number,
    a_time,
    changes,
    items,
    one_of,
    point_of,
    text,
)
from dispatch.network import technicians
from dispatch.network.enums import JobType, ProductCategory, StartLocation
from dispatch.network.models import ServicePoint, Technician

COLUMNS = ("username", "name", "service_point_code", "phone", "hired_on", "active", "start_location", "home_lat",
           "home_lon", "break_minutes", "break_earliest", "break_latest", "skills", "certifications",
           "weekly_shifts")
REQUIRED = ("username", "name", "service_point_code", "hired_on")
LISTS = ("skills", "weekly_shifts")  # compared as sets, not as attributes
USERNAME_CHARACTERS = set("abcdefghijklmnopqrstuvwxyz0123456789._-")


@dataclass
class TechnicianRow:
    username: str
    values: dict[str, Any]
    certifications: list[dict[str, Any]]


def context(session: Session, actor: Principal, today: date) -> tuple[Principal, dict[str, Any]]:
    return actor, {p.code: p for p in session.scalars(select(ServicePoint))}


def parse(ctx: tuple[Principal, dict[str, Any]], v: dict[str, str]) -> TechnicianRow:
    actor, points = ctx
    username = v["username"]
    if not 3 <= len(username) <= 64 or not set(username.lower()) <= USERNAME_CHARACTERS:
        raise ValidationFailed("username", "3 to 64 letters, digits, dots, dashes or underscores")
    values: dict[str, Any] = {"name": text(v, "name", max_length=120), "hired_on": a_date(v, "hired_on"),
                              "service_point_id": point_of(points, actor, v["service_point_code"]).id}
    if v.get("phone"):
        values["phone"] = text(v, "phone", max_length=40)
    if (active := a_bool(v, "active")) is not None:
        values["active"] = active
    if v.get("start_location"):
        values["start_location"] = one_of(v, "start_location", StartLocation)
    lat, lon = a_number(v, "home_lat", low=-90, high=90), a_number(v, "home_lon", low=-180, high=180)
    if (lat is None) != (lon is None):
        raise ValidationFailed("home_lon" if lon is None else "home_lat", "give both home_lat and home_lon")
    if lat is not None:
        values["home_lat"], values["home_lon"] = lat, lon
    if (minutes := a_number(v, "break_minutes", low=0, high=180, whole=True)) is not None:
        values["break_minutes"] = minutes
    earliest, latest = a_time(v, "break_earliest"), a_time(v, "break_latest")
    if (earliest is None) != (latest is None) or (earliest and latest and earliest > latest):
        raise ValidationFailed("break_latest", "give both break_earliest and break_latest, earliest first")
    if earliest is not None:
        values["break_earliest"], values["break_latest"] = earliest, latest
    if v.get("skills"):
        values["skills"] = _skills(items(v, "skills"))
    if v.get("weekly_shifts"):
        values["weekly_shifts"] = _shifts(items(v, "weekly_shifts"))
    return TechnicianRow(username, values, _certifications(items(v, "certifications")))


def _skills(cells: list[str]) -> list[dict[str, str]]:
    skills = set()
    for cell in cells:
        category, _, job_type = cell.partition(":")
        try:
            skills.add((ProductCategory(category.strip()), JobType(job_type.strip())))
        except ValueError:
            raise ValidationFailed("skills", f"{cell!r} is not category:job_type (e.g. water_purifier:install)") \
                from None
    return [{"category": c, "job_type": t} for c, t in sorted(skills)]


def _shifts(cells: list[str]) -> list[dict[str, Any]]:
    shifts = []
    for cell in cells:
        day, _, span = cell.partition(" ")
        start, _, end = span.strip().partition("-")
        try:
            shift = {"weekday": int(day), "start": a_time({"t": start.strip()}, "t"),
                     "end": a_time({"t": end.strip()}, "t")}
        except (ValueError, ValidationFailed):
            shift = {}
        if not shift or not 0 <= shift["weekday"] <= 6 or shift["start"] is None or shift["end"] is None:
            raise ValidationFailed("weekly_shifts", f"{cell!r} is not 'weekday HH:MM-HH:MM' (weekday 0-6)")
        shifts.append(shift)
    return shifts


def _certifications(cells: list[str]) -> list[dict[str, Any]]:
    found = []
    for cell in cells:
        parts = [part.strip() for part in cell.split("|")]
        try:
            name, category, issued, expires = parts
            item = {"name": name, "category": ProductCategory(category), "issued_on": date.fromisoformat(issued),
                    "expires_on": date.fromisoformat(expires)}
        except ValueError:
            raise ValidationFailed("certifications", f"{cell!r} is not name|category|issued_on|expires_on") from None
        if not name or len(name) > 120 or item["expires_on"] < item["issued_on"]:
            raise ValidationFailed("certifications", f"{cell!r}: a name, and expires_on not before issued_on")
        found.append(item)
    return found


def _certificate_key(item: Any) -> tuple:
    get = item.get if isinstance(item, dict) else lambda name: getattr(item, name)
    return get("name"), ProductCategory(get("category")), get("issued_on"), get("expires_on")


def apply_row(session: Session, applying: Applying, row: TechnicianRow) -> None:
    account = session.scalar(select(User.id).where(User.username == row.username))
    if account is None:
        hired = technicians.create_technician(
            applying.uow(session), applying.actor, hash_method=applying.hash_method, username=row.username,
            password=secrets.token_urlsafe(24), certifications=row.certifications,
            **{k: v for k, v in row.values.items() if k != "active"})
        if row.values.get("active") is False:
            technicians.update_technician(applying.uow(session), applying.actor, hired.id, active=False)
        return
    stored = session.scalar(select(Technician).options(
        selectinload(Technician.skills), selectinload(Technician.shifts), selectinload(Technician.certifications))
        .where(Technician.user_id == account))
    if stored is None or not applying.actor.sees_point(stored.service_point_id):
        raise ValidationFailed("username", f"{row.username!r} is taken by another account")
    differ = changes(stored, {k: v for k, v in row.values.items() if k not in LISTS}, pairs=(("home_lat", "home_lon"),))
    differ |= {name: value for name, value in row.values.items() if name in LISTS and _differs(stored, name, value)}
    if differ:
        technicians.update_technician(applying.uow(session), applying.actor, stored.id, **differ)
    held = {_certificate_key(c) for c in stored.certifications}
    for item in row.certifications:
        if _certificate_key(item) not in held:
            technicians.add_certification(applying.uow(session), applying.actor, stored.id, **item)
            held.add(_certificate_key(item))


def _differs(stored: Technician, name: str, value: Any) -> bool:
    if name == "skills":
        return {(s.category, s.job_type) for s in stored.skills} != {(s["category"], s["job_type"]) for s in value}
    return [(s.weekday, s.start, s.end) for s in stored.shifts] != sorted(
        (s["weekday"], s["start"], s["end"]) for s in value)


def export(session: Session, actor: Principal) -> Iterator[list[Any]]:
    codes = dict(session.execute(select(ServicePoint.id, ServicePoint.code)).all())
    query = (select(Technician, User.username).join(User, User.id == Technician.user_id)
             .options(selectinload(Technician.skills), selectinload(Technician.shifts),
                      selectinload(Technician.certifications)).order_by(User.username))
    if not actor.is_hq:
        query = query.where(Technician.service_point_id == actor.service_point_id)
    for t, username in session.execute(query.execution_options(yield_per=1000)):
        yield [username, t.name, codes[t.service_point_id], t.phone, t.hired_on.isoformat(),
               "true" if t.active else "false", t.start_location.value, _blank(t.home_lat), _blank(t.home_lon),
               t.break_minutes, _clock(t.break_earliest), _clock(t.break_latest),
               ";".join(f"{s.category.value}:{s.job_type.value}" for s in sorted(
                   t.skills, key=lambda s: (s.category.value, s.job_type.value))),
               ";".join(f"{c.name}|{c.category.value}|{c.issued_on}|{c.expires_on}" for c in t.certifications),
               ";".join(f"{s.weekday} {_clock(s.start)}-{_clock(s.end)}" for s in t.shifts)]


def _blank(value: Any) -> Any:
    return "" if value is None else value


def _clock(value: Any) -> str:
    return "" if value is None else value.isoformat(timespec="minutes")


SHAPE = Shape(
    kind=ImportKind.TECHNICIANS, columns=COLUMNS, required=REQUIRED, key="username",
    importers=frozenset({Role.ADMIN, Role.MANAGER}), exporters=frozenset({Role.ADMIN, Role.REVIEWER, Role.MANAGER}),
    context=context, parse=parse, key_of=lambda row: row.username, export=export, apply_row=apply_row,
    fields={"service_point_id": "service_point_code", "home_location": "home_lat"}, point_scoped=True,
)
