"""Admin of checklists (the platform operator's), schedules, inspections (read-only for branch
administrators, scoped to their branches)."""

from django.contrib import admin

from accounts.admin_scoping import READ_ONLY, BranchScopedAdmin, PlatformOnlyAdmin

from ..models import Attachment, Checklist, ChecklistItem, Inspection, InspectionSchedule


class ChecklistItemInline(admin.TabularInline):
    model = ChecklistItem
    extra = 1
    fields = (
        "sort_order",
        "key",
        "category",
        "text_zh",
        "text_zh_hant",
        "text_en",
        "weight",
        "evidence_required",
        "clause_ref",
        "is_active",
    )


@admin.register(Checklist)
class ChecklistAdmin(PlatformOnlyAdmin):
    list_display = ("code", "name_zh", "kind", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("code", "name_zh", "name_en")
    inlines = [ChecklistItemInline]


@admin.register(InspectionSchedule)
class InspectionScheduleAdmin(PlatformOnlyAdmin):
    # Bank-wide planning: the platform operator sets how often each branch is inspected.
    list_display = ("branch", "checklist", "frequency", "starts_on", "is_active")
    list_filter = ("frequency", "is_active", "checklist")


@admin.register(Inspection)
class InspectionAdmin(BranchScopedAdmin):
    branch_admin_may = READ_ONLY
    list_display = ("visited_on", "branch", "checklist", "kind", "status", "score")
    list_filter = ("kind", "status")
    readonly_fields = (
        "branch",
        "checklist",
        "kind",
        "status",
        "inspector",
        "visited_on",
        "started_at",
        "submitted_at",
        "score",
        "category_scores",
        "notes",
    )


@admin.register(Attachment)
class AttachmentAdmin(PlatformOnlyAdmin):
    list_display = ("pk", "content_type", "uploaded_at", "result", "finding")
    readonly_fields = ("file", "content_type", "uploaded_by", "uploaded_at", "result", "finding")
