"""The lobby duty roster (行长坐堂值班) and the overview's "on duty now" panel."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from accounts.access import get_for_branch, staff_required
from accounts.errors import DomainError
from accounts.models import Role
from accounts.timeutil import branch_today

from .. import selectors, services
from ..models import DutyShift
from .training import _staff_choices

__all__ = ["duty_now_panel", "duty_roster"]

HEAD = (Role.BRANCH_HEAD,)
STAFF = (Role.LOBBY_MANAGER, Role.TELLER, Role.BRANCH_HEAD)


class ShiftForm(forms.Form):
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    starts_at = forms.TimeField(label=_("From"), widget=forms.TimeInput(attrs={"type": "time"}))
    ends_at = forms.TimeField(label=_("Until"), widget=forms.TimeInput(attrs={"type": "time"}))
    user = forms.TypedChoiceField(label=_("Person"), coerce=int)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args, branch, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].choices = _staff_choices(branch)


@staff_required(*HEAD)
def duty_roster(request: HttpRequest) -> HttpResponse:
    form = ShiftForm(request.POST or None, branch=request.branch)
    status = 200
    if request.method == "POST":
        if "delete" in request.POST:
            raw = request.POST.get("delete", "")
            if raw.isdigit() and len(raw) < 12:
                shift = get_for_branch(DutyShift.objects.all(), request.branch, pk=int(raw))
                services.duty_shift_delete(user=request.user, shift=shift)
                messages.success(request, _("Shift removed."))
            return redirect("quality:duty")
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.duty_shift_save(
                    user=request.user,
                    branch=request.branch,
                    day=data["date"],
                    starts_at=data["starts_at"],
                    ends_at=data["ends_at"],
                    person_id=data["user"],
                    note=data["note"],
                )
            except DomainError as exc:
                field = exc.code if exc.code in form.fields else None
                form.add_error(field, exc.message)
            else:
                messages.success(request, _("Shift saved."))
                return redirect("quality:duty")
        status = 400
    start = branch_today(request.branch)
    return render(
        request,
        "quality/duty.html",
        {
            "form": form,
            "shifts": selectors.duty_shifts(branch=request.branch, start=start - timedelta(days=1)),
            "now": selectors.duty_now(branch=request.branch),
        },
        status=status,
    )


@require_GET
@staff_required(*STAFF)
def duty_now_panel(request: HttpRequest) -> HttpResponse:
    """Fragment for the lobby overview (reception "overview" slot)."""
    return render(
        request,
        "quality/duty_now_panel.html",
        {"shift": selectors.duty_now(branch=request.branch)},
    )


urlpatterns = [
    path("duty/", duty_roster, name="duty"),
    path("duty/now/", duty_now_panel, name="duty_now"),
]
