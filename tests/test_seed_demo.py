"""`make run` seeds the demo branch with `manage.py seed_demo`."""

from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import Branch


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
