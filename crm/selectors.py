from django.db.models import Q, QuerySet

from .models import Customer, Interaction
from .personal_data import normalise_phone


def customer_by_phone(*, phone: str) -> Customer | None:
    return Customer.objects.filter(phone=normalise_phone(phone), anonymised_at__isnull=True).first()


def customer_history(*, customer: Customer, branch, limit: int = 10) -> QuerySet[Interaction]:
    """The customer's latest interactions at this branch (the counter card): a branch sees its
    own history with a customer, notes included, never another branch's (as on the CRM page)."""
    return customer_interactions_at_branch(customer=customer, branch=branch)[:limit]


def interactions_for_branch(*, branch) -> QuerySet[Interaction]:
    return Interaction.objects.filter(branch=branch).select_related("customer", "staff")


# --- Reads for the REST API (crm/api.py) -------------------------------------------------------


def customers_seen_at_branch(*, branch, phone: str = "") -> QuerySet[Customer]:
    """Customers with an interaction at this branch (crm knows visits only through those);
    with `phone`, the one whose (normalised) number it is."""
    queryset = Customer.objects.filter(
        pk__in=Interaction.objects.filter(branch=branch).values("customer_id")
    )
    if phone:
        queryset = queryset.filter(phone=normalise_phone(phone), anonymised_at__isnull=True)
    return queryset.order_by("-last_visit_at", "-pk")


def customer_interactions_at_branch(*, customer: Customer, branch) -> QuerySet[Interaction]:
    return (
        Interaction.objects.filter(customer=customer, branch=branch)
        .select_related("staff")
        .order_by("-occurred_at", "-pk")
    )


# --- Reads for the staff pages (crm/views.py) ---------------------------------------------------


def customers_known_at_branch(*, branch) -> QuerySet[Customer]:
    """Customers who have been to this branch: an interaction there, or a registered visit
    (a customer still waiting has no interaction yet). Staff may look up only these, so a
    branch cannot browse the bank's whole customer base."""
    # `visits` is reception's reverse relation, used by name: crm imports no other domain app.
    return Customer.objects.filter(
        Q(pk__in=Interaction.objects.filter(branch=branch).values("customer_id"))
        | Q(pk__in=Customer.objects.filter(visits__branch=branch).values("pk"))
    )


def customer_for_branch(*, branch, pk: int) -> Customer | None:
    return customers_known_at_branch(branch=branch).filter(pk=pk).first()


def customer_search_at_branch(*, branch, phone: str) -> list[Customer]:
    normalised = normalise_phone(phone)
    if not normalised:
        return []
    return list(
        customers_known_at_branch(branch=branch)
        .filter(phone=normalised, anonymised_at__isnull=True)
        .order_by("-last_visit_at", "-pk")[:10]
    )
