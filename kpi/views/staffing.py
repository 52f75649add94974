"""The branch head's staffing advice for the coming week (/kpi/staffing/).

Thin: validates the target (share within a wait), asks kpi.selectors.staffing_week, shows
tomorrow first, then the week as an hour x day grid, and the same figures as one exportable
table (`?export=staffing&format=csv|xlsx`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.access import staff_required
from accounts.models import Role

from .. import selectors
from ..tables import EXPORT_FORMATS, Column, Table, export_response, table_context
from .dashboard import nav_links

EXPORT_SLUG = "staffing"


class StaffingForm(forms.Form):
    """The target to staff for: a share of customers served within a wait."""

    share = forms.IntegerField(
        label=gettext_lazy("Share of customers (%)"),
        min_value=50,
        max_value=99,
        required=False,
        help_text=gettext_lazy("called within the target wait; default 80 %"),
    )
    wait_minutes = forms.DecimalField(
        label=gettext_lazy("Target wait (minutes)"),
        min_value=0,
        max_value=120,
        max_digits=5,
        decimal_places=1,
        required=False,
        help_text=gettext_lazy("default: the services' target waits, weighted by use"),
    )

    def target(self) -> tuple[float, float | None]:
        """(share 0..1, wait in seconds or None for the services' default); call when valid."""
        share = self.cleaned_data.get("share")
        minutes = self.cleaned_data.get("wait_minutes")
        return (
            (share if share is not None else 80) / 100.0,
            float(minutes) * 60.0 if minutes is not None else None,
        )


def staffing_table(week: dict[str, Any]) -> Table:
    """Every day and hour of the advice as one table (the page's download)."""
    columns = [
        Column("day", _("Day"), "date"),
        Column("hour_label", _("Hour"), "text"),
        Column("arrivals", _("Forecast customers"), "rate"),
        Column("mean_handle_s", _("Mean handling"), "seconds"),
        Column("needed", _("Counters needed (Erlang C)"), "count"),
        Column("needed_a", _("Counters needed with walk-aways (Erlang A)"), "count"),
        Column("service_level", _("Expected share within target"), "share"),
        Column("open_last_week", _("Counters open a week before"), "rate"),
        Column("short_label", _("Too few a week before"), "text"),
    ]
    rows = []
    for day in week["days"]:
        for row in day["hours"]:
            rows.append(
                {
                    **row,
                    "hour_label": f"{row['hour']:02d}:00",
                    "short_label": _("yes") if row["short"] else "",
                    "_highlight": row["short"],
                }
            )
    return Table(title=_("Staffing advice"), columns=columns, rows=rows, slug=EXPORT_SLUG)


def _grid(week: dict[str, Any]) -> dict[str, Any]:
    """Hours down, days across: needed vs open, for the week at a glance."""
    by_cell = {(row["day"], row["hour"]): row for day in week["days"] for row in day["hours"]}
    days = [day["day"] for day in week["days"]]
    return {
        "days": days,
        "rows": [
            {"hour": hour, "cells": [by_cell.get((day, hour)) for day in days]}
            for hour in week["hours"]
        ],
    }


@staff_required(Role.BRANCH_HEAD)
def staffing(request: HttpRequest) -> HttpResponse:
    branch = request.branch
    form = StaffingForm(request.GET or None)
    valid = form.is_valid() if form.is_bound else True
    share, wait_s = form.target() if form.is_bound and valid else (0.8, None)
    week = selectors.staffing_week(branch=branch, target_share=share, target_wait_s=wait_s)
    if not form.is_bound:
        # Show the defaults the advice used, so the head edits a number rather than a blank.
        form = StaffingForm(
            initial={
                "share": round(week["target_share"] * 100),
                "wait_minutes": round(week["target_wait_s"] / 60.0, 1),
            }
        )
    table = staffing_table(week)

    export = request.GET.get("export")
    if export:
        if export != EXPORT_SLUG or request.GET.get("format") not in EXPORT_FORMATS or not valid:
            return HttpResponseBadRequest(
                _("Unknown export: choose a table of this page, CSV or XLSX, and valid filters."),
                content_type="text/plain; charset=utf-8",
            )
        return export_response(table, request.GET["format"], suffix=week["start"].isoformat())

    query = {}
    if form.is_bound and valid:
        query = {
            key: value
            for key, value in (
                ("share", request.GET.get("share")),
                ("wait_minutes", request.GET.get("wait_minutes")),
            )
            if value
        }
    tomorrow = week["days"][0] if week["days"] and week["days"][0]["day"] == week["start"] else None
    context = {
        "branch": branch,
        "form": form,
        "nav": nav_links(request, "staffing"),
        "week": week,
        "tomorrow": tomorrow,
        "grid": _grid(week),
        "share_pct": round(week["target_share"] * 100),
        "wait_minutes": week["target_wait_s"] / 60.0,
        "patience_minutes": week["patience_s"] / 60.0 if week["patience_s"] else None,
        "table": table_context(table, export_query=urlencode(query)),
    }
    return render(request, "kpi/staffing.html", context)


urlpatterns = [path("staffing/", staffing, name="staffing")]
