from django.contrib import admin

from accounts.admin_scoping import READ_ONLY, BranchScopedAdmin, BranchScopedInline

from .models import Visit, VisitHandover


class VisitHandoverInline(BranchScopedInline, admin.TabularInline):
    """Transfers of the visit: who handed the customer on, with what note and checks."""

    model = VisitHandover
    branch_path = "visit__branch"
    branch_admin_may = READ_ONLY
    extra = 0
    can_delete = False
    fields = [
        "at",
        "from_ticket",
        "to_ticket",
        "by",
        "note",
        "identity_verified",
        "documents_signed",
        "funds_handed_over",
    ]
    readonly_fields = fields


@admin.register(Visit)
class VisitAdmin(BranchScopedAdmin):
    # For a branch administrator a visit is a record: it changes at the lobby and counter.
    branch_admin_may = READ_ONLY
    list_display = ["registered_at", "branch", "customer", "service", "route", "ticket", "outcome"]
    list_filter = ["branch", "route", "outcome"]
    list_select_related = ["branch", "customer", "service", "ticket"]
    raw_id_fields = ["customer", "ticket"]
    inlines = [VisitHandoverInline]
