from collections.abc import Iterable

from django.db.models import OuterRef, QuerySet, Subquery

from accounts.models import Branch
from accounts.timeutil import branch_today, local_day_bounds
from crm.models import Customer, Interaction
from crm.selectors import customer_history, lobby_card_items
from queueing.models import Counter, Ticket
from queueing.selectors import waiting_by_service
from queueing.states import TicketStatus

from ..models import Appointment, Visit, VisitHandover
from ..triage import showable_appointment


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


def handovers_for_visit(*, visit: Visit) -> list[VisitHandover]:
    """What each teller handed on when transferring this visit, oldest first."""
    return list(
        VisitHandover.objects.filter(visit=visit).select_related(
            "by", "from_ticket__service", "from_ticket__counter", "to_ticket__service"
        )
    )


# A customer holding one of these today is still being looked after: a second ticket is asked.
OPEN_TICKET_STATUSES = (
    TicketStatus.REMOTE,  # joined from the phone, not here yet: still holds a place
    TicketStatus.WAITING,
    TicketStatus.CALLED,
    TicketStatus.SERVING,
)


def customer_for_registration(*, phone: str, branch: Branch) -> tuple[str, Ticket | None] | None:
    """For registering this (normalised) number at the branch: the stored name and the
    customer's open ticket there today, or None for a number not on file. One query on the
    usual path (the lobby's hot path); the ticket is read only when there is one."""
    open_tickets = Ticket.objects.filter(
        visit__customer=OuterRef("pk"),
        branch=branch,
        business_date=branch_today(branch),
        status__in=OPEN_TICKET_STATUSES,
    ).order_by("issued_at", "pk")
    row = (
        Customer.objects.filter(phone=phone)
        .annotate(open_ticket_id=Subquery(open_tickets.values("pk")[:1]))
        .values_list("name", "open_ticket_id")
        .first()
    )
    if row is None:
        return None
    name, open_ticket_id = row
    ticket = (
        Ticket.objects.select_related("service").get(pk=open_ticket_id)
        if open_ticket_id is not None
        else None
    )
    return name, ticket


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


CARD_HISTORY_LENGTH = 3


def customer_card(*, customer: Customer, branch: Branch) -> dict:
    """What the lobby's card shows of a known customer as the number is typed: their last
    interactions at this branch (another branch's are theirs), today's appointments here, and
    this branch's open care reminders due within a week or overdue and its open complaints."""
    today = branch_today(branch)
    start, end = local_day_bounds(branch, today)
    history: list[Interaction] = list(
        customer_history(customer=customer, branch=branch, limit=CARD_HISTORY_LENGTH)
    )
    appointments = list(
        Appointment.objects.filter(
            customer=customer,
            branch=branch,
            starts_at__gte=start,
            starts_at__lt=end,
            status__in=[Appointment.Status.BOOKED, Appointment.Status.CHECKED_IN],
        )
        .select_related("service")
        .order_by("starts_at", "pk")
    )
    reminders, complaints = lobby_card_items(customer=customer, branch=branch, today=today)
    return {
        "card_history": history,
        "card_appointments": appointments,
        "card_reminders": reminders,
        "card_complaints": complaints,
        "card_today": today,
    }
