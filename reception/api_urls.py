"""/api/reception/… (namespace "api" comes from config/api_urls.py)."""

from django.urls import path

from . import api

urlpatterns = [
    path("visits/", api.VisitListApi.as_view(), name="reception-visit-list"),
    path("visits/<int:pk>/", api.VisitDetailApi.as_view(), name="reception-visit-detail"),
    path(
        "visits/<int:pk>/complete/",
        api.VisitCompleteApi.as_view(),
        name="reception-visit-complete",
    ),
]
