"""quality's pages, one module per area; each lists its own `urlpatterns` (quality/urls.py)."""
