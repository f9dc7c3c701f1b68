"""HQ's pages: the network (regions on a map, points and their authorisations), KPIs with trend
charts and a CSV download, and the audit log's verification."""

from __future__ import annotations

from datetime import date, timedelta

from flask import render_template, request

from dispatch.api.console import charts
from dispatch.api.console.i18n import gettext
from dispatch.api.console.web import bp, principal, today
from dispatch.api.deps import settings, unit_of_work
from dispatch.api.kpis import kpi_csv
from dispatch.audit_log import verification
from dispatch.kpis import service as kpis
from dispatch.network import regions, service_points

TREND_WEEKS = 8


@bp.route("/network")
def network():
    me, tz = principal(), settings().timezone
    points, _ = service_points.list_service_points(unit_of_work(), me, offset=0, limit=200)
    districts, _ = regions.list_regions(unit_of_work(), me, offset=0, limit=500)
    return render_template("console/network.html", points=points, regions=districts,
                           map=charts.network_map(districts, points, gettext("Regions")), nav="network")


def _period() -> tuple[date, date]:
    try:
        date_to = date.fromisoformat(request.args.get("to", "")) if request.args.get("to") else today()
        date_from = (date.fromisoformat(request.args["from"]) if request.args.get("from")
                     else date_to - timedelta(days=29))
    except ValueError:
        date_to = today()
        date_from = date_to - timedelta(days=29)
    return date_from, date_to


@bp.route("/kpis")
def kpi_page():
    me, tz = principal(), settings().timezone
    date_from, date_to = _period()
    report = kpis.kpi_report(unit_of_work(), me, date_from=date_from, date_to=date_to, tz=tz)
    weeks = []
    for back in range(TREND_WEEKS - 1, -1, -1):
        end = date_to - timedelta(days=7 * back)
        weekly = kpis.kpi_report(unit_of_work(), me, date_from=end - timedelta(days=6), date_to=end, tz=tz)
        weeks.append((end.strftime("%m-%d"), weekly.kpis))
    trends = {
        "sla_compliance": charts.trend([(w, k.sla_compliance) for w, k in weeks], gettext("SLA compliance")),
        "first_time_fix_rate": charts.trend([(w, k.first_time_fix_rate) for w, k in weeks],
                                            gettext("First-time fix rate")),
        "jobs_done": charts.trend([(w, float(k.jobs_done)) for w, k in weeks], gettext("Jobs done"), percent=False),
    }
    return render_template("console/kpis.html", report=report, trends=trends, weeks=weeks,
                           date_from=date_from, date_to=date_to, nav="kpis")


@bp.route("/kpis.csv")
def kpi_download():
    date_from, date_to = _period()
    report = kpis.kpi_report(unit_of_work(), principal(), date_from=date_from, date_to=date_to,
                             tz=settings().timezone)
    return kpi_csv(report)


@bp.route("/audit-log")
def audit_log_page():
    result = None
    if request.args.get("verify"):
        result = verification.verify_chain(unit_of_work(), principal(), secret=settings().secret_key)
    return render_template("console/audit_log.html", result=result, nav="audit_log")
