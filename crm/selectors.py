from django.db.models import QuerySet

from .models import Customer, Interaction
from .personal_data import normalise_phone


def customer_by_phone(*, phone: str) -> Customer | None:
    return Customer.objects.filter(phone=normalise_phone(phone), anonymised_at__isnull=True).first()


def customer_history(*, customer: Customer, limit: int = 10) -> QuerySet[Interaction]:
    return customer.interactions.select_related("branch").order_by("-occurred_at")[:limit]


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
