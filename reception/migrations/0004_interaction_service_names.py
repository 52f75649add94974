from django.db import migrations


def name_the_services_of_past_interactions(apps, schema_editor):
    """Interactions recorded before crm kept service names get the names of the branch's
    service with that code (reception knows both sides; crm and queueing do not)."""
    Interaction = apps.get_model("crm", "Interaction")
    Service = apps.get_model("queueing", "Service")
    pairs = (
        Interaction.objects.filter(service_name_zh="")
        .exclude(service_code="")
        .values_list("branch_id", "service_code")
        .distinct()
    )
    for branch_id, code in list(pairs):
        service = Service.objects.filter(branch_id=branch_id, code=code).first()
        if service is None:
            continue
        Interaction.objects.filter(
            branch_id=branch_id, service_code=code, service_name_zh=""
        ).update(
            service_name_zh=service.name_zh,
            service_name_zh_hant=service.name_zh_hant,
            service_name_en=service.name_en,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("reception", "0003_customers_known_from_visits"),
        ("crm", "0003_interaction_service_names"),
        ("queueing", "0004_name_zh_hant"),
    ]

    operations = [
        migrations.RunPython(name_the_services_of_past_interactions, migrations.RunPython.noop)
    ]
