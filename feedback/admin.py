from django.contrib import admin

from .models import SurveyInvitation, SurveyResponse


@admin.register(SurveyInvitation)
class SurveyInvitationAdmin(admin.ModelAdmin):
    list_display = ["pk", "branch", "status", "skip_reason", "scheduled_for", "sent_at"]
    list_filter = ["branch", "status"]
    raw_id_fields = ["customer", "interaction"]


@admin.register(SurveyResponse)
class SurveyResponseAdmin(admin.ModelAdmin):
    list_display = ["submitted_at", "branch", "channel", "satisfaction", "recommend"]
    list_filter = ["branch", "channel", "satisfaction"]
    raw_id_fields = ["invitation"]
