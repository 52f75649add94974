"""Admin for branches, staff and their roles, the audit trail and the outbox.

Every admin here is scoped by accounts.admin_scoping: a branch administrator sees and changes
only their branches' rows; the outbox is the platform operator's alone.
"""

from auditlog import get_logentry_model
from auditlog.admin import LogEntryAdmin
from auditlog.registry import auditlog
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from . import outbox
from .admin_scoping import (
    ADD,
    CHANGE,
    READ_ONLY,
    VIEW,
    BranchScopedAdmin,
    BranchScopedInline,
    PlatformOnlyAdmin,
    admin_branch_ids,
    is_platform_operator,
    scoped_admin_for,
)
from .models import (
    Branch,
    Membership,
    OutboxDelivery,
    OutboxEvent,
    Region,
    RegionMembership,
    Role,
)
from .receivers import forget_users

User = get_user_model()
LogEntry = get_logentry_model()


def give_branch_admins_the_admin_site(memberships) -> None:
    """A branch administrator needs is_staff to open /admin/: the role grants it. (Taking the
    role away leaves is_staff: staff without the role see nothing there.)"""
    user_ids = [m.user_id for m in memberships if m.role == Role.ADMIN and m.is_active]
    if user_ids:
        User.objects.filter(pk__in=user_ids, is_staff=False).update(is_staff=True)
        forget_users(user_ids)  # a bulk update sends no signal: drop the cached users


class SavesMemberships:
    """For admins with a membership inline: is_staff follows a granted admin role."""

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        if formset.model is Membership:
            changed = [membership for membership, _fields in formset.changed_objects]
            give_branch_admins_the_admin_site([*formset.new_objects, *changed])


class MembershipInline(BranchScopedInline, admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Branch)
class BranchAdmin(SavesMemberships, BranchScopedAdmin):
    branch_path = "pk"
    # A branch administrator runs their branch's settings; opening branches (and their codes)
    # is the platform operator's.
    branch_admin_may = frozenset({VIEW, CHANGE})
    list_display = ["code", "name", "time_zone", "opens_at", "closes_at", "max_priority_bypass"]
    search_fields = ["code", "name", "name_en"]
    inlines = [MembershipInline]
    readonly_fields = ["display_token"]

    def get_readonly_fields(self, request, obj=None):
        if is_platform_operator(request):
            return self.readonly_fields
        # The region decides which regional heads read the branch: the platform operator's.
        return ["code", "region", *self.readonly_fields]


@admin.register(Membership)
class MembershipAdmin(BranchScopedAdmin):
    list_display = ["user", "branch", "role", "is_active"]
    list_filter = ["branch", "role", "is_active"]
    list_select_related = ["user", "branch"]
    search_fields = ["user__username"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        give_branch_admins_the_admin_site([obj])


class UserMembershipInline(BranchScopedInline, admin.TabularInline):
    model = Membership
    fk_name = "user"
    extra = 0

    def get_min_num(self, request, obj=None, **kwargs):
        # A branch administrator's new user starts with a role at their branch, or the user
        # would vanish from what they can see.
        if obj is None and not is_platform_operator(request):
            return 1
        return super().get_min_num(request, obj, **kwargs)

    def get_formset(self, request, obj=None, **kwargs):
        if obj is None and not is_platform_operator(request):
            kwargs.setdefault("validate_min", True)
        return super().get_formset(request, obj, **kwargs)


admin.site.unregister(User)


@admin.register(User)
class StaffUserAdmin(SavesMemberships, BranchScopedAdmin, UserAdmin):
    """Users of the administrator's branches. Superuser status, groups and model permissions
    are the platform operator's; is_staff follows the admin role."""

    branch_path = "memberships__branch"
    # Staff leave by being made inactive, so their names stay on what they did.
    branch_admin_may = frozenset({VIEW, ADD, CHANGE})
    inlines = [UserMembershipInline]
    _OPERATOR_ONLY = frozenset({"is_superuser", "groups", "user_permissions"})

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if is_platform_operator(request):
            return fieldsets
        return [
            (
                name,
                {
                    **options,
                    "fields": [f for f in options["fields"] if f not in self._OPERATOR_ONLY],
                },
            )
            for name, options in fieldsets
        ]

    def get_readonly_fields(self, request, obj=None):
        if is_platform_operator(request) or obj is None:
            return super().get_readonly_fields(request, obj)
        return ["is_staff", "last_login", "date_joined"]

    def get_list_filter(self, request):
        if is_platform_operator(request):
            return super().get_list_filter(request)
        return ["is_active", "is_staff"]

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        if not allowed or obj is None or is_platform_operator(request):
            return allowed
        # Someone who also works at a branch the administrator does not run (or a superuser)
        # is theirs to view, not to change: a password reset would reach into that branch.
        return not obj.is_superuser and not (
            obj.memberships.exclude(branch_id__in=admin_branch_ids(request)).exists()
        )


admin.site.unregister(LogEntry)


@admin.register(LogEntry)
class AuditEntryAdmin(BranchScopedAdmin, LogEntryAdmin):
    """The audit trail. A branch administrator sees the entries about objects they can see in
    this admin (their branch, its memberships, customers known there); entries about objects
    deleted since, other than memberships, only the platform operator sees."""

    branch_admin_may = READ_ONLY

    def scope_queryset(self, request, queryset):
        branch_ids = [str(pk) for pk in admin_branch_ids(request)]
        visible = Q(pk__in=[])
        for model in auditlog.get_models():
            model_admin = scoped_admin_for(self.admin_site, model)
            if model_admin is None:
                continue
            content_type = ContentType.objects.get_for_model(model)
            objects = model_admin.get_queryset(request).values("pk")
            visible |= Q(content_type=content_type, object_id__in=objects)
            if model is Membership:
                # A removed role is the entry that matters most; its row is gone, its changes
                # still name the branch (the foreign key as its id).
                visible |= Q(content_type=content_type, changes__branch__0__in=branch_ids)
                visible |= Q(content_type=content_type, changes__branch__1__in=branch_ids)
        return queryset.filter(visible)


class OutboxDeliveryInline(admin.TabularInline):
    model = OutboxDelivery
    extra = 0
    can_delete = False
    fields = ["listener", "status", "attempts", "next_attempt_at", "delivered_at", "last_error"]
    readonly_fields = fields


@admin.register(OutboxEvent)
class OutboxEventAdmin(PlatformOnlyAdmin):
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
class OutboxDeliveryAdmin(PlatformOnlyAdmin):
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


# --- Closed days (appointments: no slots on them) -------------------------------------------------

from .models import BranchClosedDay  # noqa: E402


@admin.register(BranchClosedDay)
class BranchClosedDayAdmin(BranchScopedAdmin):
    list_display = ["date", "branch", "reason"]
    list_filter = ["branch"]
    list_select_related = ["branch"]
    date_hierarchy = "date"
    ordering = ["-date"]


# --- Regions and regional heads (issue 7) -------------------------------------------------------
# A regional head reads every branch of the region (accounts.access.branches_readable_by): only
# the platform operator draws regions and names their heads, or a branch administrator could
# grant themselves other branches' data.


class RegionMembershipInline(admin.TabularInline):
    model = RegionMembership
    extra = 0
    autocomplete_fields = ["user"]


class RegionBranchInline(admin.TabularInline):
    model = Branch
    fields = ["code", "name"]
    readonly_fields = ["code", "name"]
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = _("branches (set the region on the branch)")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Region)
class RegionAdmin(PlatformOnlyAdmin):
    list_display = ["code", "name", "name_en"]
    search_fields = ["code", "name", "name_en"]
    inlines = [RegionBranchInline, RegionMembershipInline]


@admin.register(RegionMembership)
class RegionMembershipAdmin(PlatformOnlyAdmin):
    list_display = ["user", "region", "role", "is_active"]
    list_filter = ["region", "role", "is_active"]
    list_select_related = ["user", "region"]
    autocomplete_fields = ["user"]
