from .views import benchmark, duty, findings, inspections, knowledge, standards, training

app_name = "quality"

urlpatterns = [
    *knowledge.urlpatterns,
    *standards.urlpatterns,
    *inspections.urlpatterns,
    *findings.urlpatterns,
    *benchmark.urlpatterns,
    *training.urlpatterns,
    *duty.urlpatterns,
]
