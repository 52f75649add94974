from django.urls import path

from . import views

app_name = "kpi"

urlpatterns = [
    path("", views.today, name="today"),
]
