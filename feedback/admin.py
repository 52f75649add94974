from django.contrib import admin

from accounts.admin_scoping import READ_ONLY, BranchScopedAdmin

from .models import SurveyInvitation, SurveyResponse


@admin.register(SurveyInvitation)
class SurveyInvitationAdmin(BranchScopedAdmin):
    branch_admin_may = READ_ONLY
    list_display = ["pk", "branch", "status", "skip_reason", "scheduled_for", "sent_at"]
    list_filter = ["branch", "status"]
    raw_id_fields = ["customer", "interaction"]


@admin.register(SurveyResponse)
class SurveyResponseAdmin(BranchScopedAdmin):
    # A customer's answer is theirs: nobody at the branch rewrites it.
    branch_admin_may = READ_ONLY
    list_display = ["submitted_at", "branch", "channel", "satisfaction", "recommend"]
    list_filter = ["branch", "channel", "satisfaction"]
    raw_id_fields = ["invitation"]
