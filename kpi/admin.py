from django.contrib import admin

from accounts.admin_scoping import READ_ONLY, BranchScopedAdmin

from .models import KpiSnapshot


@admin.register(KpiSnapshot)
class KpiSnapshotAdmin(BranchScopedAdmin):
    # Computed by beat from tickets, visits and answers; an edit would be overwritten (or worse,
    # believed).
    branch_admin_may = READ_ONLY
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
