"""CounterEvent (the audit trail of who sits at a counter) and bounds on service times."""

import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("queueing", "0002_ticketevent_branch"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="counter",
            name="number",
            field=models.PositiveSmallIntegerField(
                validators=[
                    django.core.validators.MinValueValidator(1),
                    django.core.validators.MaxValueValidator(999),
                ],
                verbose_name="number",
            ),
        ),
        migrations.AlterField(
            model_name="service",
            name="standard_handle_minutes",
            field=models.PositiveSmallIntegerField(
                default=8,
                validators=[
                    django.core.validators.MinValueValidator(1),
                    django.core.validators.MaxValueValidator(600),
                ],
                verbose_name="standard handling time (minutes)",
            ),
        ),
        migrations.AlterField(
            model_name="service",
            name="target_wait_minutes",
            field=models.PositiveSmallIntegerField(
                default=15,
                validators=[
                    django.core.validators.MinValueValidator(1),
                    django.core.validators.MaxValueValidator(600),
                ],
                verbose_name="target wait (minutes)",
            ),
        ),
        migrations.CreateModel(
            name="CounterEvent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "action",
                    models.CharField(
                        choices=[
                            ("open", "Opened"),
                            ("close", "Closed"),
                            ("pause", "Paused"),
                            ("resume", "Resumed"),
                            ("take_over", "Taken over"),
                            ("sign_out", "Closed on sign-out"),
                            ("leave", "Left on sign-out, customer still at the counter"),
                        ],
                        max_length=12,
                        verbose_name="action",
                    ),
                ),
                ("at", models.DateTimeField(verbose_name="at")),
                ("reason", models.CharField(blank=True, max_length=200, verbose_name="reason")),
                (
                    "branch",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="accounts.branch",
                    ),
                ),
                (
                    "by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="by",
                    ),
                ),
                (
                    "counter",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="events",
                        to="queueing.counter",
                    ),
                ),
                (
                    "previous_teller",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="previous teller",
                    ),
                ),
            ],
            options={
                "verbose_name": "counter event",
                "verbose_name_plural": "counter events",
                "ordering": ["-at", "-pk"],
                "indexes": [
                    models.Index(fields=["counter", "-at"], name="counterevent_counter_at")
                ],
            },
        ),
    ]
