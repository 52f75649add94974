from django.urls import include, path

app_name = "api"

urlpatterns = [
    path("queue/", include("queueing.api_urls")),
    path("reception/", include("reception.api_urls")),
    path("crm/", include("crm.api_urls")),
    path("feedback/", include("feedback.api_urls")),
    path("kpi/", include("kpi.api_urls")),
]
