from django.urls import path

from . import views

app_name = "reception"

urlpatterns = [
    path("lobby/", views.lobby, name="lobby"),
    path("lobby/lookup/", views.customer_lookup, name="customer_lookup"),
    path("lobby/visits/", views.lobby_visits, name="lobby_visits"),
    path("visits/<int:pk>/", views.visit_done, name="visit_done"),
    path("visits/<int:pk>/form/", views.visit_form, name="visit_form"),
    path("visits/<int:pk>/form/reveal/", views.visit_form_reveal, name="visit_form_reveal"),
    path("tickets/<int:pk>/cancel/", views.ticket_cancel, name="ticket_cancel"),
    path("tickets/<int:pk>/reinstate/", views.ticket_reinstate, name="ticket_reinstate"),
    # Appointments (reception/views/appointments.py)
    path("appointments/", views.appointments_day, name="appointments"),
    path("appointments/book/", views.appointments_book_staff, name="appointments_book"),
    path("appointments/poster/", views.appointments_poster, name="appointments_poster"),
    path(
        "appointments/<int:pk>/check-in/",
        views.appointment_check_in_staff,
        name="appointment_check_in",
    ),
    path(
        "appointments/<int:pk>/cancel/", views.appointment_cancel_staff, name="appointment_cancel"
    ),
    # Remote queueing (reception/views/remote.py)
    path("remote-tickets/", views.remote_tickets, name="remote_tickets"),
    path(
        "remote-tickets/<int:pk>/check-in/",
        views.remote_ticket_check_in,
        name="remote_ticket_check_in",
    ),
    path("counters/", views.counters, name="counters"),
    path("counters/<int:pk>/", views.counter, name="counter"),
    path("counters/<int:pk>/action/", views.counter_action, name="counter_action"),
    path("counters/<int:pk>/waiting/", views.counter_waiting, name="counter_waiting"),
    path("errors/", views.errors_page, name="errors"),
    path("overview/", views.overview_page, name="overview"),
    path("overview/live/", views.overview_live, name="overview_live"),
    path(
        "overview/alerts/<int:pk>/acknowledge/",
        views.overview_alert_acknowledge,
        name="alert_acknowledge",
    ),
]
