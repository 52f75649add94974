from django.urls import path

from . import views

app_name = "crm"

urlpatterns = [
    path("", views.search, name="search"),
    path("customers/<int:pk>/", views.customer, name="customer"),
    # The customer record and the lists (issue 7: customers)
    path("customers/", views.customer_list, name="customers"),
    path("customers/<int:pk>/edit/", views.customer_edit, name="customer_edit"),
    path("customers/<int:pk>/reveal/", views.customer_reveal, name="customer_reveal"),
    path("customers/<int:pk>/merge/", views.customer_merge, name="customer_merge"),
    path("interactions/", views.interaction_list, name="interactions"),
    path("reveals/", views.reveal_log_list, name="reveals"),
    # Care reminders (issue 7)
    path("reminders/", views.reminder_list, name="reminders"),
    path("reminders/mine/", views.reminders_mine, name="reminders_mine"),
    path("reminders/<int:pk>/done/", views.reminder_done, name="reminder_done"),
    path("reminders/<int:pk>/cancel/", views.reminder_cancel, name="reminder_cancel"),
    path("customers/<int:pk>/reminders/", views.reminder_create, name="reminder_create"),
    # Complaints (issue 7)
    path("complaints/", views.complaint_list, name="complaints"),
    path("complaints/new/", views.complaint_new, name="complaint_new"),
    path("complaints/<int:pk>/", views.complaint_detail, name="complaint"),
    path("complaints/<int:pk>/<slug:action>/", views.complaint_action, name="complaint_action"),
]
