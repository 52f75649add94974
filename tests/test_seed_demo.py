"""`make run` seeds the demo branch with `manage.py seed_demo`."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from accounts.models import Branch, Membership, Role

from .factories import BranchFactory, ServiceFactory


@pytest.mark.django_db
def test_it_prints_the_board_address_on_the_port_the_server_uses(settings):
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8101"  # what `make run PORT=8101` passes
    out = StringIO()
    call_command("seed_demo", stdout=out)
    branch = Branch.objects.get()
    assert f"http://127.0.0.1:8101/queue/board/{branch.display_token}/" in out.getvalue()
    assert ":8000" not in out.getvalue()


@pytest.mark.django_db
def test_it_is_idempotent():
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())
    assert Branch.objects.count() == 1


@pytest.mark.django_db
def test_the_demo_admin_is_a_branch_administrator_not_a_superuser():
    out = StringIO()
    call_command("seed_demo", stdout=out)
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_staff and not admin.is_superuser
    assert Membership.objects.filter(user=admin, role=Role.ADMIN, is_active=True).exists()
    assert "createsuperuser" in out.getvalue()
    others = get_user_model().objects.exclude(username="admin")
    assert not others.filter(is_staff=True).exists()
    assert not others.filter(is_superuser=True).exists()


@pytest.mark.django_db
def test_it_takes_superuser_status_back_from_an_older_demo_admin():
    get_user_model().objects.create_user("admin", is_staff=True, is_superuser=True)
    call_command("seed_demo", stdout=StringIO())
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_staff and not admin.is_superuser


@pytest.mark.django_db
def test_the_demo_admin_opens_the_settings_of_the_demo_branch_only(client):
    call_command("seed_demo", stdout=StringIO())
    elsewhere = ServiceFactory(branch=BranchFactory(code="elsewhere"))
    client.force_login(get_user_model().objects.get(username="admin"))
    response = client.get(reverse("admin:queueing_service_changelist"))
    assert response.status_code == 200
    shown = {service.branch.code for service in response.context["cl"].result_list}
    assert shown == {"demo"}
    assert (
        client.get(reverse("admin:queueing_service_change", args=[elsewhere.pk])).status_code == 404
    )


@pytest.mark.django_db(transaction=True)
def test_seeding_queues_no_task_per_event(settings, monkeypatch):
    """A fresh `make run` seeds hundreds of rows with outbox events: queued one task each, they
    stood ahead of the worker's heartbeat for minutes on the filesystem broker (2 a second).
    The seeds hold their nudges; beat's relay delivers the events."""
    from accounts import outbox
    from accounts.tasks import deliver_outbox_events

    settings.OUTBOX_NUDGE = "task"  # production's: a task per commit with events
    nudged: list = []
    sent: list = []
    real_nudge = outbox.nudge
    monkeypatch.setattr(
        outbox, "nudge", lambda ids, **kw: nudged.append(ids) or real_nudge(ids, **kw)
    )
    monkeypatch.setattr(
        deliver_outbox_events, "apply_async", lambda *args, **kwargs: sent.append(args)
    )

    call_command("seed_demo", "--simulate-days", "1", stdout=StringIO())
    call_command("seed_reception_demo", stdout=StringIO())
    call_command("seed_quality_demo", stdout=StringIO())

    assert nudged, "the seeds write outbox events (else this test proves nothing)"
    assert sent == []
