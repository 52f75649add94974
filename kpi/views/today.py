"""Pages of this app (thin: parse, call a service or selector, render).

The branch head's "today" page: live figures from kpi.selectors, in the branch's time zone.
Its live block (queue now, served / within target / satisfaction so far, open alerts) is a
fragment the page re-reads with htmx every 30 s (kpi:today-live): a manager's page, where a
half-minute lag is fine and a small fixed set of queries per poll costs little.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from accounts.access import staff_required
from accounts.models import Role

from .. import selectors
from ..tables import format_value
from .dashboard import nav_links

LIVE_REFRESH_SECONDS = 30

# The bar chart's drawing units (an inline SVG scales to the page width via its viewBox).
CHART_HEIGHT = 160
CHART_TOP = 18  # room for the count above the tallest bar
CHART_BOTTOM = 22  # room for the hour labels
HOUR_WIDTH = 44
BAR_WIDTH = 15


def duration(seconds: float | None) -> str:
    """mm:ss (h:mm:ss past an hour); an em dash when there is nothing to average."""
    return format_value(seconds, "seconds")


def share(value: float | None) -> str:
    return format_value(value, "share")


def _hour_chart(hours: list[dict]) -> dict:
    """Bar geometry for tickets issued and served per hour (presentation only)."""
    peak = max([1, *(h["issued"] for h in hours), *(h["served"] for h in hours)])
    plot = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    baseline = CHART_HEIGHT - CHART_BOTTOM
    groups = []
    for index, hour in enumerate(hours):
        left = index * HOUR_WIDTH + (HOUR_WIDTH - 2 * BAR_WIDTH - 2) / 2
        bars = []
        for offset, kind in ((0, "issued"), (BAR_WIDTH + 2, "served")):
            height = round(plot * hour[kind] / peak, 1)
            bars.append(
                {
                    "kind": kind,
                    "value": hour[kind],
                    "x": left + offset,
                    "y": baseline - height,
                    "height": height,
                    "label_x": left + offset + BAR_WIDTH / 2,
                    "label_y": baseline - height - 4,
                }
            )
        groups.append(
            {
                "hour": hour["hour"],
                "label_x": index * HOUR_WIDTH + HOUR_WIDTH / 2,
                "bars": bars,
            }
        )
    return {
        "width": max(len(hours), 1) * HOUR_WIDTH,
        "height": CHART_HEIGHT,
        "baseline": baseline,
        "label_y": CHART_HEIGHT - 6,
        "bar_width": BAR_WIDTH,
        "groups": groups,
    }


@staff_required(Role.BRANCH_HEAD)
def today(request: HttpRequest) -> HttpResponse:
    branch = request.branch
    summary = selectors.today_summary(branch=branch)
    breakdown = selectors.today_breakdown(branch=branch)
    figures = summary["figures"]
    services = [
        {
            "service": row["service"],
            "waiting": row["waiting"],
            "issued": row["figures"].issued,
            "served": row["figures"].served,
            "avg_wait": duration(row["figures"].avg_wait_s),
            "within_target": share(row["figures"].within_target_share),
            "target_minutes": row["service"].target_wait_minutes,
        }
        for row in breakdown["services"]
    ]
    context = {
        "branch": branch,
        "day": summary["day"],
        "as_of": timezone.localtime(timezone.now(), branch.tz),
        "figures": figures,
        "avg_wait": duration(figures.avg_wait_s),
        "avg_handle": duration(figures.avg_handle_s),
        "within_target": share(figures.within_target_share),
        "diverted": summary["diverted"],
        "avg_satisfaction": summary["avg_satisfaction"],
        "responses": summary["responses"],
        "services": services,
        "waiting_total": sum(row["waiting"] for row in services),
        "hours": breakdown["hours"],
        "chart": _hour_chart(breakdown["hours"]),
        "live": _live_context(branch, summary=summary),
        "nav": nav_links(request, "today"),
        "refresh_seconds": LIVE_REFRESH_SECONDS,
    }
    return render(request, "kpi/today.html", context)


def _live_context(branch, *, summary: dict | None = None) -> dict:
    live = selectors.live_today(branch=branch, summary=summary)
    summary = live["summary"]
    figures = summary["figures"]
    return {
        **live,
        "queue": [
            {**row, "longest_wait": duration(row["longest_wait_s"] if row["waiting"] else None)}
            for row in live["queue"]
        ],
        "longest_wait": duration(live["longest_wait_s"] if live["waiting_total"] else None),
        "served": figures.served,
        "issued": figures.issued,
        "within_target": share(figures.within_target_share),
        "avg_satisfaction": summary["avg_satisfaction"],
        "responses": summary["responses"],
    }


@staff_required(Role.BRANCH_HEAD)
def today_live(request: HttpRequest) -> HttpResponse:
    """The live block alone, for the page's 30-second htmx refresh."""
    return render(
        request,
        "kpi/_today_live.html",
        {"live": _live_context(request.branch), "refresh_seconds": LIVE_REFRESH_SECONDS},
    )


urlpatterns = [
    path("", today, name="today"),
    path("live/", today_live, name="today-live"),
]
