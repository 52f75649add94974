"""Knowledge base in the admin: a branch administrator sees and edits their branch's entries;
bank-wide entries (branch empty) are the platform operator's. Saves go through the services'
search column upkeep, so the admin's search finds what it saved."""

from django.contrib import admin
from django.utils import timezone

from accounts.admin_scoping import BranchScopedAdmin, is_platform_operator

from ..models import KnowledgeEntry, KnowledgeFlag, KnowledgeRevision
from ..services.knowledge import knowledge_search_text


class KnowledgeRevisionInline(admin.TabularInline):
    model = KnowledgeRevision
    extra = 0
    can_delete = False
    fields = ["number", "published_at", "published_by", "note"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(KnowledgeEntry)
class KnowledgeEntryAdmin(BranchScopedAdmin):
    list_display = ["question_zh", "branch", "status", "version", "last_reviewed_at"]
    list_filter = ["status", "branch"]
    search_fields = ["search_text"]
    readonly_fields = [
        "status",
        "version",
        "created_by",
        "created_at",
        "updated_at",
        "submitted_by",
        "published_at",
        "last_reviewed_at",
        "reviewed_by",
    ]
    inlines = [KnowledgeRevisionInline]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if not is_platform_operator(request) and "branch" in form.base_fields:
            # A branch administrator writes their branch's entries only: no "whole bank".
            form.base_fields["branch"].required = True
            form.base_fields["branch"].empty_label = None
        return form

    def save_model(self, request, obj, form, change):
        now = timezone.now()
        if not change:
            obj.created_by = request.user
            obj.created_at = now
        obj.updated_at = now
        obj.search_text = knowledge_search_text(obj)
        super().save_model(request, obj, form, change)


@admin.register(KnowledgeFlag)
class KnowledgeFlagAdmin(BranchScopedAdmin):
    list_display = ["entry", "branch", "note", "flagged_at", "resolved_at"]
    list_filter = ["branch"]
    readonly_fields = ["entry", "branch", "flagged_by", "flagged_at", "note"]
