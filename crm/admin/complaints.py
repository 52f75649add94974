"""Admin of complaints (registered on importing crm.admin): a branch's deadlines by severity, scoped to
the branches the user administers; complaints themselves are read-only here with their trail
(they change on the complaint pages and through the API, which keep who and when)."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from accounts.admin_scoping import READ_ONLY, BranchScopedAdmin, BranchScopedInline

from ..models import Complaint, ComplaintDeadline, ComplaintEvent

MAX_DAYS = 60  # working days: a deadline beyond three months is a typo


class ComplaintDeadlineForm(forms.ModelForm):
    class Meta:
        model = ComplaintDeadline
        fields = ["branch", "severity", "acknowledge_days", "resolve_days", "remind_days_before"]

    def clean(self):
        data = super().clean()
        acknowledge, resolve = data.get("acknowledge_days"), data.get("resolve_days")
        for name in ("acknowledge_days", "resolve_days", "remind_days_before"):
            value = data.get(name)
            if value is not None and value > MAX_DAYS:
                self.add_error(name, _("At most %(days)s working days.") % {"days": MAX_DAYS})
        if acknowledge is not None and resolve is not None and acknowledge > resolve:
            self.add_error("resolve_days", _("Resolving cannot be due before acknowledging is."))
        return data


@admin.register(ComplaintDeadline)
class ComplaintDeadlineAdmin(BranchScopedAdmin):
    form = ComplaintDeadlineForm
    list_display = ["branch", "severity", "acknowledge_days", "resolve_days", "remind_days_before"]
    list_filter = ["branch", "severity"]
    list_select_related = ["branch"]


class ComplaintEventInline(BranchScopedInline, admin.TabularInline):
    model = ComplaintEvent
    branch_path = "complaint__branch"
    branch_admin_may = READ_ONLY
    fields = ["at", "action", "from_status", "to_status", "by", "note"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Complaint)
class ComplaintAdmin(BranchScopedAdmin):
    branch_admin_may = READ_ONLY
    list_display = [
        "logged_at",
        "subject",
        "severity",
        "status",
        "branch",
        "assignee",
        "resolve_due_at",
        "escalation_level",
    ]
    list_filter = ["branch", "status", "severity", "channel"]
    list_select_related = ["branch", "assignee"]
    raw_id_fields = ["customer"]
    date_hierarchy = "logged_at"
    inlines = [ComplaintEventInline]
