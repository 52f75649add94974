from django.contrib import admin

from .models import Customer, Interaction


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["__str__", "is_vip", "sms_consent", "last_visit_at"]
    list_filter = ["is_vip", "sms_consent"]
    search_fields = ["phone", "name"]
    readonly_fields = ["created_at", "last_visit_at", "anonymised_at", "sms_consent_at"]


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    list_display = ["customer", "branch", "kind", "service_code", "outcome", "occurred_at"]
    list_filter = ["branch", "kind"]
    raw_id_fields = ["customer"]
