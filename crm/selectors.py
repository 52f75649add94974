from django.db.models import QuerySet

from .models import Customer, Interaction
from .personal_data import normalise_phone


def customer_by_phone(*, phone: str) -> Customer | None:
    return Customer.objects.filter(phone=normalise_phone(phone), anonymised_at__isnull=True).first()


def customer_history(*, customer: Customer, limit: int = 10) -> QuerySet[Interaction]:
    return customer.interactions.select_related("branch").order_by("-occurred_at")[:limit]


def interactions_for_branch(*, branch) -> QuerySet[Interaction]:
    return Interaction.objects.filter(branch=branch).select_related("customer", "staff")
