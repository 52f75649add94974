"""The counter rating pad (public, paired by its token like the display board) and the staff's
phone call-back survey screen."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.access import staff_required
from accounts.errors import DomainError
from accounts.models import Role
from accounts.throttle import rate_limited
from queueing.live import live_context

from .. import selectors, services
from ..forms import survey_form_for
from ..models import RatingPad, SurveyResponse
from ..pad_rules import PAD_REASONS

__all__ = ["pad", "pad_answer", "pad_state", "phone_survey", "phone_survey_list"]

PHONE_SURVEY_ROLES = (Role.BRANCH_HEAD, Role.LOBBY_MANAGER)


def _pad_or_404(token: str) -> RatingPad:
    found = selectors.pad_by_token(token=token)
    if found is None:
        raise Http404
    return found


def _state_context(found: RatingPad, token: str, **extra) -> dict:
    context = {
        "pad": found,
        "token": token,
        "ticket": selectors.pad_ticket_to_rate(pad=found),
        "ratings": SurveyResponse.PadRating.choices,
        "reasons": list(PAD_REASONS.items()),
    }
    context.update(extra)
    return context


@require_GET
@rate_limited("public_page")
def pad(request: HttpRequest, token: str) -> HttpResponse:
    found = _pad_or_404(token)
    context = _state_context(found, token)
    context.update(
        branch=found.branch,
        live=live_context(request, found.branch_id),
        state_url=reverse("feedback:pad_state", args=[token]),
    )
    return render(request, "feedback/pad/pad.html", context)


@require_GET
@rate_limited("public_page")
def pad_state(request: HttpRequest, token: str) -> HttpResponse:
    found = _pad_or_404(token)
    response = render(request, "feedback/pad/pad.html#state", _state_context(found, token))
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@rate_limited("public_page")
def pad_answer(request: HttpRequest, token: str) -> HttpResponse:
    found = _pad_or_404(token)
    rating = request.POST.get("rating", "")
    reason = request.POST.get("reason", "")
    try:
        ticket_id = int(request.POST.get("ticket", ""))
    except ValueError:
        ticket_id = 0
    extra: dict = {}
    if rating == "dissatisfied" and "reason" not in request.POST:
        # Step two: ask why (tap), before recording anything.
        extra = {"ask_reason": True, "ticket_id": ticket_id}
    else:
        if reason == "none":
            reason = ""
        try:
            services.pad_answer(
                pad=found,
                ticket_id=ticket_id,
                rating=rating,
                reason=reason,
                language=translation.get_language() or "",
            )
        except services.PadError as error:
            extra = {"error": error.message}
        else:
            extra = {"thanks": True}
    context = _state_context(found, token, **extra)
    context.update(
        branch=found.branch,
        live=live_context(request, found.branch_id),
        state_url=reverse("feedback:pad_state", args=[token]),
    )
    return render(request, "feedback/pad/pad.html", context)


# --- The phone call-back survey (staff) ---------------------------------------------------------


@require_GET
@staff_required(*PHONE_SURVEY_ROLES)
def phone_survey_list(request: HttpRequest) -> HttpResponse:
    candidates = selectors.phone_survey_candidates(branch=request.branch)[:100]
    return render(request, "feedback/pad/phone_list.html", {"candidates": candidates})


@require_http_methods(["GET", "POST"])
@staff_required(*PHONE_SURVEY_ROLES)
def phone_survey(request: HttpRequest, interaction_id: int) -> HttpResponse:
    interaction = (
        selectors.phone_survey_candidates(branch=request.branch).filter(pk=interaction_id).first()
    )
    if interaction is None:
        raise Http404
    language = translation.get_language() or ""
    version, questions = services.phone_survey_questions(
        branch=request.branch, service_code=interaction.service_code
    )
    form = survey_form_for(questions, language, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.phone_survey_submit(
                branch=request.branch,
                interaction_id=interaction.pk,
                recorded_by=request.user,
                raw_answers=form.cleaned_data,
                language=language,
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, gettext("The answers of the call were recorded."))
            return redirect("feedback:phone_survey_list")
    return render(
        request,
        "feedback/pad/phone_form.html",
        {"interaction": interaction, "form": form, "version": version},
    )
