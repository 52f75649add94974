from django.urls import path

from . import live, views

app_name = "queueing"

urlpatterns = [
    # The lobby display board: authorised by the branch's display token, no login.
    path("board/<str:token>/", views.board, name="board"),
    path("board/<str:token>/state/", views.board_state, name="board_state"),
    # Staff: print a ticket (58/80 mm thermal).
    path("tickets/<int:pk>/print/", views.ticket_print, name="ticket_print"),
    # The customer's own ticket, by signed link (the printed QR code): short path, short QR.
    path("t/<str:token>/", views.ticket_status, name="ticket_status"),
    path("t/<str:token>/state/", views.ticket_status_state, name="ticket_status_state"),
    path("t/<str:token>/cancel/", views.ticket_status_cancel, name="ticket_status_cancel"),
    # Live updates for every screen: version polling and server-sent events (queueing/live.py).
    path("live/<str:token>/v/", live.version, name="version"),
    path("live/<str:token>/events/", live.events, name="events"),
    # Long poll for API clients (a teller with nobody waiting): answers when the version moves.
    path("live/<str:token>/wait/", live.wait, name="wait"),
]
