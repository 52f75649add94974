from django.contrib import admin

from accounts.admin_scoping import READ_ONLY, BranchScopedAdmin

from .models import Visit


@admin.register(Visit)
class VisitAdmin(BranchScopedAdmin):
    # For a branch administrator a visit is a record: it changes at the lobby and counter.
    branch_admin_may = READ_ONLY
    list_display = ["registered_at", "branch", "customer", "service", "route", "ticket", "outcome"]
    list_filter = ["branch", "route", "outcome"]
    list_select_related = ["branch", "customer", "service", "ticket"]
    raw_id_fields = ["customer", "ticket"]
