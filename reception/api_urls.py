"""/api/reception/… (namespace "api" comes from config/api_urls.py)."""

from django.urls import path

from . import api

urlpatterns = [
    # Pre-filled forms (reception/api/forms.py)
    path("forms/", api.FormForServiceApi.as_view(), name="reception-form"),
    path("visits/<int:pk>/form/", api.VisitFormApi.as_view(), name="reception-visit-form"),
    # Remote queueing (reception/api/remote.py)
    path("remote-tickets/", api.RemoteTicketListApi.as_view(), name="reception-remote-ticket-list"),
    path(
        "remote-tickets/<int:pk>/check-in/",
        api.RemoteTicketCheckInApi.as_view(),
        name="reception-remote-ticket-check-in",
    ),
    # Appointments (reception/api/appointments.py)
    path("slots/", api.AppointmentSlotsApi.as_view(), name="reception-slots"),
    path("appointments/", api.AppointmentListApi.as_view(), name="reception-appointment-list"),
    path(
        "appointments/<int:pk>/",
        api.AppointmentDetailApi.as_view(),
        name="reception-appointment-detail",
    ),
    path(
        "appointments/<int:pk>/cancel/",
        api.AppointmentCancelApi.as_view(),
        name="reception-appointment-cancel",
    ),
    path(
        "appointments/<int:pk>/reschedule/",
        api.AppointmentRescheduleApi.as_view(),
        name="reception-appointment-reschedule",
    ),
    path(
        "appointments/<int:pk>/check-in/",
        api.AppointmentCheckInApi.as_view(),
        name="reception-appointment-check-in",
    ),
    path("visits/", api.VisitListApi.as_view(), name="reception-visit-list"),
    path("visits/<int:pk>/", api.VisitDetailApi.as_view(), name="reception-visit-detail"),
    path(
        "visits/<int:pk>/complete/",
        api.VisitCompleteApi.as_view(),
        name="reception-visit-complete",
    ),
    # The teller's "Next" key: the finish (served by reception, config/api_urls.py) and
    # call-next in one request (reception/api/desk.py).
    path(
        "tickets/<int:pk>/finish-and-call-next/",
        api.TicketFinishAndCallNextApi.as_view(),
        name="reception-ticket-finish-and-call-next",
    ),
    # Errors at the counters (reception/api/handling.py)
    path("errors/", api.ServiceErrorListApi.as_view(), name="reception-error-list"),
    path("overview/", api.LobbyOverviewApi.as_view(), name="reception-overview"),
    path("alerts/", api.LobbyAlertListApi.as_view(), name="reception-alert-list"),
    path(
        "alerts/<int:pk>/acknowledge/",
        api.LobbyAlertAcknowledgeApi.as_view(),
        name="reception-alert-acknowledge",
    ),
]
