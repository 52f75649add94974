"""/api/kpi/… (namespace "api" comes from config/api_urls.py)."""

from .api import series, staffing, today

urlpatterns = [*today.urlpatterns, *series.urlpatterns, *staffing.urlpatterns]
