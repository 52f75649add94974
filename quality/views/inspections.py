"""Inspection pages: the list with "start", the tablet fill page, attachments, coverage.

Thin: parse, check who may, call a service or selector, render."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.access import branches_inspected_by
from accounts.errors import DomainError
from accounts.models import Branch

from .. import roles, selectors, services
from ..models import Attachment, Checklist, Inspection
from ._access import quality_reader

__all__ = ["attachment_file", "coverage", "inspection_detail", "inspection_list"]


class StartForm(forms.Form):
    branch = forms.ModelChoiceField(queryset=Branch.objects.none(), label=_("Branch"))
    checklist = forms.ModelChoiceField(queryset=Checklist.objects.none(), label=_("Checklist"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        inspected = branches_inspected_by(user)
        headed = roles.branches_headed_by(user)
        self.fields["branch"].queryset = Branch.objects.filter(
            pk__in=[*inspected.values_list("pk", flat=True), *headed]
        ).order_by("code")
        self.fields["checklist"].queryset = Checklist.objects.filter(is_active=True).order_by(
            "code"
        )


class AnswerForm(forms.Form):
    result = forms.IntegerField(min_value=1, max_value=2**31 - 1)
    outcome = forms.ChoiceField(
        choices=[("pass", _("Pass")), ("fail", _("Fail")), ("na", _("Not applicable"))],
        required=False,
    )
    note = forms.CharField(max_length=500, required=False)
    photo = forms.FileField(required=False)


@quality_reader
def inspection_list(request: HttpRequest) -> HttpResponse:
    form = StartForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            inspection = services.inspection_start(
                user=request.user,
                branch=form.cleaned_data["branch"],
                checklist=form.cleaned_data["checklist"],
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("quality:inspection", inspection.pk)
    rows = selectors.inspections_of(branches=request.quality_branches)[:100]
    can_start = form.fields["branch"].queryset.exists()
    return render(
        request,
        "quality/inspections.html",
        {"rows": rows, "form": form, "can_start": can_start},
    )


def _readable_inspection(request: HttpRequest, pk: int) -> Inspection:
    inspection = get_object_or_404(
        Inspection.objects.select_related("branch", "checklist", "inspector"), pk=pk
    )
    if inspection.branch not in request.quality_branches:
        raise Http404
    return inspection


@quality_reader
def inspection_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the items; POST: save one item (answer, note, photo) or submit."""
    inspection = _readable_inspection(request, pk)
    item_errors: dict[int, str] = {}
    if request.method == "POST":
        if "submit" in request.POST:
            try:
                services.inspection_submit(
                    inspection=inspection,
                    user=request.user,
                    notes=request.POST.get("notes", "")[:2000],
                )
            except services.InspectionIncomplete as exc:
                item_errors = exc.item_errors
                messages.error(request, exc.message)
            except DomainError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, _("Inspection submitted."))
                return redirect("quality:inspection", inspection.pk)
        else:
            form = AnswerForm(request.POST, request.FILES)
            if not form.is_valid():
                messages.error(request, _("Choose pass, fail or not applicable."))
            else:
                data = form.cleaned_data
                try:
                    if data["outcome"]:
                        services.inspection_answer(
                            inspection=inspection,
                            user=request.user,
                            result_id=data["result"],
                            outcome=data["outcome"],
                            note=data["note"],
                        )
                    if data["photo"]:
                        services.inspection_photo_add(
                            inspection=inspection,
                            user=request.user,
                            result_id=data["result"],
                            upload=data["photo"],
                        )
                except DomainError as exc:
                    item_errors = {data["result"]: str(exc.message)}
                else:
                    return redirect(f"{request.path}#item-{data['result']}")
        inspection.refresh_from_db()
    items = selectors.inspection_items(inspection=inspection)
    for entry in items:
        entry["error"] = item_errors.get(entry["result"].pk, "")
    editable = (
        inspection.status == Inspection.Status.IN_PROGRESS
        and inspection.inspector_id == request.user.pk
    )
    return render(
        request,
        "quality/inspection.html",
        {
            "inspection": inspection,
            "items": items,
            "editable": editable,
            "outcomes": AnswerForm.base_fields["outcome"].choices,
        },
        status=400 if item_errors else 200,
    )


@quality_reader
def attachment_file(request: HttpRequest, pk: int) -> FileResponse:
    """An inspection photo or a finding's evidence, for whoever may read its branch; never
    through a public URL."""
    attachment = get_object_or_404(
        Attachment.objects.select_related("result__inspection", "finding"), pk=pk
    )
    branch_id = (
        attachment.result.inspection.branch_id
        if attachment.result
        else attachment.finding.branch_id
    )
    if branch_id not in {b.pk for b in request.quality_branches}:
        raise Http404
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    response = FileResponse(handle, content_type=attachment.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=0"
    return response


@quality_reader
def coverage(request: HttpRequest) -> HttpResponse:
    branches = request.quality_branches
    today = timezone.localdate()
    rows = selectors.coverage_rows(branches=branches, today=today)
    return render(
        request,
        "quality/coverage.html",
        {"rows": rows, "summary": selectors.coverage_summary(rows), "today": today},
    )


urlpatterns = [
    path("inspections/", inspection_list, name="inspections"),
    path("inspections/<int:pk>/", inspection_detail, name="inspection"),
    path("attachments/<int:pk>/", attachment_file, name="attachment"),
    path("coverage/", coverage, name="coverage"),
]
