"""The closed loop's pages (issue 8): follow-ups, the suggestion box (public and staff), and the
branch head's feedback page. Thin: parse, call a service or selector, render."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import get_for_branch, staff_required
from accounts.errors import DomainError
from accounts.models import Branch, Role
from accounts.throttle import rate_limited

from .. import selectors, services
from ..forms import (
    FollowUpCallForm,
    FollowUpCloseForm,
    ReportFilter,
    SuggestionAnswerForm,
    SuggestionForm,
)
from ..links import branch_id_from_suggest_token
from ..models import FollowUp, Suggestion

__all__ = [
    "feedback_report",
    "follow_up_action",
    "follow_up_detail",
    "follow_up_list",
    "suggest_public",
    "suggestion_answer",
    "suggestion_list",
]

HEAD = (Role.BRANCH_HEAD,)
STAFF = (Role.LOBBY_MANAGER, Role.TELLER, Role.BRANCH_HEAD)
PAGE_SIZE = 25


@staff_required(*HEAD)
def follow_up_list(request: HttpRequest) -> HttpResponse:
    rows = selectors.follow_ups_for_branch(branch=request.branch).order_by("status", "-created_at")
    status = request.GET.get("status", "")
    if status in FollowUp.Status.values:
        rows = rows.filter(status=status)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "feedback/loop/follow_ups.html", {"page": page, "status": status})


def _follow_up_context(request: HttpRequest, follow_up: FollowUp, **forms) -> dict:
    return {
        "follow_up": follow_up,
        "response": follow_up.response,
        "call_form": forms.get("call_form") or FollowUpCallForm(),
        "close_form": forms.get("close_form") or FollowUpCloseForm(),
    }


@staff_required(*HEAD)
def follow_up_detail(request: HttpRequest, pk: int) -> HttpResponse:
    follow_up = get_for_branch(
        selectors.follow_ups_for_branch(branch=request.branch), request.branch, pk=pk
    )
    return render(request, "feedback/loop/follow_up.html", _follow_up_context(request, follow_up))


@staff_required(*HEAD)
@require_POST
def follow_up_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    follow_up = get_for_branch(
        selectors.follow_ups_for_branch(branch=request.branch), request.branch, pk=pk
    )
    if action == "call":
        form = FollowUpCallForm(request.POST)
        call = services.follow_up_record_call
        forms_key, done = "call_form", _("Call back recorded.")
    elif action == "close":
        form = FollowUpCloseForm(request.POST)
        call = services.follow_up_close
        forms_key, done = "close_form", _("Follow-up closed.")
    else:
        raise Http404
    if form.is_valid():
        try:
            call(
                follow_up_id=follow_up.pk,
                branch=request.branch,
                by=request.user,
                result=form.cleaned_data["result"],
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, done)
            return redirect("feedback:follow_up", pk=follow_up.pk)
    context = _follow_up_context(request, follow_up, **{forms_key: form})
    return render(request, "feedback/loop/follow_up.html", context, status=400)


# --- Suggestions ---------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@rate_limited("survey_page")
def suggest_public(request: HttpRequest, token: str) -> HttpResponse:
    """The lobby poster's QR code: anyone may leave a suggestion, optionally a number."""
    branch_id = branch_id_from_suggest_token(token)
    branch = Branch.objects.filter(pk=branch_id).first() if branch_id else None
    if branch is None:
        return render(request, "feedback/survey_invalid.html", status=404)
    form = SuggestionForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.suggestion_create(branch=branch, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(exc.code if exc.code in form.fields else None, exc.message)
        else:
            return render(request, "feedback/loop/suggest_thanks.html", {"branch": branch})
    status = 400 if request.method == "POST" else 200
    return render(
        request, "feedback/loop/suggest.html", {"branch": branch, "form": form}, status=status
    )


@staff_required(*STAFF)
@require_http_methods(["GET", "POST"])
def suggestion_list(request: HttpRequest) -> HttpResponse:
    """Staff leave a suggestion and see the answers; the branch head answers here."""
    form = SuggestionForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.suggestion_create(
                branch=request.branch, author=request.user, **form.cleaned_data
            )
        except DomainError as exc:
            form.add_error(exc.code if exc.code in form.fields else None, exc.message)
        else:
            messages.success(request, _("Thank you: your suggestion reached the branch head."))
            return redirect("feedback:suggestions")
    rows = selectors.suggestions_for_branch(branch=request.branch)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    is_head = bool(request.roles & {Role.BRANCH_HEAD, Role.ADMIN})
    return render(
        request,
        "feedback/loop/suggestions.html",
        {"form": form, "page": page, "is_head": is_head, "answer_form": SuggestionAnswerForm()},
        status=400 if request.method == "POST" else 200,
    )


@staff_required(*HEAD)
@require_POST
def suggestion_answer(request: HttpRequest, pk: int) -> HttpResponse:
    suggestion = get_for_branch(Suggestion.objects.all(), request.branch, pk=pk)
    form = SuggestionAnswerForm(request.POST)
    if form.is_valid():
        try:
            services.suggestion_answer(
                suggestion_id=suggestion.pk,
                branch=request.branch,
                by=request.user,
                **form.cleaned_data,
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Answer saved."))
    else:
        messages.error(request, _("Choose adopted or declined and write the answer."))
    return redirect("feedback:suggestions")


# --- The branch head's feedback page -------------------------------------------------------------


@staff_required(*HEAD)
def feedback_report(request: HttpRequest) -> HttpResponse:
    filterset = ReportFilter(request.GET or None)
    start = end = None
    if filterset.is_bound and filterset.is_valid():
        start, end = (
            filterset.form.cleaned_data.get("start"),
            filterset.form.cleaned_data.get("end"),
        )
    report = selectors.feedback_report(branch=request.branch, start=start, end=end)
    status = 400 if filterset.is_bound and not filterset.is_valid() else 200
    return render(
        request, "feedback/loop/report.html", {"filter": filterset, "report": report}, status=status
    )
