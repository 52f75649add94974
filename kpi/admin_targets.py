"""The admin for a branch's KPI targets (the trends page draws them as the target line).

Kept apart from kpi/admin.py (another helper's file): kpi/admin.py imports this module so the
registration happens (`from . import admin_targets  # noqa: F401`)."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from accounts.admin_scoping import CONFIGURE, BranchScopedAdmin

from .definitions import METRIC_LABELS
from .models import KpiTarget


class KpiTargetForm(forms.ModelForm):
    # A free-text key could name no KPI and silently never be drawn: offer the defined ones.
    metric = forms.ChoiceField(label=_("KPI"), choices=list(METRIC_LABELS.items()))

    class Meta:
        model = KpiTarget
        fields = ["branch", "metric", "value"]
        help_texts = {
            "value": _(
                "Shares as fractions (0.8 = 80 %), times in seconds unless the KPI "
                "says hours or minutes."
            ),
        }


@admin.register(KpiTarget)
class KpiTargetAdmin(BranchScopedAdmin):
    # A branch administrator sets their own branch's targets; rows of other branches stay
    # hidden (BranchScopedAdmin).
    branch_admin_may = CONFIGURE
    form = KpiTargetForm
    list_display = ["branch", "metric", "value"]
    list_filter = ["branch", "metric"]
