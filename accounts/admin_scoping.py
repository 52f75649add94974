"""The Django admin, scoped to the branches a branch administrator runs: one rule for every admin.

Who may do what at /admin/:

* A platform superuser (the platform operator): everything, by Django's own rules.
* A branch administrator: an active user with ``is_staff`` and an active ``Role.ADMIN``
  membership. They see only rows of the branches they administer (``branch_path`` leads from a
  model to its branch), choose only such rows in forms, and get a 404 for any other row. What
  they may do with a model (``branch_admin_may``) comes from here, not from Django's model
  permissions: the membership is the grant, so revoking the role revokes the admin at once, and
  no group or permission rows have to be kept in step with memberships.
* Any other staff user: nothing (no module permission). Django's model permissions are ignored
  for them on scoped admins, so a stray permission can never open another branch's rows.
"""

from django.contrib import admin
from django.contrib.admin.exceptions import NotRegistered
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Model, QuerySet
from django.http import Http404

from .models import Branch, Membership, Role

VIEW, ADD, CHANGE, DELETE = "view", "add", "change", "delete"
CONFIGURE = frozenset({VIEW, ADD, CHANGE, DELETE})
# Records of what happened (visits, interactions, surveys, figures, audit trails) change only
# through the screens and services that audit them; the admin shows them.
READ_ONLY = frozenset({VIEW})
# Never filterable or searchable by a branch administrator: a prefix filter on them enumerates
# numbers digit by digit, although the pages show them masked.
PERSONAL_FIELDS = frozenset({"phone", "id_number"})


def is_platform_operator(request) -> bool:
    user = request.user
    return bool(user.is_active and user.is_superuser)


def admin_branch_ids(request) -> frozenset[int]:
    """The branches this user administers (an active Role.ADMIN membership); once per request."""
    cached = getattr(request, "_admin_branch_ids", None)
    if cached is None:
        user = request.user
        if not (user.is_authenticated and user.is_active and user.is_staff):
            cached = frozenset()
        else:
            cached = frozenset(
                Membership.objects.filter(user=user, role=Role.ADMIN, is_active=True).values_list(
                    "branch_id", flat=True
                )
            )
        request._admin_branch_ids = cached
    return cached


def _is_multi_valued(model: type[Model], path: str) -> bool:
    for name in path.split("__"):
        field = model._meta.get_field(name)
        if field.many_to_many or field.one_to_many:
            return True
        if not field.is_relation:
            return False
        model = field.related_model
    return False


def scope_to_branches(queryset: QuerySet, path: str, branch_ids) -> QuerySet:
    """Rows of `queryset` whose `path` (an ORM path to Branch, "pk" for Branch) is in branch_ids."""
    lookup = {f"{path}__in": list(branch_ids)}
    if path != "pk" and _is_multi_valued(queryset.model, path):
        # A row reached through a to-many path (a customer known at two of the branches) must be
        # listed once: a subquery, not a join that repeats it.
        matching = queryset.model._default_manager.filter(**lookup).values("pk")
        return queryset.filter(pk__in=matching)
    return queryset.filter(**lookup)


def scoped_admin_for(admin_site, model: type[Model]) -> "BranchScopedAdmin | None":
    try:
        model_admin = admin_site.get_model_admin(model)
    except NotRegistered:
        return None
    return model_admin if isinstance(model_admin, BranchScopedAdmin) else None


def choices_for(admin_site, request, model: type[Model]) -> QuerySet:
    """The rows of `model` a branch administrator may pick in a form field: the rows its own
    scoped admin shows, else those of their branches, else none."""
    branch_ids = admin_branch_ids(request)
    model_admin = scoped_admin_for(admin_site, model)
    if model_admin is not None:
        return model_admin.get_queryset(request)
    if model is Branch:
        return Branch.objects.filter(pk__in=branch_ids)
    try:
        field = model._meta.get_field("branch")
    except FieldDoesNotExist:
        field = None
    if field is not None and field.is_relation and field.related_model is Branch:
        return model._default_manager.filter(branch__in=branch_ids)
    # Nothing says whose rows these are: offer none rather than every branch's.
    return model._default_manager.none()


class _BranchScoping:
    """What admins and inlines share: the scoped queryset, form choices and list filters."""

    # ORM path from the model to its Branch ("pk" when the model is Branch).
    branch_path = "branch"
    # What a branch administrator may do with rows of their branches.
    branch_admin_may = CONFIGURE

    def scope_queryset(self, request, queryset: QuerySet) -> QuerySet:
        return scope_to_branches(queryset, self.branch_path, admin_branch_ids(request))

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if is_platform_operator(request):
            return queryset
        return self.scope_queryset(request, queryset)

    def _branch_admin_may(self, request, action: str) -> bool:
        if not admin_branch_ids(request):
            return False
        if action == VIEW:
            return bool({VIEW, CHANGE} & self.branch_admin_may)
        return action in self.branch_admin_may

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if not is_platform_operator(request) and "queryset" not in kwargs:
            kwargs["queryset"] = choices_for(self.admin_site, request, db_field.related_model)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if not is_platform_operator(request) and "queryset" not in kwargs:
            kwargs["queryset"] = choices_for(self.admin_site, request, db_field.related_model)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class BranchScopedAdmin(_BranchScoping, admin.ModelAdmin):
    """A ModelAdmin that a branch administrator sees only for their branches' rows."""

    def has_module_permission(self, request):
        if is_platform_operator(request):
            return super().has_module_permission(request)
        return bool(admin_branch_ids(request))

    def has_view_permission(self, request, obj=None):
        if is_platform_operator(request):
            return super().has_view_permission(request, obj)
        return self._branch_admin_may(request, VIEW) and self.in_scope(request, obj)

    def has_add_permission(self, request):
        if is_platform_operator(request):
            return super().has_add_permission(request)
        return self._branch_admin_may(request, ADD)

    def has_change_permission(self, request, obj=None):
        if is_platform_operator(request):
            return super().has_change_permission(request, obj)
        return self._branch_admin_may(request, CHANGE) and self.in_scope(request, obj)

    def has_delete_permission(self, request, obj=None):
        if is_platform_operator(request):
            return super().has_delete_permission(request, obj)
        return self._branch_admin_may(request, DELETE) and self.in_scope(request, obj)

    def in_scope(self, request, obj) -> bool:
        if obj is None or obj.pk is None:
            return True
        cache = request.__dict__.setdefault("_branch_scope_checked", {})
        key = (type(obj), obj.pk)
        if key not in cache:
            cache[key] = self.get_queryset(request).filter(pk=obj.pk).exists()
        return cache[key]

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        # Another branch's row and a row that does not exist look the same: a 404 (Django
        # would redirect with "doesn't exist", which a form's error path could mistake).
        if obj is None and not is_platform_operator(request):
            raise Http404
        return obj

    def get_list_filter(self, request):
        filters = super().get_list_filter(request)
        if is_platform_operator(request):
            return filters
        # The plain filter lists every branch (every user…) by name; offer only values present.
        return [self._related_only(item) for item in filters]

    def _related_only(self, item):
        if not isinstance(item, str) or "__" in item:
            return item
        try:
            field = self.model._meta.get_field(item)
        except FieldDoesNotExist:
            return item
        if field.is_relation and (field.many_to_one or field.one_to_one):
            return (item, admin.RelatedOnlyFieldListFilter)
        return item

    def lookup_allowed(self, lookup, value, request=None):
        if (
            request is not None
            and not is_platform_operator(request)
            and PERSONAL_FIELDS & set(lookup.split("__"))
        ):
            return False
        return super().lookup_allowed(lookup, value, request)


class BranchScopedInline(_BranchScoping):
    """For inlines: the parent's admin scopes the parent; this scopes the rows and choices."""

    def has_view_permission(self, request, obj=None):
        if is_platform_operator(request):
            return super().has_view_permission(request, obj)
        return self._branch_admin_may(request, VIEW)

    def has_add_permission(self, request, obj):
        if is_platform_operator(request):
            return super().has_add_permission(request, obj)
        return self._branch_admin_may(request, ADD)

    def has_change_permission(self, request, obj=None):
        if is_platform_operator(request):
            return super().has_change_permission(request, obj)
        return self._branch_admin_may(request, CHANGE)

    def has_delete_permission(self, request, obj=None):
        if is_platform_operator(request):
            return super().has_delete_permission(request, obj)
        return self._branch_admin_may(request, DELETE)


class PlatformOnlyAdmin(admin.ModelAdmin):
    """Platform plumbing (the outbox): the platform operator's alone, whatever permissions say."""

    def has_module_permission(self, request):
        return is_platform_operator(request) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return is_platform_operator(request) and super().has_view_permission(request, obj)
