from django.db.models import QuerySet

from ..models import Customer, Interaction
from ..personal_data import normalise_phone


def customer_by_phone(*, phone: str) -> Customer | None:
    return Customer.objects.filter(phone=normalise_phone(phone), anonymised_at__isnull=True).first()


def customer_history(*, customer: Customer, branch, limit: int = 10) -> QuerySet[Interaction]:
    """The customer's latest interactions at this branch (the counter card): a branch sees its
    own history with a customer, notes included, never another branch's (as on the CRM page)."""
    return customer_interactions_at_branch(customer=customer, branch=branch)[:limit]


def interactions_for_branch(*, branch) -> QuerySet[Interaction]:
    return Interaction.objects.filter(branch=branch).select_related("customer", "staff")


# --- Which customers a branch may see: one rule for the pages and the API ------------------


def customers_known_at_branch(*, branch, phone: str = "") -> QuerySet[Customer]:
    """Customers who have been to this branch (registered or served there: CustomerBranch).
    Staff may look up only these, so a branch cannot browse the bank's whole customer base;
    with `phone`, the one whose (normalised) number it is."""
    # A merged duplicate keeps its row for the trail, but is no longer a customer to find.
    queryset = Customer.objects.filter(branch_links__branch=branch, merged_into__isnull=True)
    if phone:
        queryset = queryset.filter(phone=normalise_phone(phone), anonymised_at__isnull=True)
    return queryset.order_by("-last_visit_at", "-pk")


def customer_interactions_at_branch(*, customer: Customer, branch) -> QuerySet[Interaction]:
    return (
        Interaction.objects.filter(customer=customer, branch=branch)
        .select_related("staff")
        .order_by("-occurred_at", "-pk")
    )


def customer_for_branch(*, branch, pk: int) -> Customer | None:
    return customers_known_at_branch(branch=branch).filter(pk=pk).first()


def customer_search_at_branch(*, branch, phone: str) -> list[Customer]:
    if not normalise_phone(phone):
        return []
    return list(customers_known_at_branch(branch=branch, phone=phone)[:10])
