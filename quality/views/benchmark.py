"""The region's benchmarking page: branches ranked, benchmark branches and ones to improve."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .. import scoring, selectors
from ._access import region_reader

__all__ = ["benchmark"]

MEASURE_LABELS = {
    "composite": _("Composite"),
    "inspection": _("Inspection score"),
    "within_target": _("Served within target"),
    "csat": _("Satisfied customers"),
    "nps": _("NPS"),
}


class BenchmarkFilter(forms.Form):
    year = forms.IntegerField(min_value=2000, max_value=2100, required=False)
    quarter = forms.IntegerField(min_value=1, max_value=4, required=False)
    measure = forms.ChoiceField(
        choices=[(key, MEASURE_LABELS[key]) for key in selectors.MEASURES], required=False
    )


def benchmark_params(data) -> tuple[int, int, str] | None:
    """(year, quarter, measure) from a query string; None when invalid."""
    form = BenchmarkFilter(data)
    if not form.is_valid():
        return None
    year, quarter = scoring.quarter_of(timezone.localdate())
    return (
        form.cleaned_data["year"] or year,
        form.cleaned_data["quarter"] or quarter,
        form.cleaned_data["measure"] or "composite",
    )


@region_reader
def benchmark(request: HttpRequest) -> HttpResponse:
    params = benchmark_params(request.GET)
    if params is None:
        params = benchmark_params({})
        status = 400
    else:
        status = 200
    year, quarter, measure = params
    rows = selectors.benchmark_table(
        branches=request.region_branches, year=year, quarter=quarter, measure=measure
    )
    return render(
        request,
        "quality/benchmark.html",
        {
            "rows": rows,
            "year": year,
            "quarter": quarter,
            "measure": measure,
            "measures": [(key, MEASURE_LABELS[key]) for key in selectors.MEASURES],
            "rule": {
                "top": round(100 * settings.QUALITY_BENCHMARK_TOP_SHARE),
                "min_score": settings.QUALITY_BENCHMARK_MIN_SCORE,
                "bottom": round(100 * settings.QUALITY_IMPROVE_BOTTOM_SHARE),
                "below": settings.QUALITY_IMPROVE_BELOW,
            },
        },
        status=status,
    )


urlpatterns = [path("benchmark/", benchmark, name="benchmark")]
