from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import views

urlpatterns = [
    # First: Django tries the patterns in order, and every request of the counters and tablets
    # is an API call (the eleven includes before it cost each one ~60 us of resolving).
    # "api/schema/" and "api/docs/" below are still reached: config.api_urls does not match them.
    path("api/", include("config.api_urls")),
    path("", views.home, name="home"),
    path("healthz/", views.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("branch/switch/", views.switch_branch, name="switch_branch"),
    path("admin/", admin.site.urls),
    path("reception/", include("reception.urls")),
    path("visit/", include("reception.public_urls")),
    path("queue/", include("queueing.urls")),
    path("crm/", include("crm.urls")),
    path("survey/", include("feedback.urls")),
    path("kpi/", include("kpi.urls")),
    path("quality/", include("quality.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]
