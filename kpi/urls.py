from .views import dashboard, region, report, staffing, today

app_name = "kpi"

urlpatterns = [
    *today.urlpatterns,
    *dashboard.urlpatterns,
    *region.urlpatterns,
    *report.urlpatterns,
    *staffing.urlpatterns,
]
