from django.contrib import admin

from accounts.admin_scoping import READ_ONLY, BranchScopedAdmin, BranchScopedInline

from .models import LobbyAlert, Visit, VisitHandover


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
    list_display = [
        "registered_at",
        "branch",
        "customer",
        "service",
        "route",
        "channel",
        "ticket",
        "outcome",
    ]
    list_filter = ["branch", "route", "channel", "outcome"]
    list_select_related = ["branch", "customer", "service", "ticket"]
    raw_id_fields = ["customer", "ticket"]
    inlines = [VisitHandoverInline]


# --- Pre-filled forms (预填单) -------------------------------------------------------------------
# Editing a form's fields publishes a new FormVersion after the save (reception.services.forms):
# submissions keep the version they were filled in against.

from django import forms as django_forms  # noqa: E402
from django.contrib import messages as admin_messages  # noqa: E402
from django.utils.translation import gettext_lazy as _  # noqa: E402

from . import prefill  # noqa: E402
from .models import FormField, FormVersion, ServiceForm  # noqa: E402
from .selectors.forms import forget_services_with_form  # noqa: E402
from .services.forms import form_publish  # noqa: E402


class FormFieldAdminForm(django_forms.ModelForm):
    class Meta:
        model = FormField
        fields = [
            "sort_order",
            "key",
            "kind",
            "label_zh",
            "label_zh_hant",
            "label_en",
            "required",
            "sensitive",
            "choices",
        ]
        widgets = {"choices": django_forms.Textarea(attrs={"rows": 3, "cols": 40})}
        help_texts = {
            "choices": _(
                'For "choice" only: one option a line, "value | 中文 | 中文（繁體） | English".'
            ),
        }

    def clean(self):
        cleaned = super().clean()
        kind, choices = cleaned.get("kind"), cleaned.get("choices", "")
        if kind == FormField.Kind.CHOICE:
            options, errors = prefill.parse_options(choices)
            if errors:
                self.add_error("choices", errors)
            elif not options:
                self.add_error("choices", _("A choice field needs at least one option."))
        elif choices and choices.strip():
            self.add_error("choices", _('Options are only for "choice" fields.'))
        return cleaned


class FormFieldInline(BranchScopedInline, admin.TabularInline):
    model = FormField
    form = FormFieldAdminForm
    branch_path = "form__branch"
    extra = 1
    ordering = ["sort_order", "pk"]


class FormVersionInline(BranchScopedInline, admin.TabularInline):
    """Published versions: a record, read only."""

    model = FormVersion
    branch_path = "form__branch"
    extra = 0
    can_delete = False
    fields = ["number", "created_at", "created_by"]
    readonly_fields = fields
    ordering = ["-number"]

    def has_add_permission(self, request, obj):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ServiceFormAdminForm(django_forms.ModelForm):
    class Meta:
        model = ServiceForm
        fields = ["branch", "service", "title_zh", "title_zh_hant", "title_en", "is_active"]

    def clean(self):
        cleaned = super().clean()
        branch, service = cleaned.get("branch"), cleaned.get("service")
        if branch is not None and service is not None and service.branch_id != branch.pk:
            self.add_error("service", _("Choose a service of this branch."))
        return cleaned


@admin.register(ServiceForm)
class ServiceFormAdmin(BranchScopedAdmin):
    form = ServiceFormAdminForm
    list_display = ["title_zh", "service", "branch", "is_active"]
    list_filter = ["branch", "is_active"]
    list_select_related = ["branch", "service"]
    inlines = [FormFieldInline, FormVersionInline]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        before = form.instance.versions.order_by("-number").first()
        version = form_publish(form.instance, request.user)
        if version is None:
            admin_messages.warning(
                request, _("The form has no fields yet: customers do not see it.")
            )
        elif before is None or version.pk != before.pk:
            admin_messages.info(
                request, _("Published as version %(number)d.") % {"number": version.number}
            )

    def delete_model(self, request, obj):
        branch_id = obj.branch_id
        super().delete_model(request, obj)
        forget_services_with_form(branch_id)


# --- Appointments ---------------------------------------------------------------------------------

from .models import Appointment, AppointmentPlan  # noqa: E402


@admin.register(AppointmentPlan)
class AppointmentPlanAdmin(BranchScopedAdmin):
    """Which services take appointments: slot length, customers per slot, days ahead. Slots run
    within the branch's opening hours; its closed days (Branch closed days) have none."""

    list_display = ["service", "branch", "slot_minutes", "capacity", "days_ahead", "is_active"]
    list_filter = ["branch", "is_active"]
    list_select_related = ["branch", "service"]
    fields = ["branch", "service", "slot_minutes", "capacity", "days_ahead", "is_active"]

    def save_model(self, request, obj, form, change):
        # The plan belongs to its service's branch, whatever was chosen.
        if obj.service_id:
            obj.branch_id = obj.service.branch_id
        super().save_model(request, obj, form, change)


@admin.register(Appointment)
class AppointmentAdmin(BranchScopedAdmin):
    # A record: appointments change through the booking pages, the day view and the API.
    branch_admin_may = READ_ONLY
    list_display = ["starts_at", "branch", "service", "customer", "status", "channel"]
    list_filter = ["branch", "status", "channel", "service"]
    list_select_related = ["branch", "service", "customer"]
    raw_id_fields = ["customer", "visit", "booked_by"]
    date_hierarchy = "starts_at"
    ordering = ["-starts_at"]


# --- Lobby alerts (the overview's record, for the reports) ---------------------------------------


@admin.register(LobbyAlert)
class LobbyAlertAdmin(BranchScopedAdmin):
    """Raised and cleared by reception.services.lobby_alerts_refresh: a record, not set-up."""

    branch_admin_may = READ_ONLY
    list_display = [
        "raised_at",
        "branch",
        "service",
        "kind",
        "suggestion",
        "waiting",
        "longest_wait_seconds",
        "cleared_at",
        "acknowledged_by",
    ]
    list_filter = ["branch", "kind", "suggestion"]
    list_select_related = ["branch", "service", "acknowledged_by"]


# --- Counter handling (issue 7): control points, error categories, errors -------------------------
# Saving or deleting a control point publishes the service's next ControlPointVersion after the
# save (reception.services.control_points_publish; none when nothing changed): visits keep the
# version they were checked against.

from .models import ControlPoint, ControlPointVersion, ErrorCategory, ServiceError  # noqa: E402
from .services.handling import control_points_publish  # noqa: E402


@admin.register(ControlPoint)
class ControlPointAdmin(BranchScopedAdmin):
    branch_path = "service__branch"
    list_display = ["service", "sort_order", "key", "label_zh", "label_en", "required", "is_active"]
    list_display_links = ["key"]
    list_editable = ["sort_order", "required", "is_active"]
    list_filter = ["service", "required", "is_active"]
    list_select_related = ["service"]
    ordering = ["service", "sort_order", "pk"]
    fields = [
        "service",
        "key",
        "label_zh",
        "label_zh_hant",
        "label_en",
        "required",
        "sort_order",
        "is_active",
    ]

    def _publish(self, request, service) -> None:
        before = ControlPointVersion.objects.filter(service=service).order_by("-number").first()
        version = control_points_publish(service, request.user)
        if version is not None and (before is None or version.pk != before.pk):
            admin_messages.info(
                request,
                _("%(service)s: control points published as version %(number)d.")
                % {"service": service, "number": version.number},
            )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        self._publish(request, obj.service)

    def delete_model(self, request, obj):
        service = obj.service
        super().delete_model(request, obj)
        self._publish(request, service)

    def delete_queryset(self, request, queryset):
        services = {point.service for point in queryset.select_related("service")}
        super().delete_queryset(request, queryset)
        for service in services:
            self._publish(request, service)


@admin.register(ControlPointVersion)
class ControlPointVersionAdmin(BranchScopedAdmin):
    """Published versions: a record, read only."""

    branch_path = "service__branch"
    branch_admin_may = READ_ONLY
    list_display = ["service", "number", "created_at", "created_by"]
    list_filter = ["service"]
    list_select_related = ["service", "created_by"]
    readonly_fields = ["service", "number", "points", "created_at", "created_by"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ErrorCategory)
class ErrorCategoryAdmin(BranchScopedAdmin):
    list_display = ["name_zh", "name_en", "code", "branch", "sort_order", "is_active"]
    list_editable = ["sort_order", "is_active"]
    list_filter = ["branch", "is_active"]
    list_select_related = ["branch"]
    fields = ["branch", "code", "name_zh", "name_zh_hant", "name_en", "sort_order", "is_active"]


@admin.register(ServiceError)
class ServiceErrorAdmin(BranchScopedAdmin):
    # A record: errors are recorded at the counter, the Errors page and the API.
    branch_admin_may = READ_ONLY
    list_display = ["recorded_at", "branch", "ticket", "service", "teller", "category", "severity"]
    list_filter = ["branch", "severity", "category"]
    list_select_related = ["branch", "ticket", "service", "teller", "category"]
    date_hierarchy = "recorded_at"
