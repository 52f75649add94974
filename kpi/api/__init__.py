"""kpi's REST API, one module per area; each lists its own `urlpatterns` (kpi/api_urls.py)."""
