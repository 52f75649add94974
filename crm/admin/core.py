from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from accounts.admin_scoping import CHANGE, READ_ONLY, VIEW, BranchScopedAdmin, is_platform_operator

from ..models import Customer, Interaction, RevealLog
from ..personal_data import mask_phone, parse_phone

# Personal data a branch administrator never sees in full nor edits (shown masked instead).
_FULL_PERSONAL = ("phone", "id_number", "other_phone")
_READ_ONLY = [
    "created_at",
    "last_visit_at",
    "anonymised_at",
    "sms_consent_at",
    "sms_consent_source",
    "sms_consent_wording",
    # A merge moves history: crm.services.customer_merge (the customer page), never a form.
    "merged_into",
    "merged_at",
]


@admin.register(Customer)
class CustomerAdmin(BranchScopedAdmin):
    """Customers belong to no branch: a branch administrator sees those known at their
    branches (crm.selectors.customers_known_at_branch), with phone and ID number masked."""

    branch_path = "branch_links__branch"
    # Customers come in through the lobby; deleting one would erase other branches' history.
    branch_admin_may = frozenset({VIEW, CHANGE})
    list_display = ["__str__", "is_vip", "tier", "sms_consent", "last_visit_at"]
    list_filter = ["is_vip", "tier", "sms_consent"]
    search_fields = ["phone", "name"]
    readonly_fields = _READ_ONLY
    masked_fields = ["phone_masked", "id_number_masked", "other_phone_masked"]

    def get_search_fields(self, request):
        if is_platform_operator(request):
            return self.search_fields
        return ["name"]

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if is_platform_operator(request):
            return results, may_have_duplicates
        # A whole number finds its customer (as the CRM page does); a prefix finds nothing, so
        # numbers cannot be enumerated digit by digit.
        phone = parse_phone(search_term)
        if phone:
            results |= queryset.filter(phone=phone, anonymised_at__isnull=True)
        return results, may_have_duplicates

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if is_platform_operator(request):
            return fields
        fields = [f for f in fields if f not in _FULL_PERSONAL and f not in self.masked_fields]
        return [*fields[:1], *self.masked_fields, *fields[1:]]

    def get_readonly_fields(self, request, obj=None):
        if is_platform_operator(request):
            return self.readonly_fields
        return [*self.masked_fields, *self.readonly_fields]

    @admin.display(description=_("mobile phone"))
    def phone_masked(self, customer: Customer) -> str:
        return customer.masked_phone

    @admin.display(description=_("ID number"))
    def id_number_masked(self, customer: Customer) -> str:
        return customer.masked_id_number

    @admin.display(description=_("other phone"))
    def other_phone_masked(self, customer: Customer) -> str:
        return mask_phone(customer.other_phone)


@admin.register(Interaction)
class InteractionAdmin(BranchScopedAdmin):
    branch_admin_may = READ_ONLY
    list_display = ["customer", "branch", "kind", "service_code", "outcome", "occurred_at"]
    list_filter = ["branch", "kind"]
    list_select_related = ["customer", "branch"]
    raw_id_fields = ["customer"]


@admin.register(RevealLog)
class RevealLogAdmin(BranchScopedAdmin):
    """Who showed a customer's full number or ID, when and why: a record, never edited."""

    branch_admin_may = READ_ONLY
    list_display = ["at", "branch", "by", "customer", "field", "reason"]
    list_filter = ["field", "at"]
    list_select_related = ["branch", "by", "customer"]
    date_hierarchy = "at"
    fields = ["at", "branch", "by", "customer", "field", "reason"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
