from django.urls import include, path

from reception.api import TicketTransferApi

app_name = "api"

urlpatterns = [
    # A transfer moves the visit with the ticket, so reception serves it (docs/architecture.md).
    path(
        "queue/tickets/<int:pk>/transfer/",
        TicketTransferApi.as_view(),
        name="queue-ticket-transfer",
    ),
    path("queue/", include("queueing.api_urls")),
    path("reception/", include("reception.api_urls")),
    path("crm/", include("crm.api_urls")),
    path("feedback/", include("feedback.api_urls")),
    path("kpi/", include("kpi.api_urls")),
]
