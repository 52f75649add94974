"""Training pages: the branch head's sessions and attendance; participation per branch and
quarter (the branch head's branch, or the region's for inspectors and regional heads)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.access import get_for_branch, staff_required
from accounts.errors import DomainError
from accounts.models import Branch, Membership, Role

from .. import roles, scoring, selectors, services
from ..models import ServiceStandard, TrainingSession
from ._access import quality_reader

__all__ = ["training_detail", "training_list", "training_participation"]

HEAD = (Role.BRANCH_HEAD,)


def _staff_choices(branch: Branch) -> list[tuple[int, str]]:
    seen: dict[int, str] = {}
    for member in (
        Membership.objects.filter(branch=branch, is_active=True)
        .select_related("user")
        .order_by("user__username")
    ):
        seen.setdefault(member.user_id, member.user.get_full_name() or member.user.username)
    return list(seen.items())


class SessionForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    topic = forms.CharField(label=_("Topic"), max_length=100, required=False)
    starts_at = forms.DateTimeField(
        label=_("Starts at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    duration_minutes = forms.IntegerField(
        label=_("Duration (minutes)"), min_value=5, max_value=600, initial=60
    )
    trainer = forms.CharField(label=_("Trainer"), max_length=100, required=False)
    standard = forms.ModelChoiceField(
        label=_("Standard"),
        queryset=ServiceStandard.objects.filter(is_active=True).order_by("code"),
        required=False,
    )
    attendees = forms.TypedMultipleChoiceField(
        label=_("Expected attendees"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None chosen: all active staff of the branch."),
    )

    def __init__(self, *args, branch: Branch, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["attendees"].choices = _staff_choices(branch)


@staff_required(*HEAD)
def training_list(request: HttpRequest) -> HttpResponse:
    form = SessionForm(request.POST or None, branch=request.branch)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            session = services.training_session_create(
                user=request.user,
                branch=request.branch,
                title=data["title"],
                topic=data["topic"],
                trainer=data["trainer"],
                standard=data["standard"],
                starts_at=data["starts_at"],
                duration_minutes=data["duration_minutes"],
                attendee_ids=data["attendees"] or None,
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Training session planned."))
            return redirect("quality:training_session", session.pk)
    return render(
        request,
        "quality/training.html",
        {
            "form": form,
            "sessions": selectors.training_sessions_of(branch=request.branch)[:100],
        },
        status=400 if request.method == "POST" else 200,
    )


@staff_required(*HEAD)
def training_detail(request: HttpRequest, pk: int) -> HttpResponse:
    session = get_for_branch(TrainingSession.objects.all(), request.branch, pk=pk)
    if request.method == "POST":
        ids = [int(v) for v in request.POST.getlist("attended") if v.isdigit() and len(v) < 12]
        try:
            services.training_attendance_mark(session=session, user=request.user, attended_ids=ids)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Attendance saved."))
            return redirect("quality:training_session", session.pk)
    return render(
        request,
        "quality/training_session.html",
        {"session": session, "attendance": selectors.training_attendance(session=session)},
    )


@quality_reader
def training_participation(request: HttpRequest) -> HttpResponse:
    """Participation per branch for a quarter: the region's branches for inspectors and
    regional heads, their own for branch heads."""
    year, quarter = scoring.quarter_of(timezone.localdate())
    try:
        year = int(request.GET.get("year", year))
        quarter = int(request.GET.get("quarter", quarter))
    except ValueError:
        pass
    if not (2000 <= year <= 2100 and 1 <= quarter <= 4):
        year, quarter = scoring.quarter_of(timezone.localdate())
    rows = selectors.participation_by_branch(
        branches=request.quality_branches, year=year, quarter=quarter
    )
    return render(
        request,
        "quality/training_participation.html",
        {
            "rows": rows,
            "year": year,
            "quarter": quarter,
            "is_head": bool(roles.branches_headed_by(request.user)),
        },
    )


urlpatterns = [
    path("training/", training_list, name="training"),
    path("training/<int:pk>/", training_detail, name="training_session"),
    path("training/participation/", training_participation, name="training_participation"),
]
