"""/api/feedback/… (namespace "api" comes from config/api_urls.py)."""

from django.urls import path

from . import api

urlpatterns = [
    path("invitations/", api.InvitationListApi.as_view(), name="feedback-invitation-list"),
    path("responses/", api.ResponseListApi.as_view(), name="feedback-response-list"),
    path(
        "public/responses/",
        api.PublicResponseCreateApi.as_view(),
        name="feedback-public-response-create",
    ),
    # Issue 8 (H11): the phone call-back survey.
    path(
        "phone-survey/candidates/",
        api.PhoneSurveyCandidateListApi.as_view(),
        name="feedback-phone-candidate-list",
    ),
    path(
        "phone-survey/responses/",
        api.PhoneSurveyResponseCreateApi.as_view(),
        name="feedback-phone-response-create",
    ),
    # Issue 8 (H12): the current survey, rating-pad answers, follow-ups, suggestions.
    path("surveys/current/", api.SurveyCurrentApi.as_view(), name="feedback-survey-current"),
    path("pad-answers/", api.PadAnswerListApi.as_view(), name="feedback-pad-answer-list"),
    path("follow-ups/", api.FollowUpListApi.as_view(), name="feedback-follow-up-list"),
    path(
        "follow-ups/<int:pk>/call/",
        api.FollowUpCallApi.as_view(),
        name="feedback-follow-up-call",
    ),
    path(
        "follow-ups/<int:pk>/close/",
        api.FollowUpCloseApi.as_view(),
        name="feedback-follow-up-close",
    ),
    path(
        "suggestions/",
        api.SuggestionListCreateApi.as_view(),
        name="feedback-suggestion-list",
    ),
    path(
        "suggestions/<int:pk>/answer/",
        api.SuggestionAnswerApi.as_view(),
        name="feedback-suggestion-answer",
    ),
]
