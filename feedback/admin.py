from django.contrib import admin

from accounts.admin_scoping import READ_ONLY, BranchScopedAdmin

from .models import SurveyInvitation, SurveyResponse


@admin.register(SurveyInvitation)
class SurveyInvitationAdmin(BranchScopedAdmin):
    branch_admin_may = READ_ONLY
    list_display = [
        "pk",
        "branch",
        "status",
        "skip_reason",
        "scheduled_for",
        "sent_at",
        "delivery_status",
    ]
    list_filter = ["branch", "status", "delivery_status"]
    raw_id_fields = ["customer", "interaction"]


@admin.register(SurveyResponse)
class SurveyResponseAdmin(BranchScopedAdmin):
    # A customer's answer is theirs: nobody at the branch rewrites it.
    branch_admin_may = READ_ONLY
    list_display = ["submitted_at", "branch", "channel", "satisfaction", "recommend"]
    list_filter = ["branch", "channel", "satisfaction"]
    raw_id_fields = ["invitation"]


# --- Survey definitions and invitation settings (versioned like reception's ServiceForm) ------

from django.contrib import messages as admin_messages  # noqa: E402
from django.utils.translation import gettext_lazy as _  # noqa: E402

from accounts.admin_scoping import BranchScopedInline  # noqa: E402

from .models import FeedbackSettings, SurveyDefinition, SurveyQuestion, SurveyVersion  # noqa: E402
from .services.surveys import survey_publish  # noqa: E402


class SurveyQuestionInline(BranchScopedInline, admin.TabularInline):
    model = SurveyQuestion
    branch_path = "survey__branch"
    extra = 1
    ordering = ["sort_order", "pk"]
    fields = [
        "sort_order",
        "key",
        "kind",
        "text_zh",
        "text_zh_hant",
        "text_en",
        "required",
        "service_code",
        "is_active",
    ]


class SurveyVersionInline(BranchScopedInline, admin.TabularInline):
    """Published versions: a record, read only."""

    model = SurveyVersion
    branch_path = "survey__branch"
    extra = 0
    can_delete = False
    fields = ["number", "created_at", "created_by"]
    readonly_fields = fields
    ordering = ["-number"]

    def has_add_permission(self, request, obj):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SurveyDefinition)
class SurveyDefinitionAdmin(BranchScopedAdmin):
    list_display = ["branch", "is_active"]
    list_filter = ["is_active"]
    list_select_related = ["branch"]
    inlines = [SurveyQuestionInline, SurveyVersionInline]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        before = form.instance.versions.order_by("-number").first()
        version = survey_publish(form.instance, request.user)
        if version is None:
            admin_messages.warning(request, _("The survey has no questions yet."))
        elif before is None or version.pk != before.pk:
            admin_messages.info(
                request, _("Published as version %(number)d.") % {"number": version.number}
            )


@admin.register(FeedbackSettings)
class FeedbackSettingsAdmin(BranchScopedAdmin):
    list_display = [
        "branch",
        "delay_minutes",
        "sampling_percent",
        "min_days_between_surveys",
        "quiet_from",
        "quiet_until",
        "link_valid_days",
    ]


# --- Issue 8 (H11): the counter rating pad ----------------------------------------------------

from django import forms as django_forms  # noqa: E402
from django.conf import settings  # noqa: E402
from django.urls import reverse  # noqa: E402

from accounts.admin_scoping import choices_for  # noqa: E402
from accounts.models import Branch  # noqa: E402
from queueing.models import Counter  # noqa: E402

from .models import RatingPad  # noqa: E402
from .services.pad import new_pad_token  # noqa: E402


class RatingPadAdminForm(django_forms.ModelForm):
    counter_id = django_forms.TypedChoiceField(label=_("counter"), coerce=int, choices=())

    class Meta:
        model = RatingPad
        fields = ["branch", "counter_id", "name", "is_active"]

    def clean(self):
        cleaned = super().clean()
        branch, counter_id = cleaned.get("branch"), cleaned.get("counter_id")
        if (
            branch is not None
            and counter_id is not None
            and not Counter.objects.filter(branch=branch, pk=counter_id).exists()
        ):
            self.add_error("counter_id", _("Choose a counter of this branch."))
        return cleaned


@admin.register(RatingPad)
class RatingPadAdmin(BranchScopedAdmin):
    """Pairs a pad to a counter; the pad opens /survey/pad/<token>/ (no login, like the board)."""

    form = RatingPadAdminForm
    list_display = ["__str__", "branch", "counter_id", "is_active"]
    list_filter = ["branch", "is_active"]
    readonly_fields = ["pad_url"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        branches = choices_for(self.admin_site, request, Branch)
        counters = Counter.objects.filter(branch__in=branches).select_related("branch")
        form.base_fields["counter_id"].choices = [
            (counter.pk, f"{counter.branch.local_name} · {counter.number} {counter.label}".strip())
            for counter in counters.order_by("branch_id", "number")
        ]
        return form

    @admin.display(description=_("pad address"))
    def pad_url(self, obj) -> str:
        if obj is None or not obj.token:
            return ""
        return settings.PUBLIC_BASE_URL.rstrip("/") + reverse("feedback:pad", args=[obj.token])

    def save_model(self, request, obj, form, change):
        if not obj.token:
            obj.token = new_pad_token()
        super().save_model(request, obj, form, change)


# --- Replies to our SMS (H10: the gateway's inbound webhook; numbers masked) --------------------

from accounts.admin_scoping import PlatformOnlyAdmin  # noqa: E402

from .models import InboundSms  # noqa: E402


@admin.register(InboundSms)
class InboundSmsAdmin(PlatformOnlyAdmin):
    """Read-only: what customers replied and what was done (an opt-out withdrew consent)."""

    list_display = ["received_at", "from_masked", "body", "action"]
    list_filter = ["action"]
    date_hierarchy = "received_at"
    readonly_fields = ["received_at", "from_masked", "body", "action"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# --- The closed loop (H12): follow-ups and suggestions are worked on their pages; read here ------

from .models import FollowUp, Suggestion  # noqa: E402


@admin.register(FollowUp)
class FollowUpAdmin(BranchScopedAdmin):
    branch_admin_may = READ_ONLY
    list_display = ["created_at", "branch", "status", "reason", "called_at", "closed_at"]
    list_filter = ["branch", "status"]
    raw_id_fields = ["response", "assignee", "closed_by"]


@admin.register(Suggestion)
class SuggestionAdmin(BranchScopedAdmin):
    branch_admin_may = READ_ONLY
    list_display = ["submitted_at", "branch", "source", "status", "answered_at"]
    list_filter = ["branch", "source", "status"]
    raw_id_fields = ["author", "answered_by"]
    exclude = ["contact_phone"]  # a customer's number stays off the admin pages
