"""The customer record's use cases: edit the profile, reveal a masked number (logged), merge a
duplicate into the record it duplicates (every history row kept)."""

from datetime import date

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models.functions import Greatest, Least
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.errors import DomainError
from accounts.models import Branch

from ..events import publish_customers_merged
from ..models import (
    CareReminder,
    Complaint,
    ConsentSource,
    Customer,
    CustomerBranch,
    Deposit,
    Interaction,
    RevealLog,
    Tier,
)
from ..personal_data import is_valid_phone, normalise_phone

__all__ = [
    "CustomerRecordError",
    "customer_merge",
    "customer_reveal",
    "customer_update_profile",
]

_UNCHANGED = object()


class CustomerRecordError(DomainError):
    pass


def _known_here(customer: Customer, branch: Branch) -> None:
    if (
        customer.merged_into_id is not None
        or not customer.branch_links.filter(branch=branch).exists()
    ):
        raise CustomerRecordError(_("That customer is not known at this branch."), code="not_found")


@transaction.atomic
def customer_update_profile(
    *,
    customer: Customer,
    by: AbstractBaseUser,
    branch: Branch,
    name: str | object = _UNCHANGED,
    other_phone: str | object = _UNCHANGED,
    tier: str | object = _UNCHANGED,
    is_vip: bool | object = _UNCHANGED,
    preferred_language: str | object = _UNCHANGED,
    birth_date: date | object | None = _UNCHANGED,
    id_number: str | object = _UNCHANGED,
    id_expires_on: date | object | None = _UNCHANGED,
    sms_consent: bool | object = _UNCHANGED,
    consent_source: str = ConsentSource.COUNTER,
) -> list[str]:
    """Change the fields given (others untouched); returns the names of those that changed.

    Giving or withdrawing SMS consent records when, through what (`consent_source`) and the
    wording version the customer agreed to (settings.SMS_CONSENT_WORDING_VERSION). Audited by
    django-auditlog (numbers and the birth date masked in the trail)."""
    _known_here(customer, branch)
    if customer.anonymised_at is not None:
        raise CustomerRecordError(_("This customer's personal data was erased."), code="customer")
    changes: dict[str, object] = {}
    if name is not _UNCHANGED:
        changes["name"] = str(name).strip()[:60]
    if other_phone is not _UNCHANGED:
        raw = str(other_phone).strip()
        number = normalise_phone(raw) if raw else ""
        if raw and not is_valid_phone(number):
            raise CustomerRecordError(_("Enter a valid phone number."), code="other_phone")
        if number and number == customer.phone:
            raise CustomerRecordError(
                _("That is already the customer's mobile number."), code="other_phone"
            )
        changes["other_phone"] = number
    if tier is not _UNCHANGED:
        if tier not in Tier.values:
            raise CustomerRecordError(_("Choose a tier from the list."), code="tier")
        changes["tier"] = tier
    if is_vip is not _UNCHANGED:
        changes["is_vip"] = bool(is_vip)
    if preferred_language is not _UNCHANGED:
        if preferred_language not in dict(settings.LANGUAGES):
            raise CustomerRecordError(
                _("Choose a language from the list."), code="preferred_language"
            )
        changes["preferred_language"] = preferred_language
    if birth_date is not _UNCHANGED:
        if birth_date is not None and birth_date > timezone.localdate():
            raise CustomerRecordError(_("The date of birth is in the future."), code="birth_date")
        changes["birth_date"] = birth_date
    if id_number is not _UNCHANGED:
        changes["id_number"] = "".join(str(id_number).split()).upper()[:30]
    if id_expires_on is not _UNCHANGED:
        changes["id_expires_on"] = id_expires_on
    if sms_consent is not _UNCHANGED and bool(sms_consent) != customer.sms_consent:
        if consent_source not in ConsentSource.values:
            raise CustomerRecordError(_("Choose how consent was given."), code="consent_source")
        changes["sms_consent"] = bool(sms_consent)
        changes["sms_consent_at"] = timezone.now() if sms_consent else None
        changes["sms_consent_source"] = consent_source
        changes["sms_consent_wording"] = settings.SMS_CONSENT_WORDING_VERSION
    changed = [f for f, value in changes.items() if getattr(customer, f) != value]
    for field_name in changed:
        setattr(customer, field_name, changes[field_name])
    if changed:
        customer.save(update_fields=changed)  # one save: one audit entry
    return changed


@transaction.atomic
def customer_reveal(
    *, customer: Customer, field: str, reason: str, by: AbstractBaseUser, branch: Branch
) -> str:
    """The full value of a masked field, for this one answer; logged (who, when, why, where)."""
    _known_here(customer, branch)
    if field not in RevealLog.Field.values:
        raise CustomerRecordError(_("Choose what to reveal."), code="field")
    reason = " ".join(reason.split())
    if not reason:
        raise CustomerRecordError(_("Say why you need the full number."), code="reason")
    value = getattr(customer, field) or ""
    if not value:
        raise CustomerRecordError(_("There is nothing recorded to reveal."), code="field")
    RevealLog.objects.create(
        customer=customer, branch=branch, field=field, reason=reason[:200], by=by, at=timezone.now()
    )
    return value


@transaction.atomic
def customer_merge(
    *, source: Customer, target: Customer, by: AbstractBaseUser, branch: Branch
) -> Customer:
    """Merge the duplicate `source` into `target`: crm's rows of the source (interactions,
    branch links, reminders, complaints, reveal logs, deposits) move to the target; what the
    target lacks (name, other phone, ID, dates) is taken from the source; the source keeps its
    row, marked merged_into=target, its mobile number cleared (it is unique, and the target
    keeps it as its other phone if it has none), and is hidden from look-ups. Other apps re-point
    their rows on `crm.customers_merged` (the outbox). Nothing is deleted but the source's
    branch links where the target already has one (their dates are combined)."""
    if source.pk == target.pk:
        raise CustomerRecordError(_("Choose another customer to merge."), code="source")
    # Lock both in a fixed order: two heads merging the same pair at once queue up.
    locked = {
        c.pk: c
        for c in Customer.objects.select_for_update()
        .filter(pk__in=[source.pk, target.pk])
        .order_by("pk")
    }
    source, target = locked[source.pk], locked[target.pk]
    _known_here(source, branch)
    _known_here(target, branch)
    if source.anonymised_at is not None or target.anonymised_at is not None:
        raise CustomerRecordError(_("This customer's personal data was erased."), code="source")
    now = timezone.now()

    Interaction.objects.filter(customer=source).update(customer=target)
    CareReminder.objects.filter(customer=source).update(customer=target)
    Complaint.objects.filter(customer=source).update(customer=target)
    RevealLog.objects.filter(customer=source).update(customer=target)
    Deposit.objects.filter(customer=source).update(customer=target)
    target_links = {link.branch_id: link for link in CustomerBranch.objects.filter(customer=target)}
    for link in CustomerBranch.objects.filter(customer=source):
        mine = target_links.get(link.branch_id)
        if mine is None:
            CustomerBranch.objects.filter(pk=link.pk).update(customer=target)
            continue
        CustomerBranch.objects.filter(pk=mine.pk).update(
            first_seen_at=Least("first_seen_at", link.first_seen_at),
            last_seen_at=Greatest("last_seen_at", link.last_seen_at),
        )
        link.delete()

    changed = []
    for field_name in ("name", "id_number", "birth_date", "id_expires_on"):
        if not getattr(target, field_name) and getattr(source, field_name):
            setattr(target, field_name, getattr(source, field_name))
            changed.append(field_name)
    if not target.other_phone:  # the duplicate's number still finds the customer
        numbers = (source.phone, source.other_phone)
        spare = next((n for n in numbers if n and n != target.phone), "")
        if spare:
            target.other_phone = spare
            changed.append("other_phone")
    if source.is_vip and not target.is_vip:
        target.is_vip = True
        changed.append("is_vip")
    if source.last_visit_at and (
        target.last_visit_at is None or source.last_visit_at > target.last_visit_at
    ):
        target.last_visit_at = source.last_visit_at
        changed.append("last_visit_at")

    source.merged_into = target
    source.merged_at = now
    source.phone = None  # unique: the number now belongs to the target only
    source.other_phone = ""
    source.save(update_fields=["merged_into", "merged_at", "phone", "other_phone"])
    if changed:
        target.save(update_fields=changed)
    publish_customers_merged(source_id=source.pk, target_id=target.pk, branch_id=branch.pk)
    return target
