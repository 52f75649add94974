from django.contrib import admin

from .models import Visit


@admin.register(Visit)
class VisitAdmin(admin.ModelAdmin):
    list_display = ["registered_at", "branch", "customer", "service", "route", "ticket", "outcome"]
    list_filter = ["branch", "route", "outcome"]
    raw_id_fields = ["customer", "ticket"]
