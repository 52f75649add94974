"""The lobby overview: the queues per service, counters, who is on the way, alerts (thin).

The page follows the branch's queue version like the lobby's visits panel (static/js/live.js
fires "queue-changed"; the fragment is fetched again), and every 30 seconds as well, since
waits grow while nothing happens. Each render refreshes the recorded alerts first
(reception.services.lobby_alerts_refresh), so what the page shows is what is recorded."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.access import staff_required
from accounts.models import Role
from queueing import live

from .. import selectors, services

__all__ = ["OVERVIEW_ROLES", "overview_alert_acknowledge", "overview_live", "overview_page"]

OVERVIEW_ROLES = (Role.LOBBY_MANAGER, Role.BRANCH_HEAD, Role.ADMIN)
REFRESH_SECONDS = 30


def _overview_context(request: HttpRequest) -> dict:
    now = timezone.now()
    overview = selectors.lobby_overview(branch=request.branch, now=now)
    alerts = services.lobby_alerts_refresh(branch=request.branch, now=now, loads=overview["loads"])
    alerted = {alert.service_id for alert in alerts}
    for row in overview["services"]:
        row["alerted"] = row["service"].pk in alerted
    return {
        **overview,
        "greeting": selectors.greeting_today(branch=request.branch, now=now),
        "alerts": alerts,
        "now": now,
        "refresh_seconds": REFRESH_SECONDS,
    }


@require_GET
@staff_required(*OVERVIEW_ROLES)
def overview_page(request: HttpRequest) -> HttpResponse:
    context = _overview_context(request)
    context["live"] = live.live_context(request, request.branch.pk)
    return render(request, "reception/overview.html", context)


@require_GET
@staff_required(*OVERVIEW_ROLES)
def overview_live(request: HttpRequest) -> HttpResponse:
    """The overview's live part, fetched again when the queue changes."""
    return render(request, "reception/overview.html#overview", _overview_context(request))


@require_POST
@staff_required(*OVERVIEW_ROLES)
def overview_alert_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        alert = services.lobby_alert_acknowledge(
            alert_id=pk, branch=request.branch, by=request.user
        )
    except services.LobbyAlertError as exc:
        raise Http404 from exc
    messages.success(
        request,
        _("Alert for %(service)s acknowledged.") % {"service": alert.service.display_name},
    )
    if request.htmx:
        return render(request, "reception/overview.html#overview", _overview_context(request))
    return redirect("reception:overview")
