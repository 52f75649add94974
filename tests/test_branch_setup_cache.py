"""A branch's set-up (services, counters' numbers and skills) is read on every issue and call:
each process keeps its own copy for QUEUE_SETUP_LOCAL_SECONDS, this process's changes drop it at
once, and another process's changes reach it within that time."""

from unittest import mock

import pytest
from django.core.cache import caches
from django.db import transaction

from queueing import selectors
from queueing.models import Service


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(selectors.time, "monotonic", lambda: now[0])
    return now


@pytest.mark.django_db
def test_a_fresh_copy_is_served_without_asking_the_shared_cache(branch, cash, clock):
    first = selectors.branch_setup(branch_id=branch.pk)
    with mock.patch.object(caches["shared"], "get", wraps=caches["shared"].get) as shared_get:
        again = selectors.branch_setup(branch_id=branch.pk, services=[cash.pk])
    assert again is first
    shared_get.assert_not_called()


@pytest.mark.django_db
def test_a_change_made_in_this_process_is_seen_at_once(branch, cash, clock):
    assert selectors.branch_setup(branch_id=branch.pk).service(cash.code).is_active
    cash.is_active = False
    cash.save()  # the receivers drop the copies
    assert not selectors.branch_setup(branch_id=branch.pk).service(cash.code).is_active


@pytest.mark.django_db
def test_another_process_change_is_seen_within_the_local_lifetime(branch, cash, clock, settings):
    settings.QUEUE_SETUP_LOCAL_SECONDS = 5
    selectors.branch_setup(branch_id=branch.pk)
    # Another process changed the service: the shared copy is gone, ours is not.
    Service.objects.filter(pk=cash.pk).update(name_en="Cash desk (renamed)")
    caches["shared"].delete(selectors.branch_setup_key(branch.pk))
    clock[0] += 4.9
    assert selectors.branch_setup(branch_id=branch.pk).service(cash.code).name_en != (
        "Cash desk (renamed)"
    )
    clock[0] += 0.2
    assert selectors.branch_setup(branch_id=branch.pk).service(cash.code).name_en == (
        "Cash desk (renamed)"
    )


@pytest.mark.django_db
def test_a_copy_lacking_an_asked_service_is_read_again(branch, cash, clock):
    selectors.branch_setup(branch_id=branch.pk)
    added = Service.objects.bulk_create(  # no signal: no receiver dropped anything
        [Service(branch=branch, code="zz", name_zh="Added", name_en="Added", prefix="Z")]
    )[0]
    assert selectors.branch_setup(branch_id=branch.pk, services=[added.pk]).covers(
        services=[added.pk]
    )


@pytest.mark.django_db(transaction=True)
def test_a_copy_read_between_the_change_and_its_commit_is_dropped_at_commit(branch, cash, clock):
    with transaction.atomic():
        cash.name_en = "Renamed in a transaction"
        cash.save()
        # A read before the commit (here, or another process) takes the new row in this
        # transaction; another connection would take the old one. Either way, at commit the
        # copies go and the next read is of the committed rows.
        selectors.branch_setup(branch_id=branch.pk)
        Service.objects.filter(pk=cash.pk).update(name_en="Committed name")
    assert (
        selectors.branch_setup(branch_id=branch.pk).service(cash.code).name_en == "Committed name"
    )


@pytest.mark.django_db
def test_a_counter_added_without_a_signal_calls_by_its_skills(branch, cash, teller, clock):
    """Call-next reads the waiting tickets with the skills of the set-up it holds, before the
    counter's lock: a counter this process's copy does not know yet (bulk-created: no receiver
    dropped the copy) gets its skills read again, and calls, instead of finding nobody."""
    from queueing import services as queue
    from queueing.models import Counter, CounterSkill

    ticket = queue.ticket_issue(branch=branch, service=cash)
    selectors.branch_setup(branch_id=branch.pk)  # this process's copy, before the counter
    (counter,) = Counter.objects.bulk_create([Counter(branch=branch, number=90, label="90")])
    CounterSkill.objects.bulk_create([CounterSkill(counter=counter, service=cash, rank=1)])
    assert not selectors.branch_setup(branch_id=branch.pk).covers(counters=[counter.pk])
    queue.counter_open(counter=counter, teller=teller)
    assert queue.ticket_call_next(counter=counter.pk, teller=teller, branch=branch) == ticket
