"""/api/kpi/… (namespace "api" comes from config/api_urls.py)."""

from django.urls import path

from . import api

urlpatterns = [
    path("today/", api.TodayApi.as_view(), name="kpi-today"),
    path("snapshots/", api.SnapshotListApi.as_view(), name="kpi-snapshot-list"),
]
