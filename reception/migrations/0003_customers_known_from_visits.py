from django.db import migrations
from django.db.models import Max, Min


def link_customers_to_branches_of_their_visits(apps, schema_editor):
    """A customer who registered at a branch is known there (crm.CustomerBranch), even before
    any interaction: crm's own migration covered interactions."""
    Visit = apps.get_model("reception", "Visit")
    CustomerBranch = apps.get_model("crm", "CustomerBranch")
    rows = (
        Visit.objects.values("customer_id", "branch_id")
        .annotate(first=Min("registered_at"), last=Max("registered_at"))
        .order_by()
    )
    CustomerBranch.objects.bulk_create(
        (
            CustomerBranch(
                customer_id=row["customer_id"],
                branch_id=row["branch_id"],
                first_seen_at=row["first"],
                last_seen_at=row["last"],
            )
            for row in rows.iterator()
        ),
        batch_size=2000,
        ignore_conflicts=True,  # known from an interaction already
    )


class Migration(migrations.Migration):
    dependencies = [
        ("reception", "0002_visithandover"),
        ("crm", "0002_customer_branch"),
    ]

    operations = [
        migrations.RunPython(link_customers_to_branches_of_their_visits, migrations.RunPython.noop)
    ]
