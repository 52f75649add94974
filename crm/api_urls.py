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
    # The customer record and lists (issue 7: customers)
    path("interactions/", api.InteractionListApi.as_view(), name="crm-interaction-list"),
    path(
        "customers/<int:pk>/profile/",
        api.CustomerProfileApi.as_view(),
        name="crm-customer-profile",
    ),
    path("customers/<int:pk>/reveal/", api.CustomerRevealApi.as_view(), name="crm-customer-reveal"),
    path("customers/<int:pk>/merge/", api.CustomerMergeApi.as_view(), name="crm-customer-merge"),
    # Care reminders (issue 7)
    path("reminders/", api.ReminderListApi.as_view(), name="crm-reminder-list"),
    path("reminders/<int:pk>/", api.ReminderDetailApi.as_view(), name="crm-reminder-detail"),
    path("reminders/<int:pk>/done/", api.ReminderDoneApi.as_view(), name="crm-reminder-done"),
    path("reminders/<int:pk>/cancel/", api.ReminderCancelApi.as_view(), name="crm-reminder-cancel"),
    # Complaints (issue 7)
    path("complaints/", api.ComplaintListApi.as_view(), name="crm-complaint-list"),
    path("complaints/<int:pk>/", api.ComplaintDetailApi.as_view(), name="crm-complaint-detail"),
    path(
        "complaints/<int:pk>/assign/",
        api.ComplaintAssignApi.as_view(),
        name="crm-complaint-assign",
    ),
    path("complaints/<int:pk>/start/", api.ComplaintStartApi.as_view(), name="crm-complaint-start"),
    path(
        "complaints/<int:pk>/resolve/",
        api.ComplaintResolveApi.as_view(),
        name="crm-complaint-resolve",
    ),
    path(
        "complaints/<int:pk>/inform/",
        api.ComplaintInformApi.as_view(),
        name="crm-complaint-inform",
    ),
    path("complaints/<int:pk>/close/", api.ComplaintCloseApi.as_view(), name="crm-complaint-close"),
]
