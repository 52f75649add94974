"""Findings in the admin: read-only for branch administrators, scoped to their branches."""

from django.contrib import admin

from accounts.admin_scoping import READ_ONLY, BranchScopedAdmin

from ..models import Finding, FindingEvent


class FindingEventInline(admin.TabularInline):
    model = FindingEvent
    extra = 0
    can_delete = False
    fields = ("at", "action", "by", "note")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Finding)
class FindingAdmin(BranchScopedAdmin):
    branch_admin_may = READ_ONLY
    list_display = ("pk", "branch", "item", "status", "owner", "due_on", "escalation_level")
    list_filter = ("status", "escalation_level")
    readonly_fields = (
        "branch",
        "inspection",
        "result",
        "item",
        "category",
        "status",
        "owner",
        "due_on",
        "created_at",
        "fixed_at",
        "fixed_by",
        "fix_note",
        "closed_at",
        "recheck_inspection",
        "recheck_passed",
        "reminded_at",
        "escalated_at",
        "escalation_level",
    )
    inlines = [FindingEventInline]
