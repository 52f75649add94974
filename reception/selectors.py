from collections.abc import Iterable

from django.db.models import QuerySet

from accounts.models import Branch
from accounts.timeutil import branch_today, local_day_bounds
from crm.models import Customer
from queueing.models import Counter, Ticket
from queueing.selectors import waiting_by_service

from .models import Visit
from .triage import showable_appointment


def with_showable_appointments(visits: Iterable[Visit]) -> list[Visit]:
    """The visits for display, an appointment time no screen can show blanked (in memory:
    never save them): one bad row must not break a whole list or the counter screen."""
    visits = list(visits)
    for visit in visits:
        visit.appointment_at = showable_appointment(visit.appointment_at)
    return visits


def visit_for_ticket(*, ticket: Ticket) -> Visit | None:
    visit = Visit.objects.select_related("customer", "service").filter(ticket=ticket).first()
    return with_showable_appointments([visit])[0] if visit else None


def visits_today(*, branch: Branch) -> QuerySet[Visit]:
    start, end = local_day_bounds(branch, branch_today(branch))
    return (
        Visit.objects.filter(branch=branch, registered_at__gte=start, registered_at__lt=end)
        .select_related("customer", "service", "ticket")
        .order_by("-registered_at")
    )


def visits_for_branch(*, branch: Branch) -> QuerySet[Visit]:
    return Visit.objects.filter(branch=branch).select_related("customer", "service", "ticket")


def visit_count_for_customer(*, customer: Customer) -> int:
    """How many times the customer has been registered at any branch (the lobby's card)."""
    return Visit.objects.filter(customer=customer).count()


def waiting_for_counter(*, counter: Counter) -> list[dict]:
    """Waiting count and longest wait for each service this counter serves, in its skill order;
    `over_target` when the longest wait has passed the service's target wait."""
    rows = {row["service"].pk: row for row in waiting_by_service(branch=counter.branch)}
    result = []
    for skill in counter.skills.select_related("service").order_by("rank", "pk"):
        row = rows.get(skill.service_id)
        if row is None:  # an inactive service: nobody can be waiting for it
            continue
        longest = row["longest_wait_s"]
        result.append(
            {
                **row,
                "longest_wait_min": int(longest // 60),
                "over_target": row["waiting"] > 0
                and longest > row["service"].target_wait_minutes * 60,
            }
        )
    return result
