"""Findings pages: the list (with "my findings"), one finding with assign / fix / close."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext_lazy as _

from accounts.errors import DomainError
from accounts.models import Membership

from .. import roles, selectors, services
from ..models import Finding
from ._access import finding_reader

__all__ = ["finding_detail", "finding_list"]


class AssignForm(forms.Form):
    owner = forms.TypedChoiceField(coerce=int, label=_("Owner"))

    def __init__(self, *args, finding: Finding, **kwargs):
        super().__init__(*args, **kwargs)
        members = (
            Membership.objects.filter(branch_id=finding.branch_id, is_active=True)
            .select_related("user")
            .order_by("user__username")
        )
        seen: dict[int, str] = {}
        for member in members:
            seen.setdefault(member.user_id, member.user.get_full_name() or member.user.username)
        self.fields["owner"].choices = list(seen.items())


class FixForm(forms.Form):
    note = forms.CharField(label=_("What was done"), max_length=2000, widget=forms.Textarea)
    evidence = forms.FileField(label=_("Evidence (photo or PDF)"), required=False)


class CloseForm(forms.Form):
    note = forms.CharField(label=_("Note"), max_length=500, required=False)


@finding_reader
def finding_list(request: HttpRequest) -> HttpResponse:
    rows = selectors.findings_of(branches=request.quality_branches)
    status = request.GET.get("status", "")
    if status in Finding.Status.values:
        rows = rows.filter(status=status)
    inspection = request.GET.get("inspection", "")
    if inspection.isdigit() and len(inspection) < 12:
        rows = rows.filter(inspection_id=int(inspection))
    return render(
        request,
        "quality/findings.html",
        {
            "rows": rows[:200],
            "mine": selectors.findings_mine(user=request.user)[:50],
            "status": status,
            "statuses": Finding.Status.choices,
        },
    )


def _finding(request: HttpRequest, pk: int) -> Finding:
    finding = get_object_or_404(
        Finding.objects.select_related("branch", "item", "owner", "inspection"), pk=pk
    )
    if finding.branch not in request.quality_branches and finding.owner_id != request.user.pk:
        raise Http404
    return finding


@finding_reader
def finding_detail(request: HttpRequest, pk: int) -> HttpResponse:
    finding = _finding(request, pk)
    assign_form = AssignForm(finding=finding)
    fix_form = FixForm()
    close_form = CloseForm()
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "assign":
                assign_form = AssignForm(request.POST, finding=finding)
                if assign_form.is_valid():
                    services.finding_assign(
                        finding=finding,
                        user=request.user,
                        owner_id=assign_form.cleaned_data["owner"],
                    )
                    messages.success(request, _("Finding assigned."))
                    return redirect("quality:finding", finding.pk)
            elif action == "fix":
                fix_form = FixForm(request.POST, request.FILES)
                if fix_form.is_valid():
                    services.finding_fix(
                        finding=finding,
                        user=request.user,
                        note=fix_form.cleaned_data["note"],
                        upload=fix_form.cleaned_data["evidence"],
                    )
                    messages.success(request, _("Fix recorded."))
                    return redirect("quality:finding", finding.pk)
            elif action == "close":
                close_form = CloseForm(request.POST)
                if close_form.is_valid():
                    services.finding_close(
                        finding=finding, user=request.user, note=close_form.cleaned_data["note"]
                    )
                    messages.success(request, _("Finding closed."))
                    return redirect("quality:finding", finding.pk)
        except DomainError as exc:
            messages.error(request, exc.message)
        finding.refresh_from_db()
    is_head = roles.is_branch_head(request.user, finding.branch_id)
    return render(
        request,
        "quality/finding.html",
        {
            "finding": finding,
            "events": selectors.finding_events(finding=finding),
            "evidence": selectors.finding_attachments(finding=finding),
            "is_head": is_head,
            "may_fix": finding.status == Finding.Status.OPEN
            and (is_head or finding.owner_id == request.user.pk),
            "assign_form": assign_form,
            "fix_form": fix_form,
            "close_form": close_form,
        },
        status=400 if request.method == "POST" else 200,
    )


urlpatterns = [
    path("findings/", finding_list, name="findings"),
    path("findings/<int:pk>/", finding_detail, name="finding"),
]
