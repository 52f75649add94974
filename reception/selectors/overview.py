"""The lobby overview: per service the queue, its counters and who is on the way (reads).

A fixed handful of queries for a branch, whatever its history: the waiting tickets by service
(the (branch, status, service) index), remote tickets not here yet, the counters with their
tellers and skills, the appointments due in the next hour (the open-appointments index) and the
open alerts (issue 9's reports read the closed ones)."""

from datetime import datetime, timedelta

from django.db.models import Count, Min
from django.utils import timezone

from accounts.models import Branch
from accounts.timeutil import local_day_bounds
from queueing import selectors as queue_selectors
from queueing.models import Ticket
from queueing.states import TicketStatus

from ..alerts import ServiceLoad
from ..models import Appointment, LobbyAlert, Visit
from ..triage import GreetingSummary, summarise_greeting

__all__ = [
    "APPOINTMENTS_AHEAD",
    "greeting_today",
    "lobby_alerts_for_branch",
    "lobby_overview",
    "open_lobby_alerts",
]

APPOINTMENTS_AHEAD = timedelta(hours=1)


def lobby_overview(*, branch: Branch, now: datetime) -> dict:
    """Everything the overview shows but the alerts: `services` (one row per active service),
    `appointments` (booked, starting within the next hour, or late but still within their
    slot) and `loads` (alerts.ServiceLoad per service, for lobby_alerts_refresh)."""
    services = list(queue_selectors.services_for_branch(branch=branch))
    waiting = {
        row["service"]: row
        for row in Ticket.objects.filter(branch=branch, status=TicketStatus.WAITING)
        .values("service")
        .annotate(n=Count("pk"), oldest=Min("arrived_at"))
        .order_by()
    }
    remote = queue_selectors.remote_by_service(branch=branch)
    counters = list(
        queue_selectors.counters_for_branch(branch=branch)
        .select_related("teller")
        .order_by("number")
    )
    appointments = list(
        Appointment.objects.filter(
            branch=branch,
            status=Appointment.Status.BOOKED,
            ends_at__gt=now,
            starts_at__lte=now + APPOINTMENTS_AHEAD,
        )
        .select_related("service", "customer")
        .order_by("starts_at", "pk")
    )
    due: dict[int, int] = {}
    for appointment in appointments:
        due[appointment.service_id] = due.get(appointment.service_id, 0) + 1

    rows, loads = [], []
    for service in services:
        serving = [c for c in counters if any(s.service_id == service.pk for s in c.skills.all())]
        open_counters = [c for c in serving if c.accepts_calls]
        row = waiting.get(service.pk)
        oldest = row["oldest"] if row else None
        longest = max((now - oldest).total_seconds(), 0.0) if oldest else 0.0
        target = service.target_wait_minutes * 60
        count = row["n"] if row else 0
        rows.append(
            {
                "service": service,
                "waiting": count,
                "longest_wait_s": longest,
                "longest_wait_min": int(longest // 60),
                "target_wait_s": target,
                "over_target": count > 0 and longest > target,
                "open_counters": open_counters,
                "remote": remote.get(service.pk, 0),
                "appointments_due": due.get(service.pk, 0),
            }
        )
        loads.append(
            ServiceLoad(
                service_id=service.pk,
                waiting=count,
                longest_wait_s=longest,
                target_wait_s=float(target),
                open_counters=len(open_counters),
                handling_minutes=float(service.standard_handle_minutes),
                divertible=service.divertible,
                closed_counters=len(serving) - len(open_counters),
            )
        )
    return {"services": rows, "appointments": appointments, "loads": loads}


def open_lobby_alerts(*, branch: Branch) -> list[LobbyAlert]:
    """The branch's alerts still running, newest first."""
    return list(
        LobbyAlert.objects.filter(branch=branch, cleared_at__isnull=True)
        .select_related("service", "acknowledged_by")
        .order_by("-raised_at", "pk")
    )


def lobby_alerts_for_branch(*, branch: Branch):
    """All of the branch's alerts, open and cleared, newest first (the API's list)."""
    return LobbyAlert.objects.filter(branch=branch).select_related("service", "acknowledged_by")


def greeting_today(*, branch: Branch, now: datetime) -> GreetingSummary:
    """Today's arrivals (branch's local day) against the greeting target: one query on the
    (branch, arrived_at) index, the day's rows only."""
    start, end = local_day_bounds(branch, timezone.localtime(now, branch.tz).date())
    rows = Visit.objects.filter(
        branch=branch, arrived_at__gte=start, arrived_at__lt=end
    ).values_list("arrived_at", "greeted_at", "triaged_at")
    return summarise_greeting(rows, branch.greeting_target_minutes)
