"""The branch head's dashboards over a date range (KpiRollup): trends, heatmap, per service, per
teller, and a teller's own figures.

Thin: each page validates its filter (kpi.forms), asks kpi.selectors for the slice, builds its
tables once as kpi.tables.Table and either renders them or, with `?export=<slug>&format=`,
returns one as CSV/XLSX (the same object, so a download says what the page says).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.urls import NoReverseMatch, path, reverse
from django.utils.translation import gettext as _

from accounts.access import staff_required
from accounts.models import RegionMembership, RegionRole, Role

from .. import selectors
from ..definitions import metric_label
from ..forms import KpiFilter, KpiFilterForm, TrendForm
from ..metrics import METRICS
from ..tables import (
    EXPORT_FORMATS,
    Column,
    Table,
    export_response,
    format_value,
    table_context,
)

# --- shared pieces -----------------------------------------------------------------------------


def nav_links(request: HttpRequest, current: str) -> list[dict[str, Any]]:
    """The dashboards' own menu (kpi/_nav.html). Tellers get their page only; the region view
    only for a regional head; pages not wired yet (another helper's) are skipped, not a 500."""
    roles = getattr(request, "roles", set()) or set()
    is_head = bool(roles & {Role.BRANCH_HEAD, Role.ADMIN})
    entries: list[tuple[str, str]] = []
    if is_head:
        entries += [
            ("today", _("Today")),
            ("trends", _("Trends")),
            ("heatmap", _("Weekday × hour")),
            ("services", _("Per service")),
            ("tellers", _("Per teller")),
        ]
        if RegionMembership.objects.filter(
            user=request.user, is_active=True, role=RegionRole.HEAD
        ).exists():
            entries.append(("region", _("Region")))
        entries += [("report", _("Monthly report")), ("staffing", _("Staffing"))]
    if Role.TELLER in roles:
        entries.append(("mine", _("My figures")))
    links = []
    for name, label in entries:
        try:
            url = reverse(f"kpi:{name}")
        except NoReverseMatch:
            continue
        links.append({"url": url, "label": label, "current": name == current})
    return links


def _filter_form(request: HttpRequest, *, with_teller: bool = True) -> KpiFilterForm:
    return KpiFilterForm(request.GET, branch=request.branch, with_teller=with_teller)


def _export(request: HttpRequest, form: KpiFilterForm, tables: list[Table]) -> HttpResponse | None:
    """The download asked for by `?export=<slug>&format=csv|xlsx`, None when none was asked."""
    slug = request.GET.get("export")
    if not slug:
        return None
    fmt = request.GET.get("format", "")
    table = next((table for table in tables if table.slug == slug), None)
    if fmt not in EXPORT_FORMATS or table is None or not form.is_valid():
        return HttpResponseBadRequest(
            _("Unknown export: choose a table of this page, CSV or XLSX, and valid filters."),
            content_type="text/plain; charset=utf-8",
        )
    flt = form.filter
    return export_response(table, fmt, suffix=f"{flt.date_from}_{flt.date_to}")


def _page(
    request: HttpRequest,
    template: str,
    *,
    current: str,
    form: KpiFilterForm,
    tables: list[Table],
    **context: Any,
) -> HttpResponse:
    flt = form.filter
    query = flt.query(**context.pop("extra_query", {}))
    context.update(
        {
            "branch": request.branch,
            "form": form,
            "flt": flt,
            "nav": nav_links(request, current),
            "tables": [table_context(table, export_query=query) for table in tables],
        }
    )
    return render(request, template, context)


def _flat(row: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {**row["kpis"], **extra}


def performance_columns(first: Column) -> list[Column]:
    """The per service / per teller table: the figures the issue lists, in its order."""
    return [
        first,
        Column("customers", _("Customers"), "count"),
        Column("served", _("Served"), "count"),
        Column("avg_wait_s", _("Average wait"), "seconds"),
        Column("median_wait_s", _("Median wait"), "seconds"),
        Column("p90_wait_s", _("90th percentile wait"), "seconds"),
        Column("within_target_share", _("Within target"), "share"),
        Column("avg_handle_s", _("Average handling"), "seconds"),
        Column("over_standard_share", _("Over standard"), "share"),
        Column("resolution_rate", _("Resolution rate"), "share"),
        Column("error_rate", _("Error rate"), "share"),
        Column("control_points_missed", _("Control points missed"), "count"),
        Column("csat_avg", _("Satisfaction (1-5)"), "score"),
        Column("nps", _("NPS"), "score"),
    ]


def _total(rows: list[dict[str, Any]], label: str) -> dict[str, Any] | None:
    if not rows:
        return None
    return _flat(selectors.merge_rows(rows), name=label)


# --- trends --------------------------------------------------------------------------------------


@staff_required(Role.BRANCH_HEAD)
def trends(request: HttpRequest) -> HttpResponse:
    form = _filter_form(request)
    trend = TrendForm(request.GET)
    flt: KpiFilter = form.filter
    metric, granularity = trend.chosen_metric, trend.chosen_granularity
    unit = METRICS[metric].unit
    rows = selectors.trend_rows(branch=request.branch, granularity=granularity, **flt.slice_args())
    target = selectors.kpi_targets(branch=request.branch).get(metric)
    label = metric_label(metric)
    table = Table(
        title=_("Trend: %(metric)s") % {"metric": label},
        slug="trend",
        columns=[
            Column("label", _("Period"), "text"),
            Column("value", label, unit),
            Column("target", _("Target"), unit),
            Column("customers", _("Customers"), "count"),
            Column("served", _("Served"), "count"),
            Column("avg_wait_s", _("Average wait"), "seconds"),
            Column("within_target_share", _("Within target"), "share"),
        ],
        rows=[
            _flat(row, label=row["label"], value=row["kpis"][metric], target=target) for row in rows
        ],
    )
    response = _export(request, form, [table])
    if response is not None:
        return response
    chart = {
        "type": "line",
        "unit": unit,
        "x": [row["label"] for row in rows],
        "series": [{"name": label, "data": [row["kpis"][metric] for row in rows]}],
        "target": target,
        "target_name": _("Target"),
    }
    return _page(
        request,
        "kpi/trends.html",
        current="trends",
        form=form,
        tables=[table],
        trend_form=trend,
        chart_json=json.dumps(chart),
        metric_label=label,
        target_display=format_value(target, unit) if target is not None else None,
        extra_query={"metric": metric, "granularity": granularity},
    )


# --- heatmap -------------------------------------------------------------------------------------


def _weekday_names() -> list[str]:
    return [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")]


@staff_required(Role.BRANCH_HEAD)
def heatmap(request: HttpRequest) -> HttpResponse:
    form = _filter_form(request)
    flt = form.filter
    cells = selectors.heatmap_cells(branch=request.branch, **flt.slice_args())
    names = _weekday_names()
    table = Table(
        title=_("Arrivals and waits by weekday and hour"),
        slug="heatmap",
        columns=[
            Column("weekday_name", _("Weekday"), "text"),
            Column("hour_label", _("Hour"), "text"),
            Column("arrivals", _("Customers per day (average)"), "rate"),
            Column("customers", _("Customers (total)"), "count"),
            Column("avg_wait_s", _("Average wait"), "seconds"),
        ],
        rows=[
            {
                **cell,
                "weekday_name": names[cell["weekday"]],
                "hour_label": f"{cell['hour']:02d}:00",
            }
            for cell in cells
        ],
    )
    response = _export(request, form, [table])
    if response is not None:
        return response
    # Every opening hour (an empty hour is news too) plus any hour with activity outside them.
    branch = request.branch
    closes = branch.closes_at.hour + (1 if branch.closes_at.minute else 0)
    active = {cell["hour"] for cell in cells}
    first, last = min([branch.opens_at.hour, *active]), max([closes - 1, *active])
    hours = list(range(first, last + 1))
    column = {hour: index for index, hour in enumerate(hours)}

    def chart(key: str, unit: str, title: str) -> str:
        return json.dumps(
            {
                "type": "heatmap",
                "unit": unit,
                "title": title,
                "x": [f"{hour:02d}" for hour in hours],
                "y": names,
                "data": [
                    [column[cell["hour"]], cell["weekday"], cell[key]]
                    for cell in cells
                    if cell[key] is not None
                ],
            }
        )

    return _page(
        request,
        "kpi/heatmap.html",
        current="heatmap",
        form=form,
        tables=[table],
        arrivals_json=chart("arrivals", "rate", _("Customers per day (average)")),
        waits_json=chart("avg_wait_s", "seconds", _("Average wait")),
    )


# --- per service, per teller, mine -----------------------------------------------------------------


@staff_required(Role.BRANCH_HEAD)
def services(request: HttpRequest) -> HttpResponse:
    form = _filter_form(request)
    flt = form.filter
    rows = selectors.rows_by_service(branch=request.branch, **flt.slice_args())
    total = _total(rows, _("All services"))
    table = Table(
        title=_("Per service"),
        slug="services",
        columns=performance_columns(Column("name", _("Service"), "text")),
        rows=[_flat(row, name=row["name"] or _("No service")) for row in rows],
        total=total,
    )
    errors = Table(
        title=_("Errors by category"),
        slug="errors-by-category",
        columns=[
            Column("category", _("Category"), "text"),
            Column("errors", _("Errors"), "count"),
            Column("error_rate", _("Errors per customer served"), "share"),
        ],
        rows=selectors.error_rows(
            branch=request.branch,
            served=(total or {}).get("served") or 0,
            **flt.slice_args(),
        ),
    )
    response = _export(request, form, [table, errors])
    if response is not None:
        return response
    return _page(
        request, "kpi/services.html", current="services", form=form, tables=[table, errors]
    )


@staff_required(Role.BRANCH_HEAD)
def tellers(request: HttpRequest) -> HttpResponse:
    form = _filter_form(request)
    flt = form.filter
    rows = selectors.rows_by_teller(branch=request.branch, **flt.slice_args())
    table = Table(
        title=_("Per teller"),
        slug="tellers",
        columns=performance_columns(Column("name", _("Teller"), "text")),
        rows=[_flat(row, name=row["name"]) for row in rows],
        total=_total(rows, _("All tellers")),
    )
    response = _export(request, form, [table])
    if response is not None:
        return response
    return _page(request, "kpi/tellers.html", current="tellers", form=form, tables=[table])


@staff_required(Role.TELLER)
def mine(request: HttpRequest) -> HttpResponse:
    """A teller's own figures: always their row, whatever `teller=` says (the field is not on
    the form, so it is ignored)."""
    if Role.TELLER not in request.roles:
        # A branch administrator passes staff_required(TELLER) but has no figures of their own
        # at the counter; send them to the per-teller table instead of an empty page.
        raise PermissionDenied("Tellers only.")
    form = _filter_form(request, with_teller=False)
    flt = form.filter
    args = flt.slice_args()
    args["teller_id"] = request.user.pk
    rows = selectors.rows_by_teller(branch=request.branch, **args)
    name = request.user.get_full_name() or request.user.username
    table = Table(
        title=_("My figures"),
        slug="my-figures",
        columns=performance_columns(Column("name", _("Teller"), "text")),
        rows=[_flat(row, name=name, _highlight=True) for row in rows],
    )
    response = _export(request, form, [table])
    if response is not None:
        return response
    return _page(request, "kpi/mine.html", current="mine", form=form, tables=[table])


urlpatterns = [
    path("trends/", trends, name="trends"),
    path("heatmap/", heatmap, name="heatmap"),
    path("services/", services, name="services"),
    path("tellers/", tellers, name="tellers"),
    path("me/", mine, name="mine"),
]
