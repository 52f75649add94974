"""The monthly report: one printable page of a branch's month (/kpi/report/?month=YYYY-MM).

A branch head reads their own branch; a regional head any branch of their region with
`?branch=CODE` (without it, a list of the branches to choose from). Every table downloads as
CSV or XLSX (`?export=<slug>&format=csv|xlsx`, same month and branch); the page prints to A4
from the browser (static/css/kpi-print.css; the print button is static/js/kpi-print.js).
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext as _

from accounts.access import reader_required
from accounts.models import Branch, Role
from accounts.timeutil import branch_today

from .. import selectors
from ..definitions import metric_label
from ..periods import parse_month, previous_month
from ..tables import EXPORT_FORMATS, Column, Table, export_response, format_value
from .dashboard import nav_links


def _unit_label(unit: str) -> str:
    labels = {
        "share": _("share (0–1)"),
        "seconds": _("seconds"),
        "hours": _("hours"),
        "minutes": _("minutes"),
        "count": _("count"),
        "score": _("score"),
        "rate": _("per hour"),
    }
    return labels.get(unit, unit)


def figures_table(title: str, slug: str, figures: list[dict[str, Any]]) -> Table:
    """KPIs of mixed units, one per row: the download carries plain numbers and a unit column
    (a spreadsheet can sum them); the page formats each row by its own unit."""
    columns = [
        Column("label", _("Figure"), "text"),
        Column("unit", _("Unit"), "text"),
        Column("value", _("This month"), "text"),
        Column("target", _("Target"), "text"),
        Column("previous", _("Previous month"), "text"),
        Column("change", _("Change"), "text"),
    ]
    rows = [
        {
            "label": metric_label(figure["key"]),
            "unit": _unit_label(figure["metric"].unit),
            "value": figure["value"],
            "target": figure["target"],
            "previous": figure["previous"],
            "change": figure["change"],
        }
        for figure in figures
    ]
    return Table(title=title, columns=columns, rows=rows, slug=slug)


def figures_display(figures: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for figure in figures:
        unit = figure["metric"].unit
        change = figure["change"]
        if change is None:
            change_text = "—"
        else:
            magnitude = format_value(abs(change), unit)
            change_text = f"+{magnitude}" if change > 0 else f"−{magnitude}" if change < 0 else "±0"
        better = None
        if change:
            better = (change > 0) == figure["metric"].higher_is_better
        rows.append(
            {
                "label": metric_label(figure["key"]),
                "value": format_value(figure["value"], unit),
                "target": format_value(figure["target"], unit),
                "previous": format_value(figure["previous"], unit),
                "change": change_text,
                "better": better,
                "meets_target": figure["meets_target"],
            }
        )
    return rows


def services_table(rows: list[dict[str, Any]]) -> Table:
    columns = [
        Column("name", _("Service"), "text"),
        Column("customers", metric_label("customers"), "count"),
        Column("served", metric_label("served"), "count"),
        Column("avg_wait_s", metric_label("avg_wait_s"), "seconds"),
        Column("p90_wait_s", metric_label("p90_wait_s"), "seconds"),
        Column("within_target_share", metric_label("within_target_share"), "share"),
        Column("avg_handle_s", metric_label("avg_handle_s"), "seconds"),
        Column("over_standard_share", metric_label("over_standard_share"), "share"),
        Column("resolution_rate", metric_label("resolution_rate"), "share"),
        Column("error_rate", metric_label("error_rate"), "share"),
        Column("csat_avg", metric_label("csat_avg"), "score"),
    ]
    return Table(
        title=_("By service"), columns=columns, rows=_kpi_rows(rows, columns), slug="services"
    )


def tellers_table(rows: list[dict[str, Any]]) -> Table:
    columns = [
        Column("name", _("Teller"), "text"),
        Column("served", metric_label("served"), "count"),
        Column("avg_handle_s", metric_label("avg_handle_s"), "seconds"),
        Column("over_standard_share", metric_label("over_standard_share"), "share"),
        Column("utilisation", metric_label("utilisation"), "share"),
        Column("customers_per_teller_hour", metric_label("customers_per_teller_hour"), "rate"),
        Column("resolution_rate", metric_label("resolution_rate"), "share"),
        Column("errors", metric_label("errors"), "count"),
        Column("error_rate", metric_label("error_rate"), "share"),
        Column("control_points_missed", metric_label("control_points_missed"), "count"),
        Column("csat_avg", metric_label("csat_avg"), "score"),
    ]
    return Table(
        title=_("By teller"), columns=columns, rows=_kpi_rows(rows, columns), slug="tellers"
    )


def errors_table(rows: list[dict[str, Any]]) -> Table:
    columns = [
        Column("category", _("Error category"), "text"),
        Column("errors", metric_label("errors"), "count"),
        Column("error_rate", _("Errors per customer served"), "share"),
    ]
    return Table(title=_("Top error categories"), columns=columns, rows=rows, slug="errors")


def _kpi_rows(rows: list[dict[str, Any]], columns: list[Column]) -> list[dict[str, Any]]:
    return [
        {
            column.key: row["name"] if column.key == "name" else row["kpis"].get(column.key)
            for column in columns
        }
        for row in rows
    ]


def report_tables(report: dict[str, Any]) -> dict[str, Table]:
    summaries = report["summaries"]
    return {
        "headline": figures_table(_("Headline"), "headline", report["headline"]),
        "services": services_table(report["services"]),
        "tellers": tellers_table(report["tellers"]),
        "errors": errors_table(report["errors"]),
        "complaints": figures_table(_("Complaints"), "complaints", summaries["complaints"]),
        "survey": figures_table(_("Customer survey"), "survey", summaries["survey"]),
        "care": figures_table(_("Appointments, reminders and alerts"), "care", summaries["care"]),
    }


def _branch_for(request: HttpRequest) -> Branch | None:
    """The branch to report on: ?branch=CODE among the readable ones (else 404); without it
    the user's own branch if they head it, else the only readable one, else None (choose)."""
    readable: list[Branch] = request.readable_branches
    code = request.GET.get("branch")
    if code:
        branch = next((b for b in readable if b.code == code), None)
        if branch is None:
            raise Http404
        return branch
    if request.branch is not None and request.branch in readable:
        return request.branch
    return readable[0] if len(readable) == 1 else None


@reader_required(Role.BRANCH_HEAD)
def report(request: HttpRequest) -> HttpResponse:
    branch = _branch_for(request)
    if branch is None:
        return render(request, "kpi/report_choose.html", {"branches": request.readable_branches})
    month_error = None
    raw_month = request.GET.get("month", "")
    month: date | None = parse_month(raw_month) if raw_month else None
    if raw_month and month is None:
        month_error = _("Give the month as YYYY-MM, e.g. 2026-10.")
    if month is None:
        # By default the last whole month: the one a monthly report is about.
        month = previous_month(branch_today(branch).replace(day=1))

    data = selectors.monthly_report(branch=branch, month=month)
    tables = report_tables(data)
    query = urlencode({"branch": branch.code, "month": f"{month:%Y-%m}"})

    export = request.GET.get("export")
    if export is not None:
        fmt = request.GET.get("format", "")
        table = next((t for t in tables.values() if t.slug == export), None)
        if table is None or fmt not in EXPORT_FORMATS:
            return render(request, "kpi/export_refused.html", status=400)
        return export_response(table, fmt, suffix=f"{branch.code}-{month:%Y-%m}")

    def link(first: date) -> str:
        return "?" + urlencode({"branch": branch.code, "month": f"{first:%Y-%m}"})

    summaries = data["summaries"]
    context = {
        "branch": branch,
        "report": data,
        "month": month,
        "month_error": month_error,
        "month_value": f"{month:%Y-%m}",
        "previous_link": link(data["previous_month"]),
        "next_link": link(data["next_month"]),
        "export_query": query,
        "tables": tables,
        "headline": figures_display(data["headline"]),
        "complaints": figures_display(summaries["complaints"]),
        "survey": figures_display(summaries["survey"]),
        "care": figures_display(summaries["care"]),
        "responses": data["total"]["responses"],
        "surveys_sent": data["total"]["surveys_sent"],
        "appointments": data["total"]["appointments"],
        "reminders_due": data["total"]["reminders_due"],
        "services": _formatted(tables["services"]),
        "tellers": _formatted(tables["tellers"]),
        "errors": _formatted(tables["errors"]),
        "several_branches": len(request.readable_branches) > 1,
        "nav": nav_links(request, "report"),
    }
    return render(request, "kpi/report.html", context)


def _formatted(table: Table) -> dict[str, Any]:
    return {"table": table, "rows": [table.cells(row) for row in table.rows]}


urlpatterns = [path("report/", report, name="report")]
