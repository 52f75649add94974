"""Every existing service gets the three control points the counter enforced before they were
configurable (identity verified: required; documents signed; funds handed over) as version 1,
so no visit is checked against less than before. Services created later get them at their
first publish (reception.services.control_points_publish)."""

from django.db import migrations
from django.utils import timezone

DEFAULT_POINTS = (
    ("identity_verified", "核实客户身份", "核實客戶身份", "Identity verified", True),
    ("documents_signed", "单据已签字", "單據已簽字", "Documents signed", False),
    ("funds_handed_over", "款项已交付", "款項已交付", "Funds handed over", False),
)


def add_defaults(apps, schema_editor):
    Service = apps.get_model("queueing", "Service")
    ControlPoint = apps.get_model("reception", "ControlPoint")
    ControlPointVersion = apps.get_model("reception", "ControlPointVersion")
    now = timezone.now()
    for service in Service.objects.all():
        if ControlPointVersion.objects.filter(service=service).exists():
            continue
        if not ControlPoint.objects.filter(service=service).exists():
            for n, (key, zh, zh_hant, en, required) in enumerate(DEFAULT_POINTS):
                ControlPoint.objects.create(
                    service=service,
                    key=key,
                    label_zh=zh,
                    label_zh_hant=zh_hant,
                    label_en=en,
                    required=required,
                    sort_order=(n + 1) * 10,
                )
        points = [
            {
                "key": point.key,
                "label_zh": point.label_zh,
                "label_zh_hant": point.label_zh_hant,
                "label_en": point.label_en,
                "required": point.required,
            }
            for point in ControlPoint.objects.filter(service=service, is_active=True).order_by(
                "sort_order", "pk"
            )
        ]
        ControlPointVersion.objects.create(service=service, number=1, points=points, created_at=now)


class Migration(migrations.Migration):
    dependencies = [("reception", "0006_issue7_handling_crm")]

    operations = [migrations.RunPython(add_defaults, migrations.RunPython.noop)]
