from datetime import timedelta

import pytest
from django.utils import timezone

from crm import services
from crm.models import Customer
from crm.personal_data import mask_id_number, mask_phone, normalise_phone
from crm.tasks import anonymise_expired_customers

from .factories import CustomerFactory


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+86 138-0013-8000", "13800138000"),
        ("0086 13800138000", "13800138000"),
        ("138 0013 8000", "13800138000"),
    ],
)
def test_it_normalises_mobile_numbers(raw, expected):
    assert normalise_phone(raw) == expected


def test_it_masks_personal_numbers():
    assert mask_phone("13800138000") == "138****8000"
    assert mask_id_number("110101199003071234") == "1101**********1234"


@pytest.mark.django_db
def test_it_finds_a_customer_by_any_spelling_of_their_number():
    first, created = services.customer_find_or_create(phone="13800138000", name="张三")
    again, created_again = services.customer_find_or_create(phone="+86 138 0013 8000")
    assert created and not created_again
    assert again.pk == first.pk and again.name == "张三"


@pytest.mark.django_db
def test_it_rejects_an_invalid_number_without_creating_anyone():
    with pytest.raises(services.CustomerError):
        services.customer_find_or_create(phone="12345")
    assert Customer.objects.count() == 0


@pytest.mark.django_db
def test_it_anonymises_customers_past_retention_and_keeps_recent_ones(settings):
    now = timezone.now()
    old = CustomerFactory(last_visit_at=now - timedelta(days=400), id_number="110101199003071234")
    recent = CustomerFactory(last_visit_at=now - timedelta(days=10))
    settings.CRM_RETENTION_DAYS = 365

    assert anonymise_expired_customers() == 1

    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.phone is None and old.name == "" and old.id_number == "" and old.anonymised_at
    assert not old.sms_consent
    assert recent.phone and recent.anonymised_at is None
    assert anonymise_expired_customers() == 0  # idempotent


def test_a_branch_knows_a_customer_from_registration_and_interactions(branch, other_branch):
    from crm.models import CustomerBranch, Interaction
    from crm.selectors import customers_known_at_branch
    from crm.services import customer_find_or_create

    customer, _ = customer_find_or_create(phone="13912345678", branch=branch)
    assert list(customers_known_at_branch(branch=branch)) == [customer]
    assert not customers_known_at_branch(branch=other_branch).exists()
    first = CustomerBranch.objects.get(customer=customer, branch=branch)

    later = first.last_seen_at + timedelta(days=3)
    services.interaction_record(
        customer=customer,
        branch=other_branch,
        kind=Interaction.Kind.BRANCH_SERVICE,
        occurred_at=later,
    )
    assert list(customers_known_at_branch(branch=other_branch)) == [customer]
    customer_find_or_create(phone="139 1234 5678", branch=branch)  # seen again at the first
    again = CustomerBranch.objects.get(customer=customer, branch=branch)
    assert again.first_seen_at == first.first_seen_at
    assert again.last_seen_at >= first.last_seen_at
    assert CustomerBranch.objects.filter(customer=customer).count() == 2
