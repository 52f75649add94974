"""/api/quality/… (namespace "api" comes from config/api_urls.py)."""

from .api import benchmark, duty, findings, inspections, knowledge, standards, training

urlpatterns = [
    *knowledge.urlpatterns,
    *standards.urlpatterns,
    *inspections.urlpatterns,
    *findings.urlpatterns,
    *benchmark.urlpatterns,
    *training.urlpatterns,
    *duty.urlpatterns,
]
