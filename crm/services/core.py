from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.errors import DomainError
from accounts.models import Branch

from ..events import publish_interaction_recorded
from ..models import ConsentSource, Customer, CustomerBranch, Interaction
from ..personal_data import is_valid_phone, normalise_phone


class CustomerError(DomainError):
    pass


@transaction.atomic
def customer_find_or_create(
    *,
    phone: str,
    name: str = "",
    is_vip: bool | None = None,
    sms_consent: bool | None = None,
    branch: Branch | None = None,
    consent_source: str = ConsentSource.LOBBY,
) -> tuple[Customer, bool]:
    """Find the customer by mobile number, creating them if new. Returns (customer, created).

    With `branch`, the customer is now known there (its staff may look them up). A consent
    given or withdrawn here is recorded with its time, `consent_source` and the wording
    version (settings.SMS_CONSENT_WORDING_VERSION)."""
    normalised = normalise_phone(phone)
    if not is_valid_phone(normalised):
        raise CustomerError(_("Enter a valid mobile phone number."), code="phone")
    # A new customer is written once, with everything we know (one row, one audit entry).
    defaults = {
        "name": name,
        "is_vip": bool(is_vip),
        "sms_consent": bool(sms_consent),
        "sms_consent_at": timezone.now() if sms_consent else None,
        "sms_consent_source": consent_source if sms_consent else "",
        "sms_consent_wording": settings.SMS_CONSENT_WORDING_VERSION if sms_consent else "",
    }
    try:
        with transaction.atomic():
            customer, created = Customer.objects.get_or_create(phone=normalised, defaults=defaults)
    except IntegrityError:  # registered at the same instant on another tablet
        customer, created = Customer.objects.get(phone=normalised), False
    if branch is not None:
        customer_mark_known(customer=customer, branch=branch, at=timezone.now(), new=created)
    if created:
        return customer, True
    changed = []
    if name and name != customer.name:
        customer.name = name
        changed.append("name")
    if is_vip is not None and is_vip != customer.is_vip:
        customer.is_vip = is_vip
        changed.append("is_vip")
    if sms_consent is not None and sms_consent != customer.sms_consent:
        customer.sms_consent = sms_consent
        customer.sms_consent_at = timezone.now() if sms_consent else None
        customer.sms_consent_source = consent_source
        customer.sms_consent_wording = settings.SMS_CONSENT_WORDING_VERSION
        changed += ["sms_consent", "sms_consent_at", "sms_consent_source", "sms_consent_wording"]
    if changed:
        customer.save(update_fields=changed)
    return customer, created


@transaction.atomic
def interaction_record(
    *,
    customer: Customer,
    branch: Branch,
    kind: str,
    occurred_at: datetime,
    service_code: str = "",
    service_names: tuple[str, str, str] = ("", "", ""),
    summary: str = "",
    outcome: str = "",
    staff: AbstractBaseUser | None = None,
    source: str = "",
) -> Interaction:
    """Record an interaction once; replaying the same `source` returns the existing one."""
    if source:
        existing = Interaction.objects.filter(source=source).first()
        if existing is not None:
            return existing
    interaction = Interaction.objects.create(
        customer=customer,
        branch=branch,
        kind=kind,
        service_code=service_code,
        service_name_zh=service_names[0],
        service_name_zh_hant=service_names[1],
        service_name_en=service_names[2],
        summary=summary[:300],
        outcome=outcome,
        staff=staff,
        occurred_at=occurred_at,
        source=source,
    )
    # A staff note is not a visit: it must not postpone the customer's anonymisation.
    is_contact = kind != Interaction.Kind.NOTE
    if is_contact and (customer.last_visit_at is None or occurred_at > customer.last_visit_at):
        Customer.objects.filter(pk=customer.pk).update(last_visit_at=occurred_at)
    if is_contact:
        customer_mark_known(customer=customer, branch=branch, at=occurred_at)
    publish_interaction_recorded(
        interaction_id=interaction.pk, customer_id=customer.pk, branch_id=branch.pk, kind=kind
    )
    return interaction


def customer_mark_known(
    *, customer: Customer, branch: Branch, at: datetime, new: bool = False
) -> None:
    """Record that `branch` knows the customer (first and last seen). One UPDATE for a customer
    the branch already knows; `new` (created in this transaction) skips straight to the INSERT."""
    if new:  # nobody else can have linked a customer this transaction created
        CustomerBranch.objects.create(
            customer=customer, branch=branch, first_seen_at=at, last_seen_at=at
        )
        return
    seen = CustomerBranch.objects.filter(customer=customer, branch=branch).update(
        last_seen_at=Greatest(F("last_seen_at"), Value(at))
    )
    if seen:
        return
    try:
        with transaction.atomic():  # two tablets registering the customer at the same instant
            CustomerBranch.objects.create(
                customer=customer, branch=branch, first_seen_at=at, last_seen_at=at
            )
    except IntegrityError:
        pass


def customers_anonymise_expired(*, retention_days: int, now: datetime | None = None) -> int:
    """Erase personal data of customers not seen for `retention_days`; keep their history
    (anonymous) so KPIs still add up. Returns how many customers were anonymised."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=retention_days)
    expired = Customer.objects.filter(anonymised_at__isnull=True).filter(
        Q(last_visit_at__lt=cutoff) | Q(last_visit_at__isnull=True, created_at__lt=cutoff)
    )
    return expired.update(
        phone=None,
        name="",
        id_number="",
        other_phone="",
        birth_date=None,
        id_expires_on=None,
        sms_consent=False,
        sms_consent_at=None,
        anonymised_at=now,
    )
