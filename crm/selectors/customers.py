"""Reads of the customer record: the timeline (crm's own providers), duplicates, reveal logs,
and the lists across the branches a reader may read (a regional head: the region's)."""

from collections.abc import Iterable

from django.db.models import Q, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Branch

from ..models import CareReminder, Complaint, Customer, Interaction, RevealLog
from ..timeline import TimelineEntry, register, timeline_for

__all__ = [
    "OUTCOME_LABELS",
    "TIMELINE_MAX",
    "TIMELINE_PAGE",
    "customer_duplicates",
    "customer_merged_redirect",
    "customer_timeline",
    "customers_readable",
    "interactions_readable",
    "register_crm_timeline",
    "reveal_logs_for_branch",
]

TIMELINE_PAGE = 20
TIMELINE_MAX = 500  # "show more" stops here: older history is in the interactions list

# Outcomes reception writes into Interaction.outcome (crm does not import reception's choices).
OUTCOME_LABELS = {
    "completed": gettext_lazy("Completed"),
    "incomplete": gettext_lazy("Not completed (customer to return)"),
    "referred": gettext_lazy("Referred elsewhere"),
    "follow_up": gettext_lazy("Follow-up needed"),
}


def _outcome_label(outcome: str) -> str:
    return str(OUTCOME_LABELS.get(outcome, outcome))


def _url_or_none(name: str, pk: int) -> str | None:
    try:
        return reverse(name, args=[pk])
    except NoReverseMatch:
        return None


# --- crm's own timeline providers ----------------------------------------------------------


def _interactions(customer: Customer, branch: Branch, limit: int) -> list[TimelineEntry]:
    rows = (
        Interaction.objects.filter(customer=customer, branch=branch)
        .select_related("staff")
        .order_by("-occurred_at", "-pk")[:limit]
    )
    entries = []
    for row in rows:
        is_note = row.kind == Interaction.Kind.NOTE
        staff = row.staff.get_full_name() or row.staff.get_username() if row.staff else ""
        title = row.get_kind_display()
        if row.service_label:
            title = f"{title} · {row.service_label}"
        detail = row.summary
        if staff:
            detail = f"{detail} — {staff}" if detail else staff
        entries.append(
            TimelineEntry(
                at=row.occurred_at,
                kind="note" if is_note else "interaction",
                title=title,
                detail=detail,
                badge=_outcome_label(row.outcome),
                source=row.source,
            )
        )
    return entries


def _reminders(customer: Customer, branch: Branch, limit: int) -> list[TimelineEntry]:
    rows = CareReminder.objects.filter(customer=customer, branch=branch).order_by(
        "-created_at", "-pk"
    )[:limit]
    return [
        TimelineEntry(
            at=row.created_at,
            kind="reminder",
            title=_("Care reminder: %(title)s") % {"title": row.title},
            detail=_("%(kind)s, due %(due)s") % {"kind": row.get_kind_display(), "due": row.due_on},
            badge=row.get_status_display(),
            url=_url_or_none("crm:reminder", row.pk),
        )
        for row in rows
    ]


def _complaints(customer: Customer, branch: Branch, limit: int) -> list[TimelineEntry]:
    rows = Complaint.objects.filter(customer=customer, branch=branch).order_by("-logged_at", "-pk")[
        :limit
    ]
    return [
        TimelineEntry(
            at=row.logged_at,
            kind="complaint",
            title=_("Complaint: %(subject)s") % {"subject": row.subject},
            detail=f"{row.get_severity_display()} · {row.get_channel_display()}",
            badge=row.get_status_display(),
            url=_url_or_none("crm:complaint", row.pk),
        )
        for row in rows
    ]


def register_crm_timeline() -> None:
    """Called from CrmConfig.ready()."""
    register("crm.interactions", _interactions)
    register("crm.reminders", _reminders)
    register("crm.complaints", _complaints)


def customer_timeline(
    *, customer: Customer, branch: Branch, shown: int = TIMELINE_PAGE
) -> tuple[list[TimelineEntry], bool]:
    """The latest `shown` entries (at most TIMELINE_MAX) and whether there are more."""
    shown = max(1, min(shown, TIMELINE_MAX))
    entries = timeline_for(customer=customer, branch=branch, limit=shown + 1)
    return entries[:shown], len(entries) > shown and shown < TIMELINE_MAX


# --- Duplicates ------------------------------------------------------------------------------


def customer_duplicates(*, customer: Customer, branch: Branch) -> list[Customer]:
    """Other customers known at `branch` who share a number (mobile or other phone, either way
    round) or the ID number with `customer`: merge candidates."""
    numbers = {n for n in (customer.phone, customer.other_phone) if n}
    match = Q(pk__in=[])
    if numbers:
        match |= Q(phone__in=numbers) | Q(other_phone__in=numbers)
    if customer.id_number:
        match |= Q(id_number=customer.id_number)
    if not numbers and not customer.id_number:
        return []
    return list(
        Customer.objects.filter(match, branch_links__branch=branch)
        .filter(merged_into__isnull=True, anonymised_at__isnull=True)
        .exclude(pk=customer.pk)
        .distinct()
        .order_by("-last_visit_at", "-pk")[:10]
    )


def customer_merged_redirect(*, branch: Branch, pk: int) -> Customer | None:
    """The record a merged customer of this branch now lives in (their old links go there)."""
    merged = (
        Customer.objects.filter(pk=pk, merged_into__isnull=False)
        .select_related("merged_into")
        .first()
    )
    if merged is None:
        return None
    target = merged.merged_into
    while target.merged_into_id is not None:  # merged again later
        target = target.merged_into
    if not target.branch_links.filter(branch=branch).exists():
        return None
    return target


# --- Lists across readable branches -----------------------------------------------------------


def customers_readable(*, branches: Iterable[Branch]) -> QuerySet[Customer]:
    """Customers known at any of `branches` (merged duplicates hidden), latest visit first."""
    ids = [b.pk for b in branches]
    known = Customer.objects.filter(branch_links__branch_id__in=ids).values("pk")
    return Customer.objects.filter(pk__in=known, merged_into__isnull=True).order_by(
        "-last_visit_at", "-pk"
    )


def interactions_readable(*, branches: Iterable[Branch]) -> QuerySet[Interaction]:
    return (
        Interaction.objects.filter(branch_id__in=[b.pk for b in branches])
        .select_related("customer", "staff", "branch")
        .order_by("-occurred_at", "-pk")
    )


def reveal_logs_for_branch(*, branch: Branch) -> QuerySet[RevealLog]:
    return RevealLog.objects.filter(branch=branch).select_related("customer", "by")
