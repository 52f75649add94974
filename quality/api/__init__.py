"""quality's REST API, one module per area; each lists its own `urlpatterns`."""
