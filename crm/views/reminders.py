"""Care reminder pages: "My reminders" (assigned to me, open, by due date, done/cancel with a
note), the branch's list for the branch head (filters: status, kind, assignee, due range,
overdue) and the small form on the customer card that sets a reminder."""

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts.access import get_for_branch, reader_required, staff_required
from accounts.models import Role
from accounts.timeutil import branch_today

from .. import selectors, services
from ..models import CareReminder, ReminderKind

__all__ = [
    "REMINDER_ROLES",
    "ReminderCloseForm",
    "ReminderCreateForm",
    "reminder_cancel",
    "reminder_create",
    "reminder_done",
    "reminder_list",
    "reminders_mine",
]

REMINDER_ROLES = (Role.LOBBY_MANAGER, Role.TELLER, Role.BRANCH_HEAD)
LIST_PAGE_SIZE = 25


class ReminderCloseForm(forms.Form):
    note = forms.CharField(label=_("What was done"), max_length=300, required=False)


class ReminderCreateForm(forms.Form):
    title = forms.CharField(label=_("What to do"), max_length=200)
    due_on = forms.DateField(label=_("Due"), widget=forms.DateInput(attrs={"type": "date"}))
    assignee = forms.ModelChoiceField(
        label=_("Assign to"), queryset=get_user_model().objects.none(), required=False
    )

    def __init__(self, *args, branch, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = (
            get_user_model()
            .objects.filter(memberships__branch=branch, memberships__is_active=True)
            .distinct()
            .order_by("username")
        )
        self.fields["assignee"].label_from_instance = lambda u: u.get_full_name() or u.username


def _next_url(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _reminder_here(request: HttpRequest, pk: int) -> CareReminder:
    reminder = get_for_branch(
        CareReminder.objects.select_related("customer", "branch"), request.branch, pk=pk
    )
    if not selectors.reminder_may_close(reminder=reminder, user=request.user, roles=request.roles):
        raise PermissionDenied("Not your reminder.")
    return reminder


@staff_required(*REMINDER_ROLES)
def reminders_mine(request: HttpRequest) -> HttpResponse:
    today = branch_today(request.branch)
    reminders = list(selectors.reminders_mine(user=request.user, branch=request.branch)[:200])
    return render(
        request,
        "crm/reminders_mine.html",
        {"reminders": reminders, "today": today, "close_form": ReminderCloseForm()},
    )


@reader_required(Role.BRANCH_HEAD)
def reminder_list(request: HttpRequest) -> HttpResponse:
    """The reminders of the branches the user reads (their branch; a regional head's region),
    open ones by default, filtered (status, kind, assignee, due range, overdue)."""
    branches = request.readable_branches
    here = request.branch if request.branch in branches else branches[0]
    today = branch_today(here)
    data = request.GET.copy()
    data.pop("page", None)
    if not data:
        data["status"] = CareReminder.Status.OPEN
    filterset = selectors.ReminderFilter(
        data,
        queryset=selectors.reminders_for_branches(branches=branches),
        branches=branches,
        today=today,
    )
    rows = filterset.qs if filterset.is_valid() else CareReminder.objects.none()
    page = Paginator(rows, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    may_close = request.branch is not None and bool(request.roles & {Role.BRANCH_HEAD, Role.ADMIN})
    return render(
        request,
        "crm/reminders_list.html",
        {
            "filter": filterset,
            "page": page,
            "today": today,
            "query": data.urlencode(),
            "close_form": ReminderCloseForm(),
            "several_branches": len(branches) > 1,
            "close_branch_id": request.branch.pk if may_close else None,
        },
    )


def _close(request: HttpRequest, pk: int, action, done_message) -> HttpResponse:
    reminder = _reminder_here(request, pk)
    form = ReminderCloseForm(request.POST)
    back = _next_url(request, default=reverse("crm:reminders_mine"))
    if not form.is_valid():
        messages.error(request, _("The note is too long."))
        return redirect(back)
    try:
        action(reminder, request.user, form.cleaned_data["note"])
    except services.ReminderError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done_message)
    return redirect(back)


@require_POST
@staff_required(*REMINDER_ROLES)
def reminder_done(request: HttpRequest, pk: int) -> HttpResponse:
    return _close(request, pk, services.reminder_done, _("Reminder done."))


@require_POST
@staff_required(*REMINDER_ROLES)
def reminder_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _close(request, pk, services.reminder_cancel, _("Reminder cancelled."))


@require_POST
@staff_required(*REMINDER_ROLES)
def reminder_create(request: HttpRequest, pk: int) -> HttpResponse:
    """Set a reminder from the customer card (a customer of this branch)."""
    customer = selectors.customer_for_branch(branch=request.branch, pk=pk)
    if customer is None:
        raise Http404
    form = ReminderCreateForm(request.POST, branch=request.branch)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.reminder_create(
                customer=customer,
                branch=request.branch,
                kind=ReminderKind.MANUAL,
                title=data["title"],
                due_on=data["due_on"],
                assignee=data["assignee"] or request.user,
                created_by=request.user,
            )
        except services.ReminderError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Reminder set."))
    else:
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            messages.error(request, f"{label}: {' '.join(errors)}" if label else " ".join(errors))
    return redirect("crm:customer", pk=customer.pk)
