"""kpi reads every app (and is read by none)."""

from datetime import date

from django.utils import timezone

from accounts.models import Branch
from accounts.timeutil import branch_today, local_day_bounds
from feedback.selectors import satisfaction_for_day
from queueing.models import Ticket
from reception.models import Visit

from .metrics import TicketRow, ticket_figures
from .models import KpiSnapshot


def ticket_rows(*, branch: Branch, day: date) -> list[tuple[TicketRow, int]]:
    """(row, local hour of arrival) for every ticket of the branch's local day."""
    rows = []
    for ticket in Ticket.objects.filter(branch=branch, business_date=day).select_related("service"):
        rows.append(
            (
                TicketRow(
                    status=ticket.status,
                    service_code=ticket.service.code,
                    arrived_at=ticket.arrived_at,
                    called_at=ticket.called_at,
                    started_at=ticket.started_at,
                    finished_at=ticket.finished_at,
                    target_wait_s=ticket.service.target_wait_minutes * 60.0,
                ),
                timezone.localtime(ticket.issued_at, branch.tz).hour,
            )
        )
    return rows


def diverted_count(*, branch: Branch, day: date) -> int:
    start, end = local_day_bounds(branch, day)
    return Visit.objects.filter(
        branch=branch,
        route=Visit.Route.SELF_SERVICE,
        registered_at__gte=start,
        registered_at__lt=end,
    ).count()


def today_summary(*, branch: Branch) -> dict:
    """Live figures for the branch head's page (no waiting for the next snapshot)."""
    day = branch_today(branch)
    figures = ticket_figures(row for row, _hour in ticket_rows(branch=branch, day=day))
    satisfaction = satisfaction_for_day(branch=branch, day=day)
    return {
        "day": day,
        "figures": figures,
        "diverted": diverted_count(branch=branch, day=day),
        "avg_satisfaction": satisfaction["avg"],
        "responses": satisfaction["count"],
    }


def snapshots_for_day(*, branch: Branch, day: date):
    return KpiSnapshot.objects.filter(branch=branch, day=day)
