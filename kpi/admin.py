from django.contrib import admin

from accounts.admin_scoping import READ_ONLY, BranchScopedAdmin

from . import admin_targets  # noqa: F401  (KpiTarget's admin, E's module)
from .models import KpiDay, KpiRollup


@admin.register(KpiRollup)
class KpiRollupAdmin(BranchScopedAdmin):
    # Rebuilt from tickets, visits and answers (kpi.services.rollup_recompute_day); an edit
    # would be overwritten at the next rebuild (or worse, believed until then).
    branch_admin_may = READ_ONLY
    list_display = ["branch", "day", "hour", "service", "teller", "customers", "served", "waited"]
    list_filter = ["branch", "day"]
    list_select_related = ["branch", "service", "teller"]


@admin.register(KpiDay)
class KpiDayAdmin(BranchScopedAdmin):
    # The rebuild's bookkeeping: marked dirty by outbox listeners, cleared by beat.
    branch_admin_may = READ_ONLY
    list_display = ["branch", "day", "dirty", "marked_at", "computed_at", "rows"]
    list_filter = ["dirty", "branch"]
