from django.urls import path

from . import views

app_name = "crm"

urlpatterns = [
    path("", views.search, name="search"),
    path("customers/<int:pk>/", views.customer, name="customer"),
]
