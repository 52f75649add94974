"""Admin for what a branch configures: services, counters and the services each counter serves.

Values are validated by the models' validators and clean() (shared with every form and
ModelSerializer). A counter's live state — open, paused, who is seated — is read-only here: it
changes only through the services, so that every change is in the counter's audit trail
(CounterEvent, read-only below). A branch administrator sees and configures only their
branches' rows (accounts.admin_scoping).
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from accounts.admin_scoping import READ_ONLY, BranchScopedAdmin, BranchScopedInline

from .models import Counter, CounterEvent, CounterSkill, Service


@admin.register(Service)
class ServiceAdmin(BranchScopedAdmin):
    list_display = [
        "prefix",
        "code",
        "name_zh",
        "name_en",
        "branch",
        "target_wait_minutes",
        "standard_handle_minutes",
        "divertible",
        "is_active",
        "sort_order",
    ]
    list_display_links = ["prefix", "code"]
    list_filter = ["branch", "is_active", "divertible"]
    list_select_related = ["branch"]
    search_fields = ["code", "name_zh", "name_en", "prefix", "branch__code"]
    ordering = ["branch", "sort_order", "code"]


class CounterSkillInline(BranchScopedInline, admin.TabularInline):
    model = CounterSkill
    branch_path = "counter__branch"
    extra = 1
    fields = ["service", "rank"]
    ordering = ["rank"]
    verbose_name = _("service served")
    verbose_name_plural = _("services served (rank 0 first)")


@admin.register(Counter)
class CounterAdmin(BranchScopedAdmin):
    list_display = ["number", "label", "branch", "is_open", "is_paused", "teller", "served"]
    list_filter = ["branch", "is_open", "is_paused"]
    list_select_related = ["branch", "teller"]
    search_fields = ["label", "branch__code", "teller__username"]
    ordering = ["branch", "number"]
    fields = ["branch", "number", "label", "is_open", "is_paused", "teller"]
    # Opening, pausing and who sits here belong to the counter screen, where they are audited.
    readonly_fields = ["is_open", "is_paused", "teller"]
    inlines = [CounterSkillInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("skills__service")

    @admin.display(description=_("services"))
    def served(self, counter: Counter) -> str:
        return ", ".join(skill.service.code for skill in counter.skills.all())


@admin.register(CounterEvent)
class CounterEventAdmin(BranchScopedAdmin):
    """Read-only: the audit trail of counters (opened, closed, taken over, left)."""

    branch_admin_may = READ_ONLY

    list_display = ["at", "counter", "branch", "action", "by", "previous_teller", "reason"]
    list_filter = ["branch", "action"]
    list_select_related = ["counter", "branch", "by", "previous_teller"]
    search_fields = ["by__username", "previous_teller__username", "reason"]
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
