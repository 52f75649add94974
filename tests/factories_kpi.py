"""Rows for KPI tests, written directly with the times a test needs (no clock travel)."""

import itertools
from datetime import datetime

from queueing.models import Ticket, TicketEvent
from queueing.states import TicketAction

_numbers = itertools.count(1)


def make_ticket(
    branch,
    service,
    *,
    status: str,
    arrived: datetime,
    day=None,
    issued: datetime | None = None,
    called: datetime | None = None,
    started: datetime | None = None,
    finished: datetime | None = None,
    teller=None,
    transferred_from: Ticket | None = None,
    recalls: tuple[datetime, ...] = (),
    is_remote: bool = False,
    checked_in: datetime | None = None,
) -> Ticket:
    """A ticket as the queue would have left it; `recalls` are written to its history (the
    recall does not move called_at: the KPIs read the last one from there)."""
    number = next(_numbers)
    issued = issued or arrived
    ticket = Ticket.objects.create(
        branch=branch,
        service=service,
        business_date=day or arrived.astimezone(branch.tz).date(),
        number=number,
        code=f"{service.prefix}{number:03d}",
        status=status,
        issued_at=issued,
        arrived_at=arrived,
        called_at=called,
        started_at=started,
        finished_at=finished,
        teller=teller,
        transferred_from=transferred_from,
        recall_count=len(recalls),
        is_remote=is_remote,
        checked_in_at=checked_in,
    )
    for at in recalls:
        TicketEvent.objects.create(
            ticket=ticket,
            branch=branch,
            action=TicketAction.RECALL,
            from_status="called",
            to_status="called",
            at=at,
        )
    return ticket
