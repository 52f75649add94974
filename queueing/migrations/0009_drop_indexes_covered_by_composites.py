# Two indexes that others cover: tickets by branch (every index starting with the branch serves
# it) and events by ticket ((ticket, at) serves it). Each ticket change updated both for nothing.
#
# Only the indexes are dropped (a brief lock, no table rewritten). AlterField alone would also
# drop and re-create both foreign keys, and re-creating one checks every row of the table while
# holding a lock that stops the counters: minutes at 10 M tickets.

import django.db.models.deletion
from django.db import migrations, models

COVERED_INDEXES = ("queueing_ticket_branch_id_c0bf8096", "queueing_ticketevent_ticket_id_ff71d7fe")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0008_aging_label"),
        ("queueing", "0008_issue6_reception"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    [f'DROP INDEX IF EXISTS "{name}"' for name in COVERED_INDEXES],
                    reverse_sql=[
                        'CREATE INDEX "queueing_ticket_branch_id_c0bf8096"'
                        ' ON "queueing_ticket" ("branch_id")',
                        'CREATE INDEX "queueing_ticketevent_ticket_id_ff71d7fe"'
                        ' ON "queueing_ticketevent" ("ticket_id")',
                    ],
                )
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="ticket",
                    name="branch",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="tickets",
                        to="accounts.branch",
                    ),
                ),
                migrations.AlterField(
                    model_name="ticketevent",
                    name="ticket",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="events",
                        to="queueing.ticket",
                    ),
                ),
            ],
        )
    ]
