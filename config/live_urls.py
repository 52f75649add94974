"""The live service's URLs (config/live_settings.py): nothing else is reachable there."""

from django.urls import include, path

from queueing import live

from . import views

live_patterns = [
    path("live/<str:token>/v/", live.version, name="version"),
    path("live/<str:token>/events/", live.events, name="events"),
    path("live/<str:token>/wait/", live.wait, name="wait"),
]

urlpatterns = [
    path("healthz/", views.healthz, name="healthz"),
    path("queue/", include((live_patterns, "queueing"))),
]
