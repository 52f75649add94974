"""Training sessions in the admin: scoped to the branch administrator's branches."""

from django.contrib import admin

from accounts.admin_scoping import BranchScopedAdmin

from ..models import TrainingSession


@admin.register(TrainingSession)
class TrainingSessionAdmin(BranchScopedAdmin):
    list_display = ("starts_at", "branch", "title", "topic")
    search_fields = ("title", "topic")
