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
]
