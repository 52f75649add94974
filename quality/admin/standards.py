"""Service standards in the admin: the platform operator's alone (bank-wide content). Versions
with their clauses inline; "publish" as an admin action (quality.services)."""

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.admin_scoping import PlatformOnlyAdmin
from accounts.errors import DomainError

from ..models import ServiceStandard, StandardAcknowledgement, StandardClause, StandardVersion
from ..services.standards import standard_version_publish


class StandardVersionInline(admin.TabularInline):
    model = StandardVersion
    extra = 0
    fields = ["number", "status", "effective_from", "summary", "published_at"]
    readonly_fields = ["status", "published_at"]
    show_change_link = True


class _Platform(PlatformOnlyAdmin):
    def has_add_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser


@admin.register(ServiceStandard)
class ServiceStandardAdmin(_Platform):
    list_display = ["code", "title_zh", "title_en", "is_active"]
    search_fields = ["code", "title_zh", "title_en"]
    inlines = [StandardVersionInline]

    def save_formset(self, request, form, formset, change):
        for obj in formset.save(commit=False):
            if isinstance(obj, StandardVersion) and obj.pk is None:
                obj.created_by = request.user
                obj.created_at = timezone.now()
            obj.save()
        for obj in formset.deleted_objects:
            obj.delete()
        formset.save_m2m()


class StandardClauseInline(admin.TabularInline):
    model = StandardClause
    extra = 1
    fields = ["sort_order", "number", "text_zh", "text_zh_hant", "text_en"]

    def _editable(self, obj) -> bool:
        return obj is None or obj.status == StandardVersion.Status.DRAFT

    def has_add_permission(self, request, obj=None):
        return self._editable(obj) and request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return self._editable(obj) and request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return self._editable(obj) and request.user.is_superuser


@admin.register(StandardVersion)
class StandardVersionAdmin(_Platform):
    list_display = ["standard", "number", "status", "effective_from", "published_at"]
    list_filter = ["status", "standard"]
    readonly_fields = ["status", "created_by", "created_at", "published_at", "published_by"]
    inlines = [StandardClauseInline]
    actions = ["publish"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status == StandardVersion.Status.PUBLISHED:
            # Published versions are frozen: staff acknowledged what they say.
            return [*self.readonly_fields, "standard", "number", "effective_from", "summary"]
        return self.readonly_fields

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
            obj.created_at = timezone.now()
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Publish the selected draft versions"))
    def publish(self, request, queryset):
        done = 0
        for version in queryset:
            try:
                standard_version_publish(version, by=request.user)
                done += 1
            except DomainError as error:
                self.message_user(request, f"{version}: {error.message}", messages.WARNING)
        if done:
            self.message_user(request, _("%(n)d version(s) published.") % {"n": done})


@admin.register(StandardAcknowledgement)
class StandardAcknowledgementAdmin(PlatformOnlyAdmin):
    list_display = ["version", "user", "branch", "acknowledged_at"]
    list_filter = ["branch"]
    readonly_fields = ["version", "user", "branch", "acknowledged_at"]

    def has_add_permission(self, request):
        return False
