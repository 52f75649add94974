from django.db.models import QuerySet

from accounts.models import Branch
from accounts.timeutil import branch_today, local_day_bounds
from queueing.models import Ticket

from .models import Visit


def visit_for_ticket(*, ticket: Ticket) -> Visit | None:
    return Visit.objects.select_related("customer", "service").filter(ticket=ticket).first()


def visits_today(*, branch: Branch) -> QuerySet[Visit]:
    start, end = local_day_bounds(branch, branch_today(branch))
    return (
        Visit.objects.filter(branch=branch, registered_at__gte=start, registered_at__lt=end)
        .select_related("customer", "service", "ticket")
        .order_by("-registered_at")
    )


def visits_for_branch(*, branch: Branch) -> QuerySet[Visit]:
    return Visit.objects.filter(branch=branch).select_related("customer", "service", "ticket")
