from django.urls import path

from . import views

app_name = "reception"

urlpatterns = [
    path("lobby/", views.lobby, name="lobby"),
    path("lobby/lookup/", views.customer_lookup, name="customer_lookup"),
    path("lobby/visits/", views.lobby_visits, name="lobby_visits"),
    path("visits/<int:pk>/", views.visit_done, name="visit_done"),
    path("tickets/<int:pk>/cancel/", views.ticket_cancel, name="ticket_cancel"),
    path("tickets/<int:pk>/reinstate/", views.ticket_reinstate, name="ticket_reinstate"),
    path("counters/", views.counters, name="counters"),
    path("counters/<int:pk>/", views.counter, name="counter"),
    path("counters/<int:pk>/action/", views.counter_action, name="counter_action"),
    path("counters/<int:pk>/waiting/", views.counter_waiting, name="counter_waiting"),
]
