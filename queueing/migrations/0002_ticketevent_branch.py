import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def copy_branch_from_ticket(apps, schema_editor):
    TicketEvent = apps.get_model("queueing", "TicketEvent")
    Ticket = apps.get_model("queueing", "Ticket")
    TicketEvent.objects.filter(branch__isnull=True).update(
        branch_id=Subquery(Ticket.objects.filter(pk=OuterRef("ticket_id")).values("branch_id")[:1])
    )


class Migration(migrations.Migration):
    """TicketEvent.branch: the latest event of a branch is its live screens' queue version."""

    dependencies = [
        ("accounts", "0001_initial"),
        ("queueing", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="ticketevent",
            name="branch",
            field=models.ForeignKey(
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="accounts.branch",
            ),
        ),
        migrations.RunPython(copy_branch_from_ticket, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="ticketevent",
            name="branch",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="accounts.branch",
            ),
        ),
        migrations.AddIndex(
            model_name="ticketevent",
            index=models.Index(fields=["branch", "-id"], name="ticketevent_branch_latest"),
        ),
    ]
