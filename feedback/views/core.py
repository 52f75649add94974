"""Pages of this app (thin: parse, call a service or selector, render).

The customer's survey: no login, the signed one-time token in the SMS link is the authority.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.views.decorators.http import require_http_methods

from accounts.throttle import rate_limited

from . import services
from .forms import SurveyForm
from .models import SurveyInvitation


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
    with translation.override(_page_language(request, invitation)):
        branch = invitation.branch
        context = {
            "branch": branch,
            # Only that visit's branch and local date: nothing about staff or other visits.
            "visit_date": timezone.localtime(invitation.interaction.occurred_at, branch.tz).date(),
        }
        if invitation.status == SurveyInvitation.Status.ANSWERED:
            return render(request, "feedback/survey_answered.html", context)
        form = SurveyForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                services.response_submit(token=token, **form.cleaned_data)
            except services.SurveyError as error:
                if error.code == "answered":
                    return render(request, "feedback/survey_answered.html", context)
                if error.code == "bad_link":
                    return _invalid(request)
                form.add_error(None, error.message)
            else:
                return render(request, "feedback/survey_thanks.html", context)
        return render(request, "feedback/survey.html", context | {"form": form})
