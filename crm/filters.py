"""The CRM lists' filters (django-filter): one FilterSet per list, shared by the page and the API.

The querysets they filter are already scoped to the branches the reader may read
(crm.selectors.customers_readable / interactions_readable); the `branch` choice is limited to
those too. No filter takes a phone or ID number: a look-up by number is a POST (search)."""

from datetime import datetime, time, timedelta

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Branch

from .models import Complaint, Customer, Interaction, RevealLog, Severity, Tier


def _readable_branches(request):
    if request is None:
        return Branch.objects.none()
    return Branch.objects.filter(pk__in=[b.pk for b in getattr(request, "readable_branches", [])])


class CustomerFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(
        label=_("Name contains"), field_name="name", lookup_expr="icontains", max_length=60
    )
    tier = django_filters.ChoiceFilter(label=_("Segment / VIP tier"), choices=Tier.choices[1:])
    is_vip = django_filters.BooleanFilter(label=_("VIP"))
    sms_consent = django_filters.BooleanFilter(label=_("Agrees to service SMS"))
    last_visit_after = django_filters.DateFilter(
        label=_("Last visit from"), field_name="last_visit_at", lookup_expr="date__gte"
    )
    last_visit_before = django_filters.DateFilter(
        label=_("Last visit until"), field_name="last_visit_at", lookup_expr="date__lte"
    )
    branch = django_filters.ModelChoiceFilter(
        label=_("Branch"),
        queryset=_readable_branches,
        field_name="branch_links__branch",
        distinct=True,
    )

    class Meta:
        model = Customer
        fields = ["name", "tier", "is_vip", "sms_consent"]


def _staff_choices(request):
    branches = _readable_branches(request)
    return (
        get_user_model()
        .objects.filter(memberships__branch__in=branches, memberships__is_active=True)
        .distinct()
        .order_by("username")
    )


class InteractionFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=Interaction.Kind.choices)
    occurred_after = django_filters.DateFilter(
        label=_("From"), field_name="occurred_at", lookup_expr="date__gte"
    )
    occurred_before = django_filters.DateFilter(
        label=_("Until"), field_name="occurred_at", lookup_expr="date__lte"
    )
    staff = django_filters.ModelChoiceFilter(label=_("Staff"), queryset=_staff_choices)
    service = django_filters.CharFilter(
        label=_("Service code"), field_name="service_code", max_length=30
    )
    branch = django_filters.ModelChoiceFilter(label=_("Branch"), queryset=_readable_branches)

    class Meta:
        model = Interaction
        fields = ["kind", "staff"]


class RevealLogFilter(django_filters.FilterSet):
    at_after = django_filters.DateFilter(label=_("From"), field_name="at", lookup_expr="date__gte")
    at_before = django_filters.DateFilter(
        label=_("Until"), field_name="at", lookup_expr="date__lte"
    )
    by = django_filters.ModelChoiceFilter(label=_("By"), queryset=_staff_choices)

    class Meta:
        model = RevealLog
        fields = ["by"]


# --- Complaints ------------------------------------------------------------------------------


class YesNoField(forms.NullBooleanField):
    """Yes ("true", "1"), no ("false", "0") or empty (either); anything else is an error."""

    widget = forms.Select(choices=[("", _("Any")), ("true", _("Yes")), ("false", _("No"))])

    def to_python(self, value):
        if value in (None, ""):
            return None
        if value in (True, "True", "true", "1"):
            return True
        if value in (False, "False", "false", "0"):
            return False
        raise forms.ValidationError(_("Choose yes or no."), code="invalid")

    def validate(self, value) -> None:
        pass


class YesNoFilter(django_filters.BooleanFilter):
    field_class = YesNoField


def _local_day_start(day, tz) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)


class ComplaintFilter(django_filters.FilterSet):
    """status, severity, channel, assignee, overdue, escalated, logged from/to (the reader's
    branch's dates). `assignee` choices: pass `staff` (people of the branch)."""

    status = django_filters.ChoiceFilter(label=_("Status"), choices=Complaint.Status.choices)
    severity = django_filters.ChoiceFilter(label=_("Severity"), choices=Severity.choices)
    channel = django_filters.ChoiceFilter(
        label=_("Received via"), choices=Complaint.Channel.choices
    )
    assignee = django_filters.ModelChoiceFilter(label=_("Assigned to"), queryset=None)
    overdue = YesNoFilter(label=_("Overdue"), method="filter_overdue")
    escalated = YesNoFilter(label=_("Escalated"), method="filter_escalated")
    logged_from = django_filters.DateFilter(
        label=_("Logged from"),
        method="filter_logged_from",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    logged_to = django_filters.DateFilter(
        label=_("Logged to"),
        method="filter_logged_to",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = Complaint
        fields = ["status", "severity", "channel", "assignee"]

    def __init__(self, *args, staff: QuerySet, now: datetime | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.filters["assignee"].queryset = staff
        self.now = now or timezone.now()

    def _overdue_q(self) -> Q:
        now = self.now
        return (Q(acknowledged_at__isnull=True) & Q(acknowledge_due_at__lt=now)) | (
            Q(resolved_at__isnull=True) & Q(resolve_due_at__lt=now)
        )

    def filter_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        open_overdue = self._overdue_q() & ~Q(status=Complaint.Status.CLOSED)
        return queryset.filter(open_overdue) if value else queryset.exclude(open_overdue)

    def filter_escalated(self, queryset, name, value):
        if value is None:
            return queryset
        return (
            queryset.filter(escalation_level__gt=0)
            if value
            else queryset.filter(escalation_level=0)
        )

    def filter_logged_from(self, queryset, name, value):
        tz = timezone.get_current_timezone()
        return queryset.filter(logged_at__gte=_local_day_start(value, tz))

    def filter_logged_to(self, queryset, name, value):
        tz = timezone.get_current_timezone()
        return queryset.filter(logged_at__lt=_local_day_start(value + timedelta(days=1), tz))
