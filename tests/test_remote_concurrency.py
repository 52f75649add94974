"""Remote tickets under real concurrency (PostgreSQL, one session per thread): a customer
checking in at the very moment the sweep expires their ticket. One of them wins, the other
is refused cleanly or finds nothing to do: never an error 500, never both."""

from datetime import timedelta

import pytest
from django.utils import timezone

from queueing.models import Ticket, TicketEvent
from queueing.services import QueueError, remote_tickets_sweep, ticket_issue
from queueing.states import TicketAction, TicketStatus
from reception import services as reception

from .test_concurrency import _postgres_only, run_in_threads  # noqa: F401

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 12


def test_a_check_in_racing_the_sweep_either_keeps_the_place_or_is_refused(branch, cash):
    branch.remote_grace_minutes = 5
    branch.save()
    outcomes = set()
    for _ in range(ROUNDS):
        ticket = ticket_issue(branch=branch, service=cash, remote=True)
        # Its turn passed long enough ago that the sweep expires it now.
        Ticket.objects.filter(pk=ticket.pk).update(skipped_at=timezone.now() - timedelta(minutes=6))

        def race(i, barrier, ticket_id=ticket.pk):
            barrier.wait()
            if i == 0:
                try:
                    reception.remote_check_in(ticket_id=ticket_id, branch=branch, channel="qr")
                except QueueError as refused:
                    return ("refused", refused.code)
                return ("checked_in", None)
            return ("swept", remote_tickets_sweep())

        check_in, sweep = run_in_threads(2, race)
        ticket.refresh_from_db()
        events = list(
            TicketEvent.objects.filter(ticket=ticket)
            .exclude(action=TicketAction.ISSUE)
            .values_list("action", flat=True)
        )
        if check_in[0] == "checked_in":
            assert ticket.status == TicketStatus.WAITING
            assert sweep[1] == (0, 0)
            assert events == [TicketAction.CHECK_IN]
        else:
            assert check_in[1] == "expired"
            assert ticket.status == TicketStatus.NO_SHOW
            assert sweep[1] == (0, 1)
            assert events == [TicketAction.EXPIRE]
        outcomes.add(check_in[0])
    assert outcomes  # at least one round ran; which side wins is up to the scheduler
