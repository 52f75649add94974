"""Ticket life cycle through the services: every move is checked, stamped and attributed."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from accounts.models import OutboxEvent, Role
from queueing import services as queue
from queueing.events import TICKET_REINSTATED
from queueing.models import Ticket, TicketEvent
from queueing.routing import PriorityClass
from queueing.states import TicketAction, TicketStatus, allowed_actions, next_status

from .factories import CounterFactory, MembershipFactory, ServiceFactory, UserFactory


def colleague(branch, username: str):
    """Another teller of the branch (a teller sits at one counter at a time)."""
    user = UserFactory(username=username)
    MembershipFactory(user=user, branch=branch, role=Role.TELLER)
    return user


SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_it_allows_only_the_documented_moves():
    assert next_status(TicketStatus.WAITING, TicketAction.CALL) == TicketStatus.CALLED
    assert allowed_actions(TicketStatus.DONE) == set()
    assert allowed_actions(TicketStatus.CALLED) == {
        TicketAction.RECALL,
        TicketAction.START,
        TicketAction.NO_SHOW,
    }


@pytest.fixture
def serving(branch, cash, counter, teller):
    queue.ticket_issue(branch=branch, service=cash)
    queue.counter_open(counter=counter, teller=teller)
    ticket = queue.ticket_call_next(counter=counter, teller=teller)
    return queue.ticket_start(ticket_id=ticket.pk, by=teller)


@pytest.mark.django_db
def test_it_records_who_did_each_move_and_when(serving, teller):
    queue.ticket_finish(ticket_id=serving.pk, by=teller)
    events = list(TicketEvent.objects.filter(ticket=serving).values_list("action", "by"))
    assert [a for a, _ in events] == ["issue", "call", "start", "finish"]
    assert all(by == teller.pk for a, by in events if a != "issue")
    serving.refresh_from_db()
    assert serving.called_at <= serving.started_at <= serving.finished_at


@pytest.mark.django_db
def test_it_refuses_an_invalid_move_with_a_clear_error(branch, cash, teller):
    ticket = queue.ticket_issue(branch=branch, service=cash)
    with pytest.raises(queue.QueueError) as excinfo:
        queue.ticket_finish(ticket_id=ticket.pk, by=teller)
    assert excinfo.value.code == "invalid_transition"
    assert "A001" in str(excinfo.value.message)
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.WAITING


@pytest.mark.django_db
def test_it_limits_recalls_then_allows_a_no_show(branch, cash, counter, teller):
    branch.max_recalls = 2
    branch.save()
    queue.ticket_issue(branch=branch, service=cash)
    queue.counter_open(counter=counter, teller=teller)
    ticket = queue.ticket_call_next(counter=counter, teller=teller)
    queue.ticket_recall(ticket_id=ticket.pk, by=teller)
    queue.ticket_recall(ticket_id=ticket.pk, by=teller)
    with pytest.raises(queue.QueueError) as excinfo:
        queue.ticket_recall(ticket_id=ticket.pk, by=teller)
    assert excinfo.value.code == "recall_limit"
    assert queue.ticket_no_show(ticket_id=ticket.pk, by=teller).status == TicketStatus.NO_SHOW


@pytest.mark.django_db
def test_it_cancels_a_waiting_ticket_but_not_a_called_one(branch, cash, counter, teller):
    first = queue.ticket_issue(branch=branch, service=cash)
    second = queue.ticket_issue(branch=branch, service=cash)
    assert queue.ticket_cancel(ticket_id=second.pk, by=None).status == TicketStatus.CANCELLED
    queue.counter_open(counter=counter, teller=teller)
    assert queue.ticket_call_next(counter=counter, teller=teller).pk == first.pk
    with pytest.raises(queue.QueueError):
        queue.ticket_cancel(ticket_id=first.pk, by=teller)


@pytest.mark.django_db
def test_it_transfers_to_the_front_keeping_the_arrival_time(branch, cash, loans, serving, teller):
    loan_counter = CounterFactory(branch=branch, number=5, serves=[loans])
    regular = queue.ticket_issue(branch=branch, service=loans)

    new = queue.ticket_transfer(ticket_id=serving.pk, by=teller, to_service=loans, note="贷款咨询")

    serving.refresh_from_db()
    assert serving.status == TicketStatus.TRANSFERRED
    assert new.priority == PriorityClass.TRANSFERRED
    assert new.arrived_at == serving.arrived_at
    assert new.transferred_from_id == serving.pk
    assert new.code.startswith("E")
    other_teller = colleague(branch, "loans-teller")  # one teller, one counter
    queue.counter_open(counter=loan_counter, teller=other_teller)
    assert queue.ticket_call_next(counter=loan_counter, teller=other_teller).pk == new.pk
    assert Ticket.objects.get(pk=regular.pk).status == TicketStatus.WAITING


@pytest.mark.django_db
def test_it_transfers_to_a_named_counter_only(branch, cash, serving, teller):
    counter_two = CounterFactory(branch=branch, number=2, serves=[cash])
    counter_three = CounterFactory(branch=branch, number=3, serves=[cash])
    new = queue.ticket_transfer(ticket_id=serving.pk, by=teller, to_counter=counter_two)
    at_three, at_two = colleague(branch, "teller-3"), colleague(branch, "teller-2")
    queue.counter_open(counter=counter_three, teller=at_three)
    assert queue.ticket_call_next(counter=counter_three, teller=at_three) is None
    queue.counter_open(counter=counter_two, teller=at_two)
    assert queue.ticket_call_next(counter=counter_two, teller=at_two).pk == new.pk


@pytest.mark.django_db
def test_a_refused_transfer_leaves_nothing_behind(branch, cash, loans, teller):
    waiting = queue.ticket_issue(branch=branch, service=cash)
    with pytest.raises(queue.QueueError):
        queue.ticket_transfer(ticket_id=waiting.pk, by=teller, to_service=loans)
    assert Ticket.objects.count() == 1


@pytest.mark.django_db
def test_it_will_not_call_a_second_customer_while_one_is_at_the_counter(
    branch, cash, counter, teller
):
    queue.ticket_issue(branch=branch, service=cash)
    queue.ticket_issue(branch=branch, service=cash)
    queue.counter_open(counter=counter, teller=teller)
    queue.ticket_call_next(counter=counter, teller=teller)
    with pytest.raises(queue.QueueError):
        queue.ticket_call_next(counter=counter, teller=teller)


@pytest.mark.django_db
def test_a_closed_or_paused_counter_cannot_call(branch, cash, counter, teller):
    queue.ticket_issue(branch=branch, service=cash)
    queue.counter_open(counter=counter, teller=teller)
    queue.counter_close(counter=counter, teller=teller)
    with pytest.raises(queue.QueueError):
        queue.ticket_call_next(counter=counter, teller=teller)
    queue.counter_open(counter=counter, teller=teller)
    queue.counter_set_paused(counter=counter, teller=teller, paused=True)
    with pytest.raises(queue.QueueError):
        queue.ticket_call_next(counter=counter, teller=teller)


@pytest.mark.django_db
def test_it_numbers_per_service_and_restarts_at_local_midnight(branch, cash, loans):
    with time_machine.travel(datetime(2026, 11, 23, 23, 50, tzinfo=SHANGHAI)):
        codes = [queue.ticket_issue(branch=branch, service=cash).code for _ in range(3)]
        loan_code = queue.ticket_issue(branch=branch, service=loans).code
    # 00:10 in Shanghai is still the previous day in UTC: numbering follows the branch's day.
    with time_machine.travel(datetime(2026, 11, 24, 0, 10, tzinfo=SHANGHAI)):
        next_day = queue.ticket_issue(branch=branch, service=cash)
    assert codes == ["A001", "A002", "A003"]
    assert loan_code == "E001"
    assert next_day.code == "A001"
    assert str(next_day.business_date) == "2026-11-24"


@pytest.mark.django_db
def test_it_refuses_a_service_of_another_branch(branch, other_branch):
    foreign = ServiceFactory(branch=other_branch, prefix="Z")
    with pytest.raises(queue.QueueError):
        queue.ticket_issue(branch=branch, service=foreign)


@pytest.mark.django_db
def test_priority_customers_go_first_but_only_k_times(branch, cash, counter, teller):
    branch.max_priority_bypass = 2
    branch.aging_enabled = False
    branch.save()
    regular = queue.ticket_issue(branch=branch, service=cash)
    vips = [
        queue.ticket_issue(branch=branch, service=cash, priority=PriorityClass.VIP)
        for _ in range(4)
    ]
    queue.counter_open(counter=counter, teller=teller)
    order = []
    for _ in range(5):
        ticket = queue.ticket_call_next(counter=counter, teller=teller)
        order.append(ticket.pk)
        queue.ticket_start(ticket_id=ticket.pk, by=teller)
        queue.ticket_finish(ticket_id=ticket.pk, by=teller)
    # Two VIPs pass the regular customer, then the regular customer is served.
    assert order == [vips[0].pk, vips[1].pk, regular.pk, vips[2].pk, vips[3].pk]


# --- "Customer left" taken back (ticket_reinstate) ----------------------------------------------


def test_only_a_cancel_can_be_taken_back_not_a_no_show():
    assert allowed_actions(TicketStatus.CANCELLED) == {TicketAction.REINSTATE}
    assert next_status(TicketStatus.CANCELLED, TicketAction.REINSTATE) == TicketStatus.WAITING
    assert allowed_actions(TicketStatus.NO_SHOW) == set()


@pytest.mark.django_db
def test_a_cancelled_ticket_waits_again_in_its_place(branch, cash, counter, teller, lobby_manager):
    first = queue.ticket_issue(branch=branch, service=cash)
    second = queue.ticket_issue(branch=branch, service=cash)
    queue.ticket_cancel(ticket_id=first.pk, by=lobby_manager, branch=branch)

    back = queue.ticket_reinstate(ticket_id=first.pk, by=lobby_manager, branch=branch)

    assert (back.code, back.status, back.finished_at) == ("A001", TicketStatus.WAITING, None)
    event = TicketEvent.objects.filter(ticket=first).latest("pk")
    assert (event.action, event.from_status, event.to_status, event.by) == (
        TicketAction.REINSTATE,
        TicketStatus.CANCELLED,
        TicketStatus.WAITING,
        lobby_manager,
    )
    # No other app acts on a reinstatement: its history is the TicketEvent above, not the outbox.
    assert not OutboxEvent.objects.filter(topic=TICKET_REINSTATED).exists()
    # Its original place: ahead of the customer who came after it.
    assert queue.ticket_call_next(counter=counter, teller=teller).pk == first.pk
    assert Ticket.objects.get(pk=second.pk).status == TicketStatus.WAITING


@pytest.mark.django_db
def test_a_cancel_is_taken_back_only_for_a_few_minutes(branch, cash, lobby_manager):
    with time_machine.travel(datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI), tick=False) as clock:
        ticket = queue.ticket_issue(branch=branch, service=cash)
        queue.ticket_cancel(ticket_id=ticket.pk, by=lobby_manager, branch=branch)
        clock.shift(queue.REINSTATE_WINDOW)
        ticket.refresh_from_db()
        assert queue.ticket_reinstatable(ticket, branch=branch)  # the last moment still counts
        clock.shift(1)
        assert not queue.ticket_reinstatable(ticket, branch=branch)
        with pytest.raises(queue.QueueError) as excinfo:
            queue.ticket_reinstate(ticket_id=ticket.pk, by=lobby_manager, branch=branch)
    assert excinfo.value.code == "too_late"
    assert "A001" in str(excinfo.value.message)
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CANCELLED


@pytest.mark.django_db
def test_a_cancel_of_yesterday_is_not_taken_back(branch, cash, lobby_manager):
    # 23:58 to 00:01 is within the window, but the ticket belongs to a day nobody calls from.
    with time_machine.travel(datetime(2026, 11, 23, 23, 58, tzinfo=SHANGHAI), tick=False) as clock:
        ticket = queue.ticket_issue(branch=branch, service=cash)
        queue.ticket_cancel(ticket_id=ticket.pk, by=lobby_manager, branch=branch)
        clock.shift(180)
        with pytest.raises(queue.QueueError) as excinfo:
            queue.ticket_reinstate(ticket_id=ticket.pk, by=lobby_manager, branch=branch)
    assert excinfo.value.code == "too_late"


@pytest.mark.django_db
def test_only_the_lobby_of_the_branch_takes_a_cancel_back(
    branch, cash, teller, branch_head, lobby_manager, other_branch
):
    ticket = queue.ticket_issue(branch=branch, service=cash)
    queue.ticket_cancel(ticket_id=ticket.pk, by=teller, branch=branch)
    for someone_else in (teller, branch_head):
        with pytest.raises(queue.QueueError) as excinfo:
            queue.ticket_reinstate(ticket_id=ticket.pk, by=someone_else, branch=branch)
        assert excinfo.value.code == "forbidden"
    other_lobby = UserFactory(username="other-lobby")
    MembershipFactory(user=other_lobby, branch=other_branch, role=Role.LOBBY_MANAGER)
    with pytest.raises(queue.QueueError) as excinfo:
        queue.ticket_reinstate(ticket_id=ticket.pk, by=other_lobby, branch=other_branch)
    assert excinfo.value.code == "not_found"
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CANCELLED
    # Any lobby manager of the branch may, not only the one who pressed "customer left".
    back = queue.ticket_reinstate(ticket_id=ticket.pk, by=lobby_manager, branch=branch)
    assert back.status == TicketStatus.WAITING


@pytest.mark.django_db
def test_a_no_show_or_a_waiting_ticket_is_not_reinstated(
    branch, cash, counter, teller, lobby_manager
):
    waiting = queue.ticket_issue(branch=branch, service=cash)
    with pytest.raises(queue.QueueError) as excinfo:
        queue.ticket_reinstate(ticket_id=waiting.pk, by=lobby_manager, branch=branch)
    assert excinfo.value.code == "invalid_transition"
    called = queue.ticket_call_next(counter=counter, teller=teller)
    queue.ticket_no_show(ticket_id=called.pk, by=teller)
    with pytest.raises(queue.QueueError) as excinfo:
        queue.ticket_reinstate(ticket_id=called.pk, by=lobby_manager, branch=branch)
    assert excinfo.value.code == "invalid_transition"


@pytest.mark.django_db
def test_a_service_added_without_a_signal_is_read_again_not_a_500(branch, cash, counter, teller):
    """The branch's set-up is cached and dropped by signals; a row written without one (a bulk
    insert, a data migration) must not make call-next or finish fail on a stale copy."""
    from queueing.models import Service

    queue.counter_open(counter=counter, teller=teller)
    assert queue.ticket_call_next(counter=counter, teller=teller) is None  # set-up cached
    (fx,) = Service.objects.bulk_create(
        [Service(branch=branch, code="fx", name_zh="外汇", name_en="Foreign exchange", prefix="F")]
    )
    sent_here = queue.ticket_issue(branch=branch, service=fx, target_counter=counter)

    called = queue.ticket_call_next(counter=counter, teller=teller)
    assert called.pk == sent_here.pk and called.service.code == "fx"
    queue.ticket_start(ticket_id=called.pk, by=teller)
    done = queue.ticket_finish(ticket_id=called.pk, by=teller)
    assert (done.status, done.service.code, done.counter.number) == (
        TicketStatus.DONE,
        "fx",
        counter.number,
    )
