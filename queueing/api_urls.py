"""/api/queue/… (namespace "api" comes from config/api_urls.py).

tickets/<id>/transfer/, tickets/<id>/finish/ and tickets/<id>/check-in/ are served by reception
(config/api_urls.py): the visit moves, records the teller's checklist, or records the remote
customer's arrival, in the same transaction."""

from django.urls import path

from . import api

urlpatterns = [
    path("services/", api.ServiceListApi.as_view(), name="queue-service-list"),
    path("counters/", api.CounterListApi.as_view(), name="queue-counter-list"),
    path("counters/<int:pk>/open/", api.CounterOpenApi.as_view(), name="queue-counter-open"),
    path("counters/<int:pk>/close/", api.CounterCloseApi.as_view(), name="queue-counter-close"),
    path("counters/<int:pk>/pause/", api.CounterPauseApi.as_view(), name="queue-counter-pause"),
    path("counters/<int:pk>/resume/", api.CounterResumeApi.as_view(), name="queue-counter-resume"),
    path(
        "counters/<int:pk>/take-over/",
        api.CounterTakeOverApi.as_view(),
        name="queue-counter-take-over",
    ),
    path(
        "counters/<int:pk>/call-next/",
        api.CounterCallNextApi.as_view(),
        name="queue-counter-call-next",
    ),
    path("tickets/", api.TicketListApi.as_view(), name="queue-ticket-list"),
    path("tickets/<int:pk>/", api.TicketDetailApi.as_view(), name="queue-ticket-detail"),
    path("tickets/<int:pk>/recall/", api.TicketRecallApi.as_view(), name="queue-ticket-recall"),
    path("tickets/<int:pk>/start/", api.TicketStartApi.as_view(), name="queue-ticket-start"),
    path("tickets/<int:pk>/no-show/", api.TicketNoShowApi.as_view(), name="queue-ticket-no-show"),
    path("tickets/<int:pk>/cancel/", api.TicketCancelApi.as_view(), name="queue-ticket-cancel"),
]
