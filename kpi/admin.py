from django.contrib import admin

from .models import KpiSnapshot


@admin.register(KpiSnapshot)
class KpiSnapshotAdmin(admin.ModelAdmin):
    list_display = [
        "branch",
        "day",
        "hour",
        "service_code",
        "served",
        "avg_wait_s",
        "avg_satisfaction",
    ]
    list_filter = ["branch", "day"]
