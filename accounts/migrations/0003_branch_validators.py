"""Bounds on the routing settings and the self-service threshold (never negative)."""

import django.core.validators
from decimal import Decimal
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_outbox"),
    ]

    operations = [
        migrations.AlterField(
            model_name="branch",
            name="max_priority_bypass",
            field=models.PositiveSmallIntegerField(
                default=3,
                help_text="No regular customer is passed over by more than this many priority customers.",
                validators=[
                    django.core.validators.MinValueValidator(0),
                    django.core.validators.MaxValueValidator(50),
                ],
                verbose_name="max priority bypass (K)",
            ),
        ),
        migrations.AlterField(
            model_name="branch",
            name="max_recalls",
            field=models.PositiveSmallIntegerField(
                default=2,
                validators=[
                    django.core.validators.MinValueValidator(0),
                    django.core.validators.MaxValueValidator(10),
                ],
                verbose_name="recalls before no-show",
            ),
        ),
        migrations.AlterField(
            model_name="branch",
            name="self_service_threshold",
            field=models.DecimalField(
                decimal_places=2,
                default=Decimal("20000"),
                help_text="Cash jobs up to this amount may be diverted to the self-service machines.",
                max_digits=12,
                validators=[django.core.validators.MinValueValidator(Decimal("0"))],
                verbose_name="self-service threshold (CNY)",
            ),
        ),
    ]
