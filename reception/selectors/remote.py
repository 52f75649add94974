"""Reads for remote queueing: the customer's own remote tickets, the lobby's list of them."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from accounts.models import Branch
from accounts.timeutil import branch_today
from crm.personal_data import mask_phone, normalise_phone
from queueing.models import Service, Ticket
from queueing.remote import grace_left_minutes
from queueing.selectors import remote_tickets_today
from queueing.states import TicketStatus

__all__ = [
    "RemoteTicketRow",
    "remote_join_services",
    "remote_ticket_rows",
    "remote_tickets_for_phone",
]


def remote_join_services(*, branch: Branch) -> list[Service]:
    """The services a customer may join the queue for from their phone: the active ones."""
    return list(Service.objects.filter(branch=branch, is_active=True))


def remote_tickets_for_phone(*, branch: Branch, phone: str) -> list[Ticket]:
    """Today's remote tickets (not checked in yet) of this verified number at this branch:
    the only ones the customer's check-in page shows or accepts."""
    return list(
        Ticket.objects.filter(
            branch=branch,
            status=TicketStatus.REMOTE,
            business_date=branch_today(branch),
            visit__customer__phone=normalise_phone(phone),
        )
        .select_related("service")
        .order_by("arrived_at", "pk")
    )


@dataclass(frozen=True)
class RemoteTicketRow:
    """One remote ticket for the lobby: the phone masked (the manager checks them in by
    number and name, not by the full phone)."""

    ticket: Ticket
    customer_name: str
    masked_phone: str
    joined_at: datetime  # in the branch's time zone
    turn_passed: bool
    grace_left_minutes: int | None


def remote_ticket_rows(*, branch: Branch, now: datetime | None = None) -> list[RemoteTicketRow]:
    """The branch's remote tickets not checked in yet, oldest first; two queries."""
    now = now or timezone.now()
    tickets = list(remote_tickets_today(branch=branch).select_related("visit__customer"))
    grace = timedelta(minutes=branch.remote_grace_minutes)
    rows = []
    for ticket in tickets:
        visit = getattr(ticket, "visit", None)
        customer = visit.customer if visit is not None else None
        rows.append(
            RemoteTicketRow(
                ticket=ticket,
                customer_name=customer.name if customer else "",
                masked_phone=mask_phone(customer.phone) if customer else "",
                joined_at=timezone.localtime(ticket.arrived_at, branch.tz),
                turn_passed=ticket.skipped_at is not None,
                grace_left_minutes=grace_left_minutes(
                    skipped_at=ticket.skipped_at, grace=grace, now=now
                )
                if ticket.skipped_at is not None
                else None,
            )
        )
    return rows
