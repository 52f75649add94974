"""/api/crm/… (namespace "api" comes from config/api_urls.py)."""

from django.urls import path

from . import api

urlpatterns = [
    path("customers/", api.CustomerListApi.as_view(), name="crm-customer-list"),
    path("customers/search/", api.CustomerSearchApi.as_view(), name="crm-customer-search"),
    path("customers/<int:pk>/", api.CustomerDetailApi.as_view(), name="crm-customer-detail"),
    path(
        "customers/<int:pk>/interactions/",
        api.CustomerInteractionListApi.as_view(),
        name="crm-customer-interactions",
    ),
    path(
        "customers/<int:pk>/notes/",
        api.CustomerNoteCreateApi.as_view(),
        name="crm-customer-note-create",
    ),
]
