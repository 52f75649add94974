"""Durable domain events: the outbox, its relay and the listeners (accounts/outbox.py).

The fault tests run the real flow (register, call, serve, finish) and break it where a crash or
an outage would: after commit and before delivery, with two relays at once, with a listener that
keeps failing. What a customer or a KPI depends on must arrive exactly once in effect.
"""

import threading
from collections import Counter
from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.conf import settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import outbox
from accounts.models import Branch, OutboxDelivery, OutboxEvent
from accounts.tasks import purge_outbox, relay_outbox
from crm.models import Interaction
from feedback.models import SurveyInvitation
from queueing import events
from queueing import services as queue
from queueing.models import TicketEvent
from reception import services as reception
from reception.models import Visit

ON_POSTGRES = connection.vendor == "postgresql"
TOPIC = "test.something_happened"


@pytest.fixture
def test_listeners(outbox_listeners):
    """Register listeners (on TOPIC unless told) for one test (conftest.outbox_listeners)."""

    def add(name: str, fn, topics: tuple[str, ...] = (TOPIC,)) -> None:
        outbox_listeners(name, fn, topics)

    return add


def publish_many(n: int, branch: Branch) -> list[int]:
    """n events on TOPIC, with no nudge (as if every nudge were lost): the relay's work."""
    with mock.patch.object(outbox, "nudge", lambda event_ids, **kwargs: None), transaction.atomic():
        return [outbox.publish(TOPIC, {"n": i}, branch_id=branch.pk) for i in range(n)]


def serve_one_visit(branch, cash, counter, lobby_manager, teller, phone: str) -> Visit:
    visit = reception.visit_register(
        branch=branch,
        registered_by=lobby_manager,
        phone=phone,
        service=cash,
        sms_consent=True,
    )
    if not counter.is_open:
        queue.counter_open(counter=counter, teller=teller)
        counter.refresh_from_db()
    called = queue.ticket_call_next(counter=counter, teller=teller)
    queue.ticket_start(ticket_id=called.pk, by=teller)
    reception.visit_complete_service(
        ticket=called, teller=teller, outcome=Visit.Outcome.COMPLETED, identity_verified=True
    )
    return visit


# --- publishing ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_event_is_written_with_the_change_and_vanishes_with_its_rollback(
    branch, cash, test_listeners
):
    test_listeners("test.noop", lambda event: None)
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox.publish(TOPIC, {"n": 1}, branch_id=branch.pk)
        queue.ticket_issue(branch=branch, service=cash)
        raise RuntimeError("the change failed")
    assert not OutboxEvent.objects.exists()
    assert not OutboxDelivery.objects.exists()

    with transaction.atomic():
        event_id = outbox.publish(TOPIC, {"n": 2}, branch_id=branch.pk)
    event = OutboxEvent.objects.get(pk=event_id)
    assert (event.topic, event.payload, event.branch) == (TOPIC, {"n": 2}, branch)
    assert event.deliveries.get().listener == "test.noop"


@pytest.mark.django_db
def test_an_event_nobody_listens_to_is_not_written(branch):
    with transaction.atomic():
        assert outbox.publish("test.nobody_listens", {"n": 1}, branch_id=branch.pk) is None
    assert not OutboxEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_in_production_a_worker_delivers_the_new_events_not_the_request(
    branch, test_listeners, settings, eager_celery, monkeypatch
):
    """OUTBOX_NUDGE = "task": after commit the request only queues deliver_outbox_events."""
    from accounts import tasks

    settings.OUTBOX_NUDGE = "task"
    ran, queued = [], []
    test_listeners("test.record", lambda event: ran.append(event.payload["n"]))
    real_apply_async = tasks.deliver_outbox_events.apply_async

    def apply_async(*args, **kwargs):
        queued.append(kwargs.get("args"))
        return real_apply_async(*args, **kwargs)  # eager: the "worker" runs it here

    monkeypatch.setattr(tasks.deliver_outbox_events, "apply_async", apply_async)
    settings.OUTBOX_NUDGE_WINDOW_MS = 0  # one task per commit
    with transaction.atomic():
        event_id = outbox.publish(TOPIC, {"n": 7}, branch_id=branch.pk)
        assert ran == [] and queued == []  # nothing before commit
    assert [list(args) for args in queued] == [[[event_id], 1]]
    assert ran == [7]
    assert OutboxDelivery.objects.get(event_id=event_id).status == OutboxDelivery.Status.DONE


@pytest.mark.django_db(transaction=True)
def test_events_committed_within_the_window_go_to_the_worker_as_one_task(
    branch, test_listeners, settings, monkeypatch
):
    """A task costs the request ~1 ms of CPU: a busy process sends one per window, not one per
    commit, and sends it by itself when the window closes (nobody has to flush)."""
    from accounts import tasks

    settings.OUTBOX_NUDGE = "task"
    settings.OUTBOX_NUDGE_WINDOW_MS = 300
    test_listeners("test.record", lambda event: None)
    queued = []
    sent = threading.Event()

    def apply_async(*args, **kwargs):
        queued.append(kwargs.get("args"))
        sent.set()

    monkeypatch.setattr(tasks.deliver_outbox_events, "apply_async", apply_async)
    ids = []
    for n in range(3):
        with transaction.atomic():
            ids.append(outbox.publish(TOPIC, {"n": n}, branch_id=branch.pk))
    assert queued == []  # within the window: nothing sent yet
    assert sent.wait(5), "the window closed and nothing was sent"
    assert [list(args) for args in queued] == [[ids, 3]]


@pytest.mark.django_db(transaction=True)
def test_a_pending_batch_is_sent_on_flush_and_held_nudges_are_not_batched(
    branch, test_listeners, settings, monkeypatch
):
    from accounts import tasks
    from accounts.resilience import nudges_held

    settings.OUTBOX_NUDGE = "task"
    settings.OUTBOX_NUDGE_WINDOW_MS = 60_000
    test_listeners("test.record", lambda event: None)
    queued = []
    monkeypatch.setattr(
        tasks.deliver_outbox_events,
        "apply_async",
        lambda *args, **kwargs: queued.append(kwargs.get("args")),
    )
    with nudges_held(), transaction.atomic():
        outbox.publish(TOPIC, {"n": 1}, branch_id=branch.pk)  # left to beat's sweep
    with transaction.atomic():
        event_id = outbox.publish(TOPIC, {"n": 2}, branch_id=branch.pk)
    assert queued == []
    outbox.flush_nudges()  # as at process exit
    assert [list(args) for args in queued] == [[[event_id], 1]]
    outbox.flush_nudges()
    assert len(queued) == 1  # nothing twice


@pytest.mark.django_db(transaction=True)
def test_it_refuses_to_publish_outside_a_transaction(test_listeners):
    test_listeners("test.recorder", lambda event: None)
    with pytest.raises(RuntimeError, match="inside the transaction"):
        outbox.publish(TOPIC, {})


@pytest.mark.django_db(transaction=True)
def test_an_event_nobody_listens_to_is_not_written_and_needs_no_transaction():
    """A change made in one statement (queueing's issue and start) publishes outside any
    transaction: with no listener nothing is written, so there is nothing to keep atomic."""
    assert outbox.publish(TOPIC, {}) is None
    assert not OutboxEvent.objects.filter(topic=TOPIC).exists()


@pytest.mark.django_db
def test_every_ticket_transition_another_app_acts_on_is_an_event_with_its_listeners(
    branch, cash, counter, teller, test_listeners
):
    test_listeners("test.on_call", lambda event: None, topics=(events.TICKET_CALLED,))
    ticket = queue.ticket_issue(branch=branch, service=cash)
    queue.counter_open(counter=counter, teller=teller)
    queue.ticket_call_next(counter=counter, teller=teller)
    queue.ticket_start(ticket_id=ticket.pk, by=teller)
    queue.ticket_finish(ticket_id=ticket.pk, by=teller)
    # Issue and start: nobody listens (the TicketEvent history has them); call: the test's
    # listener; finish: reception's.
    topics = list(OutboxEvent.objects.order_by("id").values_list("topic", flat=True))
    assert topics == [events.TICKET_CALLED, events.TICKET_FINISHED]
    assert list(TicketEvent.objects.filter(ticket=ticket).values_list("action", flat=True)) == [
        "issue",
        "call",
        "start",
        "finish",
    ]
    finished = OutboxEvent.objects.get(topic=events.TICKET_FINISHED)
    assert finished.payload == {"ticket_id": ticket.pk, "branch_id": branch.pk, "action": "finish"}
    assert finished.branch == branch
    assert sorted(finished.deliveries.values_list("listener", flat=True)) == [
        "kpi.mark_day",  # issue 9: the ticket's day is rebuilt
        "reception.record_ticket_end",
    ]


@pytest.mark.django_db
@pytest.mark.skipif(not ON_POSTGRES, reason="one data-modifying statement is PostgreSQL's")
def test_the_finish_writes_its_event_in_the_ticket_s_own_statement_and_a_refusal_undoes_both(
    branch, cash, counter, lobby_manager, teller
):
    """The finish's event and deliveries ride in the UPDATE that finishes the ticket
    (accounts.outbox.publish_sql): no statement of their own, and when reception then refuses
    the finish (a required point not ticked) the transaction takes the event back with it."""
    queue.counter_open(counter=counter, teller=teller)
    ticket = queue.ticket_issue(branch=branch, service=cash)
    queue.ticket_call_next(counter=counter, teller=teller)
    queue.ticket_start(ticket_id=ticket.pk, by=teller)

    with pytest.raises(reception.ReceptionError):
        reception.visit_complete_service(
            ticket=ticket.pk, teller=teller, outcome=Visit.Outcome.COMPLETED, branch=branch
        )
    ticket.refresh_from_db()
    assert ticket.status == "serving"
    assert not OutboxEvent.objects.filter(topic=events.TICKET_FINISHED).exists()
    assert not OutboxDelivery.objects.exists()

    with CaptureQueriesContext(connection) as queries:
        reception.visit_complete_service(
            ticket=ticket.pk,
            teller=teller,
            outcome=Visit.Outcome.COMPLETED,
            identity_verified=True,
            branch=branch,
        )
    writing_events = [q["sql"] for q in queries if "INSERT INTO accounts_outboxevent" in q["sql"]]
    assert len(writing_events) == 1
    assert "UPDATE queueing_ticket" in writing_events[0]
    event = OutboxEvent.objects.get(topic=events.TICKET_FINISHED)
    assert event.payload == {"ticket_id": ticket.pk, "branch_id": branch.pk, "action": "finish"}
    assert event.branch_id == branch.pk
    assert sorted(event.deliveries.values_list("listener", flat=True)) == [
        "kpi.mark_day",
        "reception.record_ticket_end",
    ]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not ON_POSTGRES, reason="one data-modifying statement is PostgreSQL's")
def test_a_no_show_is_one_statement_with_its_event_and_its_delivery_follows(
    branch, cash, counter, teller, settings
):
    """Outside any transaction a no-show needs no BEGIN or COMMIT: the ticket, its history row,
    the event and its deliveries are one statement, which commits itself; the nudge then
    delivers it (inline here) to both listeners."""
    settings.OUTBOX_NUDGE = "inline"
    queue.counter_open(counter=counter, teller=teller)
    ticket = queue.ticket_issue(branch=branch, service=cash)
    queue.ticket_call_next(counter=counter, teller=teller)
    with mock.patch.object(outbox, "nudge") as nudge, CaptureQueriesContext(connection) as queries:
        gone = queue.ticket_no_show(ticket_id=ticket.pk, by=teller)
    assert gone.status == "no_show"
    assert len(queries) == 1, [q["sql"][:60] for q in queries]
    event = OutboxEvent.objects.get(topic=events.TICKET_NO_SHOW)
    assert event.payload == {"ticket_id": ticket.pk, "branch_id": branch.pk, "action": "no_show"}
    nudge.assert_called_once_with([event.pk], limit=2)
    outbox.nudge([event.pk], limit=2)
    assert set(event.deliveries.values_list("status", flat=True)) == {OutboxDelivery.Status.DONE}


def test_a_rider_is_none_when_nobody_listens():
    assert (
        outbox.publish_sql(
            TOPIC, source="changed", payload_columns={}, payload={}, created_at=timezone.now()
        )
        is None
    )


# --- delivery ------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_finished_visit_reaches_crm_and_feedback_right_after_commit(
    branch, cash, counter, lobby_manager, teller
):
    visit = serve_one_visit(branch, cash, counter, lobby_manager, teller, "13800138000")
    interaction = Interaction.objects.get(source=f"ticket:{visit.ticket_id}")
    assert SurveyInvitation.objects.filter(interaction=interaction).count() == 1
    assert not OutboxDelivery.objects.exclude(status=OutboxDelivery.Status.DONE).exists()
    # No app acts on "visit completed" yet, so it is not written to the outbox.
    assert not OutboxEvent.objects.filter(topic=reception.VISIT_COMPLETED).exists()


@pytest.mark.django_db(transaction=True)
def test_the_sweep_delivers_when_the_process_dies_after_commit(
    branch, cash, counter, lobby_manager, teller, monkeypatch
):
    visit = reception.visit_register(
        branch=branch, registered_by=lobby_manager, phone="13800138000", service=cash
    )
    queue.counter_open(counter=counter, teller=teller)
    called = queue.ticket_call_next(counter=counter, teller=teller)
    queue.ticket_start(ticket_id=called.pk, by=teller)

    def process_dies(event_ids, **kwargs):
        raise SystemExit("killed between commit and delivery")

    monkeypatch.setattr(outbox, "nudge", process_dies)
    with pytest.raises(SystemExit):  # the commit happened; then the process "died"
        reception.visit_complete_service(
            ticket=called, teller=teller, outcome="completed", identity_verified=True
        )
    monkeypatch.undo()
    called.refresh_from_db()
    assert called.status == "done"  # committed before the crash
    assert not Interaction.objects.exists()  # nobody delivered the event

    # Beat's sweep delivers reception's listener (and kpi's, issue 9); the CRM event that
    # listener publishes is delivered to feedback by its own after-commit nudge.
    assert relay_outbox() == 2
    interaction = Interaction.objects.get(source=f"ticket:{visit.ticket_id}")
    assert SurveyInvitation.objects.filter(interaction=interaction).count() == 1
    assert relay_outbox() == 0  # nothing left, nothing delivered twice
    assert Interaction.objects.count() == 1


@pytest.mark.django_db
def test_one_listeners_failure_never_stops_another(branch, test_listeners):
    ran = []
    test_listeners("test.a_broken", lambda event: 1 / 0)
    test_listeners("test.b_working", lambda event: ran.append(event.pk))
    (event_id,) = publish_many(1, branch)

    report = outbox.deliver_due()

    assert ran == [event_id]
    assert (report.delivered, report.failed) == (1, 1)
    broken = OutboxDelivery.objects.get(listener="test.a_broken")
    assert broken.status == OutboxDelivery.Status.PENDING
    assert "ZeroDivisionError" in broken.last_error
    assert broken.next_attempt_at > timezone.now()


@pytest.mark.django_db
def test_a_failing_listener_s_writes_roll_back_with_it(branch, test_listeners):
    def renames_then_fails(event):
        Branch.objects.filter(pk=branch.pk).update(name="half-done")
        raise ValueError("listener failed after writing")

    test_listeners("test.half_done", renames_then_fails)
    publish_many(1, branch)
    outbox.deliver_due()
    branch.refresh_from_db()
    assert branch.name != "half-done"


@pytest.mark.django_db
def test_a_poisoned_event_does_not_block_the_ones_behind_it_and_finally_gives_up(
    branch, test_listeners, settings, client
):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    settings.HEALTHZ_TOKEN = "monitoring"
    delivered = []
    poisoned = None

    def listener(event):
        if event.pk == poisoned:
            raise RuntimeError("poisoned payload")
        delivered.append(event.pk)

    test_listeners("test.picky", listener)
    ids = publish_many(5, branch)
    poisoned = ids[0]

    with time_machine.travel(timezone.now(), tick=False) as clock:
        outbox.deliver_due()
        assert delivered == ids[1:]  # the four behind it went through
        for _attempt in range(2, settings.OUTBOX_MAX_ATTEMPTS + 1):
            assert outbox.deliver_due().handled == 0  # waiting for the backoff
            clock.shift(timedelta(hours=1, seconds=1))
            outbox.deliver_due()
    dead = OutboxDelivery.objects.get(event_id=poisoned)
    assert (dead.status, dead.attempts) == (OutboxDelivery.Status.DEAD, 3)
    assert delivered == ids[1:]
    health = client.get("/healthz/", HTTP_AUTHORIZATION="Bearer monitoring").json()
    assert health["checks"]["outbox"]["dead"] == 1

    assert outbox.retry_dead([dead.pk]) == 1  # the admin's action, once the cause is fixed
    dead.refresh_from_db()
    assert (dead.status, dead.attempts) == (OutboxDelivery.Status.PENDING, 0)


@pytest.mark.django_db
def test_a_delivery_for_a_listener_this_process_lacks_is_retried_not_lost(branch, test_listeners):
    test_listeners("test.removed_listener", lambda event: None)
    (event_id,) = publish_many(1, branch)
    outbox._by_name.pop("test.removed_listener")  # as in a process running older code
    outbox.deliver_due()
    delivery = OutboxDelivery.objects.get(event_id=event_id)
    assert delivery.status == OutboxDelivery.Status.PENDING
    assert "no listener named" in delivery.last_error


@pytest.mark.skipif(not ON_POSTGRES, reason="row locks with SKIP LOCKED need PostgreSQL")
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_relays_at_once_run_each_listener_once_per_event(branch, test_listeners):
    calls: list[int] = []
    lock = threading.Lock()

    def slow_listener(event):
        with lock:
            calls.append(event.pk)
        threading.Event().wait(0.002)  # widen the window two relays could share

    test_listeners("test.counted", slow_listener)
    ids = publish_many(120, branch)
    start = threading.Barrier(3)
    reports = []

    def relay():
        try:
            start.wait()
            reports.append(outbox.deliver_due())
        finally:
            connection.close()

    threads = [threading.Thread(target=relay) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    counted = Counter(calls)
    assert sorted(counted) == sorted(ids)
    assert set(counted.values()) == {1}
    assert sum(r.delivered for r in reports) == 120
    assert sum(1 for r in reports if r.delivered) >= 2  # they really ran side by side
    assert not OutboxDelivery.objects.exclude(status=OutboxDelivery.Status.DONE).exists()


@pytest.mark.django_db
def test_the_purge_keeps_undelivered_events(branch, test_listeners):
    test_listeners("test.fails", lambda event: 1 / 0)
    old_done, old_pending = publish_many(2, branch)
    OutboxDelivery.objects.filter(event_id=old_done).update(status=OutboxDelivery.Status.DONE)
    recent = publish_many(1, branch)[0]
    OutboxEvent.objects.filter(pk__in=[old_done, old_pending]).update(
        created_at=timezone.now() - timedelta(days=settings.OUTBOX_RETENTION_DAYS + 1)
    )
    assert purge_outbox() == 1
    assert set(OutboxEvent.objects.values_list("pk", flat=True)) == {old_pending, recent}
