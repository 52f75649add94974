"""kpi reads every app (and is read by none)."""

from datetime import date

from django.utils import timezone

from accounts.models import Branch
from accounts.timeutil import branch_today, local_day_bounds
from feedback.selectors import satisfaction_for_day
from queueing.models import Service, Ticket
from queueing.selectors import waiting_by_service
from reception.models import Visit

from ..metrics import TicketRow, ticket_figures


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


def figures_by_service_and_hour(*, branch: Branch, day: date) -> dict:
    """The day's tickets grouped by service and by local hour of issue, `ticket_figures` per
    group; plus customers served (finished) per local hour, which a ticket's issue hour misses."""
    by_service: dict[str, list[TicketRow]] = {}
    by_hour: dict[int, list[TicketRow]] = {}
    served_per_hour: dict[int, int] = {}
    for row, hour in ticket_rows(branch=branch, day=day):
        by_service.setdefault(row.service_code, []).append(row)
        by_hour.setdefault(hour, []).append(row)
        if row.status == "done" and row.finished_at:
            finished = timezone.localtime(row.finished_at, branch.tz).hour
            served_per_hour[finished] = served_per_hour.get(finished, 0) + 1
    return {
        "services": {code: ticket_figures(rows) for code, rows in by_service.items()},
        "hours": {hour: ticket_figures(rows) for hour, rows in sorted(by_hour.items())},
        "served_per_hour": served_per_hour,
    }


def today_breakdown(*, branch: Branch) -> dict:
    """Live per-service and per-hour figures for today (branch's time zone).

    Per service: waiting now plus the day's figures. Per hour: tickets issued in that hour and
    customers served (finished) in that hour, over opening hours and any hour with activity.
    """
    day = branch_today(branch)
    grouped = figures_by_service_and_hour(branch=branch, day=day)
    by_service = dict(grouped["services"])
    issued_per_hour = {hour: f.issued for hour, f in grouped["hours"].items() if f.issued}
    served_per_hour = grouped["served_per_hour"]
    services = []
    empty = ticket_figures([])
    for entry in waiting_by_service(branch=branch):
        service = entry["service"]
        services.append(
            {
                "service": service,
                "waiting": entry["waiting"],
                "figures": by_service.pop(service.code, empty),
            }
        )
    # Services switched off today still had tickets: keep them in the table.
    for service in Service.objects.filter(branch=branch, code__in=list(by_service)):
        services.append({"service": service, "waiting": 0, "figures": by_service[service.code]})
    active_hours = set(issued_per_hour) | set(served_per_hour)
    first = min([branch.opens_at.hour, *active_hours])
    last = max([branch.closes_at.hour - (0 if branch.closes_at.minute else 1), *active_hours])
    hours = [
        {"hour": h, "issued": issued_per_hour.get(h, 0), "served": served_per_hour.get(h, 0)}
        for h in range(first, last + 1)
    ]
    return {"day": day, "services": services, "hours": hours}
