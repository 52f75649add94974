"""Remote queueing: a customer joins today's queue from their phone and checks in on arrival.

The ticket is queueing's (status "remote" until ticket_check_in; the sweep skips and expires
it, queueing.services.remote_tickets_sweep); reception keeps the visit: registered when they
joined, arrived and greeted when they check in (so the greeting time counts from arrival).
"""

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Branch, BranchClosedDay
from crm.personal_data import is_valid_phone, normalise_phone
from crm.services import customer_find_or_create
from queueing.models import Service, Ticket
from queueing.services import ticket_check_in, ticket_issue

from ..models import Visit
from ..selectors.desk import customer_for_registration
from ..triage import SpecialNeeds, priority_for
from .desk import AlreadyWaiting, ReceptionError

__all__ = ["CHECK_IN_CHANNELS", "branch_open_now", "remote_check_in", "remote_join"]

# Who checked the customer in: themselves, by the branch's QR poster, or the lobby manager.
CHECK_IN_CHANNELS = ("qr", "lobby")


def branch_open_now(branch: Branch, now: datetime) -> bool:
    """Within the branch's opening hours (in its own time zone) and not a closed day."""
    local = timezone.localtime(now, branch.tz)
    if not branch.opens_at <= local.time() < branch.closes_at:
        return False
    return not BranchClosedDay.objects.filter(branch=branch, date=local.date()).exists()


@transaction.atomic
def remote_join(
    *,
    branch: Branch,
    service: Service,
    phone: str,
    name: str = "",
    now: datetime | None = None,
) -> Visit:
    """A customer (their phone verified by the caller) joins today's queue from their phone.

    Refused unless the branch takes remote tickets, is open now and offers the service; a
    customer already holding an open ticket here today (remote ones included) gets no second
    one (AlreadyWaiting, with that ticket). A name is kept only for a new customer: a public
    page never renames a customer on file.
    """
    now = now or timezone.now()
    if not branch.remote_queue_enabled:
        raise ReceptionError(
            _("This branch does not take queue tickets from phones."), code="remote_disabled"
        )
    if service.branch_id != branch.pk or not service.is_active:
        raise ReceptionError(_("That service is not offered at the moment."), code="service")
    if not branch_open_now(branch, now):
        raise ReceptionError(
            _("The branch is closed now: you can join the queue during its opening hours."),
            code="closed",
        )
    normalised = normalise_phone(phone)
    if not is_valid_phone(normalised):
        raise ReceptionError(_("Enter a valid mobile phone number."), code="phone")
    known = customer_for_registration(phone=normalised, branch=branch)
    if known is not None and known[1] is not None:
        raise AlreadyWaiting(known[1])
    customer, _created = customer_find_or_create(
        phone=normalised, name=name.strip() if known is None else "", branch=branch
    )
    priority = priority_for(SpecialNeeds(vip=customer.is_vip), now)
    ticket = ticket_issue(branch=branch, service=service, priority=priority, remote=True)
    return Visit.objects.create(
        branch=branch,
        customer=customer,
        service=service,
        is_vip=customer.is_vip,
        route=Visit.Route.QUEUE,
        channel=Visit.Channel.REMOTE,
        registered_at=now,
        triaged_at=now,
        arrived_at=None,  # not here yet: set when they check in
        ticket=ticket,
    )


@transaction.atomic
def remote_check_in(
    *,
    ticket_id: int,
    branch: Branch,
    by: AbstractBaseUser | None = None,
    channel: str = "qr",
    now: datetime | None = None,
) -> Ticket:
    """The customer who joined from their phone is at the branch: the ticket waits (same
    number, same place) and the visit's arrival and greeting are recorded now.

    `channel`: "qr" (the customer, from the branch's poster) or "lobby" (the manager, `by`).
    """
    if channel not in CHECK_IN_CHANNELS:
        raise ReceptionError(_("Unknown check-in channel."), code="channel")
    now = now or timezone.now()
    ticket = ticket_check_in(ticket_id=ticket_id, branch=branch, by=by, now=now, note=channel)
    visit = Visit.objects.select_for_update().filter(ticket_id=ticket.pk).first()
    if visit is not None:
        visit.arrived_at = visit.arrived_at or now
        visit.greeted_at = visit.greeted_at or now
        if visit.triaged_at is None:
            visit.triaged_at = now
        visit.save(update_fields=["arrived_at", "greeted_at", "triaged_at"])
    return ticket
