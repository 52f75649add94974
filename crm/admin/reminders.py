"""Admin of care reminders' configuration (registered on importing crm.admin): a branch's care rules
(deposit maturing, ID expiring, VIP birthday: days before, assignee) and its term deposits,
scoped to the branches the user administers; reminders themselves are read-only here (they
change on the "My reminders" page and through the API, which keep who and when)."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from accounts.admin_scoping import READ_ONLY, BranchScopedAdmin
from accounts.models import Membership

from ..models import CareReminder, CareRule, Deposit
from ..rules import MAX_DAYS_BEFORE


class CareRuleForm(forms.ModelForm):
    class Meta:
        model = CareRule
        fields = ["branch", "kind", "days_before", "assignee", "is_active"]
        help_texts = {
            "days_before": _("The reminder appears this many days before the date, due on it."),
            "assignee": _("Who gets the reminders; empty: anyone at the branch."),
        }

    def clean_days_before(self):
        days = self.cleaned_data["days_before"]
        if days > MAX_DAYS_BEFORE:
            raise forms.ValidationError(
                _("At most %(days)s days.") % {"days": MAX_DAYS_BEFORE}, code="max_value"
            )
        return days

    def clean(self):
        data = super().clean()
        branch, assignee = data.get("branch"), data.get("assignee")
        if branch and assignee:
            works_here = Membership.objects.filter(user=assignee, branch=branch, is_active=True)
            if not works_here.exists():
                self.add_error("assignee", _("That person does not work at this branch."))
        return data


@admin.register(CareRule)
class CareRuleAdmin(BranchScopedAdmin):
    form = CareRuleForm
    list_display = ["branch", "kind", "days_before", "assignee", "is_active"]
    list_filter = ["branch", "kind", "is_active"]
    list_select_related = ["branch", "assignee"]


@admin.register(Deposit)
class DepositAdmin(BranchScopedAdmin):
    list_display = ["product", "customer", "branch", "amount", "matures_on"]
    list_filter = ["branch"]
    list_select_related = ["customer", "branch"]
    raw_id_fields = ["customer"]
    date_hierarchy = "matures_on"


@admin.register(CareReminder)
class CareReminderAdmin(BranchScopedAdmin):
    branch_admin_may = READ_ONLY
    list_display = ["due_on", "title", "kind", "customer", "branch", "assignee", "status"]
    list_filter = ["branch", "kind", "status"]
    list_select_related = ["customer", "branch", "assignee"]
    raw_id_fields = ["customer"]
