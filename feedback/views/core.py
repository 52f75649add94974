"""Pages of this app (thin: parse, call a service or selector, render).

The customer's survey: no login, the signed one-time token in the SMS link is the authority.
The questions are the branch's current survey version, in the customer's language.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.views.decorators.http import require_http_methods

from accounts.throttle import rate_limited

from .. import services
from ..forms import survey_form_for
from ..models import SurveyInvitation


def _page_language(request: HttpRequest, invitation: SurveyInvitation) -> str:
    """The customer's preferred language, unless they picked one with the language switch."""
    if request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME):
        return translation.get_language()
    return invitation.customer.preferred_language or settings.LANGUAGE_CODE


def _invalid(request: HttpRequest) -> HttpResponse:
    return render(request, "feedback/survey_invalid.html", status=404)


@require_http_methods(["GET", "POST"])
@rate_limited("survey_page")
def survey(request: HttpRequest, token: str) -> HttpResponse:
    invitation = services.invitation_from_token(token)
    if invitation is None:
        return _invalid(request)
    language = _page_language(request, invitation)
    with translation.override(language):
        branch = invitation.branch
        context = {
            "branch": branch,
            "token": token,
            # Only that visit's branch and local date: nothing about staff or other visits.
            "visit_date": timezone.localtime(invitation.interaction.occurred_at, branch.tz).date(),
        }
        if invitation.status == SurveyInvitation.Status.ANSWERED:
            return render(request, "feedback/survey_answered.html", context)
        version = services.survey_current_version(branch)
        questions = services.version_questions_for(version, invitation.interaction.service_code)
        form = survey_form_for(
            questions, language, request.POST if request.method == "POST" else None
        )
        if request.method == "POST" and form.is_valid():
            try:
                services.survey_answers_submit(
                    token=token,
                    raw_answers=form.cleaned_data,
                    language=language,
                    version_id=version.pk,
                )
            except services.SurveyError as error:
                if error.code == "answered":
                    return render(request, "feedback/survey_answered.html", context)
                if error.code == "bad_link":
                    return _invalid(request)
                form.add_error(None, error.message)
            else:
                return render(request, "feedback/survey_thanks.html", context)
        return render(request, "feedback/survey.html", context | {"form": form})


@require_http_methods(["POST"])
@rate_limited("survey_page")
def survey_opt_out(request: HttpRequest, token: str) -> HttpResponse:
    """ "No more SMS from us": a signed POST from the survey page (the link is the authority)."""
    if not services.survey_opt_out(token=token):
        return _invalid(request)
    return render(request, "feedback/survey_opted_out.html", {})
