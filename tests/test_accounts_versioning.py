"""accounts.versioning.publish_snapshot on its own (the callers' behaviour is in
test_prefill_forms, test_counter_handling and test_feedback_surveys): numbering, no new version
for the same snapshot, the empty snapshot, and the transaction it needs."""

from datetime import UTC, datetime

import pytest
from django.db import transaction
from django.db.transaction import TransactionManagementError

from accounts.versioning import publish_snapshot
from reception.models import FormVersion

from .factories import ServiceFormFactory

AT = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
FIELDS = [{"key": "name", "kind": "text"}]


def _publish(form, snapshot, **kwargs):
    return publish_snapshot(
        FormVersion.objects.filter(form=form),
        snapshot=snapshot,
        snapshot_field="fields",
        extra={"form": form, "created_at": AT},
        **kwargs,
    )


@pytest.mark.django_db
def test_numbers_versions_and_keeps_the_latest_when_nothing_changed():
    form = ServiceFormFactory()
    first = _publish(form, FIELDS)
    assert (first.number, first.fields) == (1, FIELDS)
    assert _publish(form, list(FIELDS)) == first
    second = _publish(form, [*FIELDS, {"key": "id", "kind": "text"}])
    assert second.number == 2
    assert list(form.versions.values_list("number", flat=True)) == [2, 1]


@pytest.mark.django_db
def test_empty_snapshot_publishes_nothing_unless_it_is_a_version():
    form = ServiceFormFactory()
    assert _publish(form, []) is None
    first = _publish(form, FIELDS)
    assert _publish(form, []) == first  # the latest stays current
    emptied = _publish(form, [], empty_is_version=True)
    assert (emptied.number, emptied.fields) == (2, [])
    assert _publish(form, [], empty_is_version=True) == emptied


@pytest.mark.django_db
def test_a_latest_given_by_the_caller_is_not_read_again(django_assert_num_queries):
    form = ServiceFormFactory()
    first = _publish(form, FIELDS)
    with django_assert_num_queries(0):
        assert _publish(form, FIELDS, latest=first) == first
    with django_assert_num_queries(1):  # the insert only
        assert _publish(form, [], empty_is_version=True, latest=first).number == 2


@pytest.mark.django_db(transaction=True)
def test_refuses_to_run_outside_a_transaction():
    form = ServiceFormFactory()
    with pytest.raises(TransactionManagementError):
        _publish(form, FIELDS)
    with transaction.atomic():
        assert _publish(form, FIELDS).number == 1
