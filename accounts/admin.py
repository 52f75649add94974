from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from . import outbox
from .models import Branch, Membership, OutboxDelivery, OutboxEvent


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Branch)
class BranchAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "time_zone", "opens_at", "closes_at", "max_priority_bypass"]
    search_fields = ["code", "name", "name_en"]
    inlines = [MembershipInline]
    readonly_fields = ["display_token"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "branch", "role", "is_active"]
    list_filter = ["branch", "role", "is_active"]
    search_fields = ["user__username"]


class OutboxDeliveryInline(admin.TabularInline):
    model = OutboxDelivery
    extra = 0
    can_delete = False
    fields = ["listener", "status", "attempts", "next_attempt_at", "delivered_at", "last_error"]
    readonly_fields = fields


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):
    """Read-only: events are facts. Failed deliveries are retried from OutboxDeliveryAdmin."""

    list_display = ["id", "topic", "branch", "created_at"]
    list_filter = ["topic"]
    date_hierarchy = "created_at"
    inlines = [OutboxDeliveryInline]
    readonly_fields = ["topic", "payload", "branch", "created_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(OutboxDelivery)
class OutboxDeliveryAdmin(admin.ModelAdmin):
    list_display = ["event", "listener", "status", "attempts", "next_attempt_at", "last_error"]
    list_filter = ["status", "listener"]
    list_select_related = ["event"]
    readonly_fields = [
        "event",
        "listener",
        "status",
        "attempts",
        "next_attempt_at",
        "delivered_at",
        "last_error",
    ]
    actions = ["retry"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Retry the selected deliveries that gave up"))
    def retry(self, request, queryset):
        count = outbox.retry_dead(queryset.values_list("pk", flat=True))
        self.message_user(request, _("%(n)d deliveries will be retried.") % {"n": count})
