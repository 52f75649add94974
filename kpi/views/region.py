"""The region view: a regional head ranks the region's branches on one KPI.

Read-only, for regional heads (an active RegionMembership with the HEAD role); a branch head
without a region gets a 403 page that says so. Two aggregate queries whatever the region's
size (kpi.selectors.region_ranking); the table downloads as CSV or XLSX with the same filters.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.access import reader_required
from accounts.models import Role
from accounts.timeutil import branch_today

from .. import selectors
from ..definitions import METRIC_LABELS, metric_label
from ..forms import KpiFilterForm
from ..periods import EARLIEST_DAY, LATEST_DAY
from ..tables import EXPORT_FORMATS, Column, Table, export_response, format_value
from .dashboard import nav_links

REGION_TABLE = "region-ranking"
DEFAULT_METRIC = "within_target_share"
TREND_ARROWS = {"up": "↑", "down": "↓", "flat": "→"}


class MetricForm(forms.Form):
    metric = forms.ChoiceField(label=gettext_lazy("Figure"), required=False)

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        data = data.copy() if data is not None else {}
        if not data.get("metric"):
            data["metric"] = DEFAULT_METRIC  # the select shows the figure the page ranks on
        super().__init__(data, **kwargs)
        self.fields["metric"].choices = list(METRIC_LABELS.items())

    @property
    def chosen(self) -> str:
        value = self.cleaned_data.get("metric") if self.is_valid() else None
        return value or DEFAULT_METRIC


def ranking_table(ranking: dict[str, Any]) -> Table:
    """The ranking as a kpi.tables.Table (for the downloads; the page shows the same rows)."""
    unit = ranking["metric"].unit
    label = metric_label(ranking["metric"].key)
    columns = [
        Column("rank", _("Rank"), "count"),
        Column("branch", _("Branch"), "text"),
        Column("value", label, unit),
        Column("vs_average", _("vs region average"), unit),
        Column("previous", _("Previous period"), unit),
        Column("trend", _("Trend"), "text"),
    ]
    rows = []
    for row in ranking["rows"]:
        rows.append(
            {
                "rank": row["rank"],
                "branch": f"{row['branch'].code} {row['branch'].local_name}",
                "value": row["value"],
                "vs_average": row["vs_average"],
                "previous": row["previous"],
                "trend": trend_text(row),
            }
        )
    return Table(title=_("Branches ranked"), columns=columns, rows=rows, slug=REGION_TABLE)


def trend_text(row: dict[str, Any]) -> str:
    if row["value"] is None:
        return _("no data")
    if row["trend"] is None:
        return _("no earlier data")
    arrow = TREND_ARROWS[row["trend"]]
    if row["improved"] is None:
        return f"{arrow} {_('unchanged')}"
    return f"{arrow} {_('better') if row['improved'] else _('worse')}"


def signed(value: float | None, unit: str) -> str:
    """A difference as the page shows it: with its sign ("+5%", "-01:30")."""
    if value is None:
        return "—"
    text = format_value(abs(value), unit)
    if value > 0:
        return f"+{text}"
    if value < 0:
        return f"−{text}"
    return text


def chart_spec(ranking: dict[str, Any]) -> dict[str, Any]:
    """The ranked branches as a bar chart, the region average as a dashed line
    (static/js/kpi-charts.js draws it; branches without figures are not drawn)."""
    ranked = [row for row in ranking["rows"] if row["value"] is not None]
    return {
        "type": "bar",
        "unit": ranking["metric"].unit,
        "x": [row["branch"].local_name or row["branch"].code for row in ranked],
        "series": [
            {"name": metric_label(ranking["metric"].key), "data": [row["value"] for row in ranked]}
        ],
        "target": ranking["average"],
        "target_name": _("Region average"),
    }


@reader_required(Role.BRANCH_HEAD)
def region(request: HttpRequest) -> HttpResponse:
    regions = selectors.regions_headed_by(request.user)
    if not regions:
        return render(request, "kpi/region_forbidden.html", status=403)
    code = request.GET.get("region") or regions[0].code
    chosen = next((candidate for candidate in regions if candidate.code == code), None)
    if chosen is None:
        raise Http404
    branches = [b for b in request.readable_branches if b.region_id == chosen.pk]
    metric_form = MetricForm(request.GET)
    today = branch_today(branches[0]) if branches else None
    filter_form = KpiFilterForm(
        request.GET, branch=None, with_service=False, with_teller=False, today=today
    )
    slice_ = filter_form.filter
    if slice_.date_from < EARLIEST_DAY or slice_.date_to > LATEST_DAY:
        # Outside the calendar the previous period cannot be had: a form error, default days.
        filter_form.add_error(
            "date_from",
            _("Choose dates from %(start)s to %(end)s.")
            % {"start": EARLIEST_DAY.isoformat(), "end": LATEST_DAY.isoformat()},
        )
        slice_ = filter_form.filter
    metric = metric_form.chosen
    ranking = selectors.region_ranking(
        branches=branches, metric=metric, date_from=slice_.date_from, date_to=slice_.date_to
    )
    table = ranking_table(ranking)
    query = urlencode(
        {
            "region": chosen.code,
            "metric": metric,
            "date_from": slice_.date_from.isoformat(),
            "date_to": slice_.date_to.isoformat(),
        }
    )
    export = request.GET.get("export")
    if export is not None:
        fmt = request.GET.get("format", "")
        if export != REGION_TABLE or fmt not in EXPORT_FORMATS:
            return render(request, "kpi/export_refused.html", status=400)
        return export_response(
            table, fmt, suffix=f"{chosen.code}-{metric}-{slice_.date_from}-{slice_.date_to}"
        )
    unit = ranking["metric"].unit
    rows = [
        {
            **row,
            "value_text": format_value(row["value"], unit),
            "vs_average_text": signed(row["vs_average"], unit),
            "previous_text": format_value(row["previous"], unit),
            "trend_text": trend_text(row),
        }
        for row in ranking["rows"]
    ]

    def named(row: dict[str, Any] | None) -> dict[str, Any] | None:
        if row is None:
            return None
        return {"branch": row["branch"], "value_text": format_value(row["value"], unit)}

    context = {
        "regions": regions,
        "region": chosen,
        "metric_form": metric_form,
        "filter_form": filter_form,
        "metric": ranking["metric"],
        "metric_label": metric_label(metric),
        "ranking": ranking,
        "rows": rows,
        "best": named(ranking["best"]),
        "worst": named(ranking["worst"]),
        "average_text": format_value(ranking["average"], unit),
        "table": table,
        "export_query": query,
        "chart": json.dumps(chart_spec(ranking), ensure_ascii=False),
        "nav": nav_links(request, "region"),
    }
    return render(request, "kpi/region.html", context)


urlpatterns = [path("region/", region, name="region")]
