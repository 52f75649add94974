"""/visit/…: the customer's own pages, reached from the branch's QR poster, an SMS or the ticket's
QR code. No staff login: a verified phone (reception.verification) or a signed link."""

from django.urls import path

from .views import appointments as appointment_views
from .views import forms as form_views
from .views import remote as remote_views

app_name = "visit"

urlpatterns: list = [
    # Remote queueing (reception/views/remote.py): from the branch's QR poster
    path("b/<str:token>/join/", remote_views.remote_join, name="remote_join"),
    path("b/<str:token>/check-in/", remote_views.remote_check_in, name="remote_check_in"),
    # Pre-filled forms (reception/views/forms.py): the ticket's status token
    path("form/<str:token>/", form_views.customer_form, name="form"),
    # Appointments (reception/views/appointments.py)
    path("verify/", appointment_views.visit_verify, name="verify"),
    path("a/<str:token>/", appointment_views.visit_appointment, name="appointment"),
    path("b/<str:token>/", appointment_views.visit_branch, name="branch"),
    path(
        "b/<str:token>/appointments/",
        appointment_views.visit_branch_appointments,
        name="branch_appointments",
    ),
    path("<slug:branch_code>/book/", appointment_views.visit_book, name="book"),
    path(
        "<slug:branch_code>/book/confirm/",
        appointment_views.visit_book_confirm,
        name="book_confirm",
    ),
]
