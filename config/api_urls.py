from django.urls import include, path

from reception.api import RemoteTicketCheckInApi, TicketFinishApi, TicketTransferApi

app_name = "api"

urlpatterns = [
    # A transfer moves the visit with the ticket, so reception serves it (docs/architecture.md).
    path(
        "queue/tickets/<int:pk>/transfer/",
        TicketTransferApi.as_view(),
        name="queue-ticket-transfer",
    ),
    # Finishing records the teller's checklist on the visit (visit_complete_service): the same
    # rules as the counter screen, so reception serves it too.
    path(
        "queue/tickets/<int:pk>/finish/",
        TicketFinishApi.as_view(),
        name="queue-ticket-finish",
    ),
    # Checking in a remote ticket records the customer's arrival on the visit too
    # (reception.services.remote_check_in): reception serves it, as the lobby's button.
    path(
        "queue/tickets/<int:pk>/check-in/",
        RemoteTicketCheckInApi.as_view(),
        name="queue-ticket-check-in",
    ),
    path("queue/", include("queueing.api_urls")),
    path("reception/", include("reception.api_urls")),
    path("crm/", include("crm.api_urls")),
    path("feedback/", include("feedback.api_urls")),
    path("kpi/", include("kpi.api_urls")),
    path("quality/", include("quality.api_urls")),
]
