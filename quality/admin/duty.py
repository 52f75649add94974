"""The duty roster in the admin: scoped to the branch administrator's branches."""

from django.contrib import admin

from accounts.admin_scoping import BranchScopedAdmin

from ..models import DutyShift


@admin.register(DutyShift)
class DutyShiftAdmin(BranchScopedAdmin):
    list_display = ("date", "starts_at", "ends_at", "branch", "user")
    list_filter = ("date",)
