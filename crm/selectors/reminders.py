"""Care reminder reads: lists (one FilterSet for the page and the API), my reminders, the
customer card, the lobby card, and the inputs of the care rules."""

from collections.abc import Iterable
from datetime import date, timedelta
from functools import reduce
from operator import or_

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Role

from ..models import CareReminder, Complaint, Customer, Deposit, ReminderKind
from ..rules import (
    BIRTHDAY,
    DEPOSIT,
    ID_EXPIRY,
    CustomerDates,
    DepositDates,
    RuleSpec,
    birthday_month_days,
    window,
)

__all__ = [
    "LOBBY_REMINDER_DAYS",
    "ReminderFilter",
    "care_rule_inputs",
    "lobby_card_items",
    "reminder_for_branches",
    "reminder_may_close",
    "reminders_for_branches",
    "reminders_for_customer",
    "reminders_mine",
]

# The lobby card shows open reminders due within this many days, and overdue ones.
LOBBY_REMINDER_DAYS = 7


def reminders_for_branches(*, branches: Iterable) -> QuerySet[CareReminder]:
    return (
        CareReminder.objects.filter(branch__in=list(branches))
        .select_related("customer", "assignee", "branch")
        .order_by("due_on", "pk")
    )


def reminder_for_branches(*, branches: Iterable, pk: int) -> CareReminder | None:
    return reminders_for_branches(branches=branches).filter(pk=pk).first()


def reminder_may_close(*, reminder: CareReminder, user, roles: set[str]) -> bool:
    """Who may mark a reminder done or cancel it: its assignee, anyone at the branch when it is
    unassigned, and the branch head (or administrator)."""
    if roles & {Role.BRANCH_HEAD, Role.ADMIN}:
        return True
    return reminder.assignee_id is None or reminder.assignee_id == user.pk


def reminders_mine(*, user, branch) -> QuerySet[CareReminder]:
    """Open reminders assigned to `user` at `branch`, soonest due first."""
    return (
        CareReminder.objects.filter(branch=branch, assignee=user, status=CareReminder.Status.OPEN)
        .select_related("customer")
        .order_by("due_on", "pk")
    )


def reminders_for_customer(*, customer: Customer, branch, limit: int = 10) -> list[CareReminder]:
    """The customer card: this branch's open reminders (soonest first), then the latest closed."""
    base = CareReminder.objects.filter(customer=customer, branch=branch).select_related(
        "assignee", "done_by"
    )
    open_ = list(base.filter(status=CareReminder.Status.OPEN).order_by("due_on", "pk")[:limit])
    closed = list(base.exclude(status=CareReminder.Status.OPEN).order_by("-done_at", "-pk")[:limit])
    return open_ + closed


def lobby_card_items(
    *, customer: Customer, branch, today: date
) -> tuple[list[CareReminder], list[Complaint]]:
    """What the lobby tablet shows when the customer arrives: this branch's open reminders due
    within LOBBY_REMINDER_DAYS days or overdue, and its open (not closed) complaints."""
    reminders = list(
        CareReminder.objects.filter(
            customer=customer,
            branch=branch,
            status=CareReminder.Status.OPEN,
            due_on__lte=today + timedelta(days=LOBBY_REMINDER_DAYS),
        )
        .select_related("assignee")
        .order_by("due_on", "pk")[:5]
    )
    complaints = list(
        Complaint.objects.filter(customer=customer, branch=branch)
        .exclude(status=Complaint.Status.CLOSED)
        .only("pk", "subject", "status", "severity", "resolve_due_at", "logged_at")
        .order_by("-logged_at")[:5]
    )
    return reminders, complaints


def care_rule_inputs(
    *, branch, rules: list[RuleSpec], today: date
) -> tuple[list[CustomerDates], list[DepositDates]]:
    """The dates the rules need, read only within each rule's window (at most three queries,
    whatever the branch's history): deposits maturing, IDs expiring, VIP birthdays."""
    customer_q: list[Q] = []
    deposits: list[DepositDates] = []
    for rule in rules:
        start, end = window(rule.days_before, today)
        if rule.kind == DEPOSIT:
            deposits = [
                DepositDates(pk, customer_id, matures_on, product)
                for pk, customer_id, matures_on, product in Deposit.objects.filter(
                    branch=branch,
                    matures_on__range=(start, end),
                    customer__merged_into__isnull=True,
                    customer__anonymised_at__isnull=True,
                ).values_list("pk", "customer_id", "matures_on", "product")
            ]
        elif rule.kind == ID_EXPIRY:
            customer_q.append(Q(id_expires_on__range=(start, end)))
        elif rule.kind == BIRTHDAY:
            birthday = Q(is_vip=True, birth_date__isnull=False)
            if (end - start).days < 365:
                birthday &= reduce(
                    or_,
                    (
                        Q(birth_date__month=month, birth_date__day=day)
                        for month, day in sorted(birthday_month_days(start, end))
                    ),
                )
            customer_q.append(birthday)
    customers: list[CustomerDates] = []
    if customer_q:
        customers = [
            CustomerDates(pk, birth_date, id_expires_on, is_vip)
            for pk, birth_date, id_expires_on, is_vip in Customer.objects.filter(
                reduce(or_, customer_q),
                branch_links__branch=branch,
                merged_into__isnull=True,
                anonymised_at__isnull=True,
            ).values_list("pk", "birth_date", "id_expires_on", "is_vip")
        ]
    return customers, deposits


class ReminderFilter(django_filters.FilterSet):
    """Reminders list filters (page and API): status, kind, assignee, due range, overdue."""

    status = django_filters.ChoiceFilter(choices=CareReminder.Status.choices, label=_("Status"))
    kind = django_filters.ChoiceFilter(choices=ReminderKind.choices, label=_("Kind"))
    assignee = django_filters.ModelChoiceFilter(
        queryset=get_user_model().objects.none(), label=_("Assigned to")
    )
    due_from = django_filters.DateFilter(
        field_name="due_on", lookup_expr="gte", label=_("Due from")
    )
    due_to = django_filters.DateFilter(field_name="due_on", lookup_expr="lte", label=_("Due to"))
    overdue = django_filters.BooleanFilter(method="filter_overdue", label=_("Overdue"))

    class Meta:
        model = CareReminder
        fields = ["status", "kind", "assignee", "due_from", "due_to", "overdue"]

    def __init__(self, *args, branches=(), today: date | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.today = today or timezone.localdate()
        self.filters["assignee"].queryset = (
            get_user_model()
            .objects.filter(memberships__branch__in=list(branches), memberships__is_active=True)
            .distinct()
            .order_by("username")
        )

    def filter_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        overdue = Q(status=CareReminder.Status.OPEN, due_on__lt=self.today)
        return queryset.filter(overdue) if value else queryset.exclude(overdue)
