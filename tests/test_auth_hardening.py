"""Authentication and rate limits: brute force is locked out, limits key on the real client
address, public pages are limited, staff responses are never cached."""

import base64
import logging

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from feedback.links import survey_token
from queueing.links import ticket_status_token

from .factories import UserFactory

PASSWORD = "a-long-correct-password"
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _low_limits(settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "survey": "3/hour",
            "public_page": "4/min",
            "survey_page": "3/min",
        },
    }
    from rest_framework.settings import api_settings
    from rest_framework.throttling import SimpleRateThrottle

    # DRF's throttle classes read the rates once, at import.
    saved = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    yield
    SimpleRateThrottle.THROTTLE_RATES = saved


@pytest.fixture
def staff_user(branch):
    from accounts.models import Role

    from .factories import MembershipFactory

    user = UserFactory(username="clerk")
    user.set_password(PASSWORD)
    user.save()
    MembershipFactory(user=user, branch=branch, role=Role.TELLER)
    return user


def sign_in(client: Client, username: str, password: str, address: str = "203.0.113.7"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address
    )


def test_a_username_is_locked_after_repeated_failures_whatever_the_address(staff_user, caplog):
    client = Client()
    caplog.set_level(logging.WARNING)
    for n in range(2):
        assert sign_in(client, "clerk", "wrong", address=f"203.0.113.{n}").status_code == 200
    assert sign_in(client, "clerk", "wrong", address="203.0.113.2").status_code == 429  # 3rd
    locked = sign_in(client, "clerk", PASSWORD, address="198.51.100.9")
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()
    assert int(locked["Retry-After"]) == 15 * 60
    assert "_auth_user_id" not in client.session
    assert AccessAttempt.objects.filter(username="clerk").exists()  # recorded for the admin
    assert "after repeated login failures" in caplog.text  # and logged (username masked)


def test_an_address_is_locked_after_repeated_failures_whatever_the_username(staff_user):
    client = Client()
    for name in ("alice", "bob", "carol"):
        sign_in(client, name, "guess", address="203.0.113.50")
    assert sign_in(client, "clerk", PASSWORD, address="203.0.113.50").status_code == 429
    assert sign_in(Client(), "clerk", PASSWORD, address="203.0.113.51").status_code == 302


def test_a_forged_forwarded_for_does_not_escape_the_lockout(staff_user):
    client = Client()
    for n in range(4):
        response = client.post(
            reverse("login"),
            {"username": f"user{n}", "password": "guess"},
            REMOTE_ADDR="203.0.113.60",
            HTTP_X_FORWARDED_FOR=f"10.0.0.{n}",
        )
    assert response.status_code == 429


def test_the_admin_sign_in_is_locked_too(staff_user):
    client = Client()
    for _ in range(3):
        client.post(
            reverse("admin:login"),
            {"username": "clerk", "password": "wrong"},
            REMOTE_ADDR="203.0.113.70",
        )
    response = client.post(
        reverse("admin:login"),
        {"username": "clerk", "password": PASSWORD},
        REMOTE_ADDR="203.0.113.71",
    )
    assert response.status_code == 429


def test_api_basic_auth_is_locked_with_a_json_answer(staff_user):
    client = APIClient()
    url = reverse("api:queue-service-list")

    def basic(password: str) -> str:
        return "Basic " + base64.b64encode(f"clerk:{password}".encode()).decode()

    # 403, not 401: session authentication comes first, and it names no challenge.
    assert client.get(url, HTTP_AUTHORIZATION=basic("wrong")).status_code == 403
    assert client.get(url, HTTP_AUTHORIZATION=basic("wrong")).status_code == 403
    assert client.get(url, HTTP_AUTHORIZATION=basic("wrong")).status_code == 429  # the 3rd
    locked = client.get(url, HTTP_AUTHORIZATION=basic(PASSWORD))
    assert locked.status_code == 429
    assert locked.json()["code"] == "locked_out"


def test_the_survey_api_limit_ignores_a_new_forwarded_for_per_request(invitation):
    client = APIClient()
    url = reverse("api:feedback-public-response-create")
    codes = [
        client.post(
            url,
            {"token": "forged", "satisfaction": 1},
            format="json",
            REMOTE_ADDR="203.0.113.80",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
        ).status_code
        for n in range(5)
    ]
    assert codes == [400, 400, 400, 429, 429]


@pytest.fixture
def invitation(branch):
    from django.utils import timezone

    from crm.models import Interaction
    from feedback.models import SurveyInvitation

    from .factories import CustomerFactory

    customer = CustomerFactory(phone="13912345678", sms_consent=True)
    interaction = Interaction.objects.create(
        customer=customer, branch=branch, kind="branch_service", occurred_at=timezone.now()
    )
    return SurveyInvitation.objects.create(
        customer=customer, branch=branch, interaction=interaction, status="sent"
    )


@pytest.mark.parametrize("page", ["board", "board_state", "ticket_status", "ticket_status_state"])
def test_the_public_queue_pages_are_limited_per_address(page, branch, cash):
    from queueing import services

    ticket = services.ticket_issue(branch=branch, service=cash)
    token = branch.display_token if page.startswith("board") else ticket_status_token(ticket.pk)
    url = reverse(f"queueing:{page}", args=[token])
    client = Client()
    codes = [client.get(url, REMOTE_ADDR="203.0.113.90").status_code for _ in range(5)]
    assert codes == [200, 200, 200, 200, 429]
    limited = client.get(url, REMOTE_ADDR="203.0.113.90")
    assert int(limited["Retry-After"]) >= 1
    assert client.get(url, REMOTE_ADDR="203.0.113.91").status_code == 200  # another address


def test_the_survey_page_is_limited_per_address(invitation):
    url = reverse("feedback:survey", args=[survey_token(invitation.pk)])
    client = Client()
    codes = [client.get(url, REMOTE_ADDR="203.0.113.95").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


def test_staff_responses_are_never_stored(client, teller, counter):
    client.force_login(teller)
    for url in (reverse("reception:counters"), reverse("api:queue-counter-list")):
        response = client.get(url)
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"]
        assert "private" in response["Cache-Control"]


def test_anonymous_pages_are_left_to_their_own_caching(client, branch):
    response = client.get(reverse("queueing:board", args=[branch.display_token]))
    assert "private" not in response.get("Cache-Control", "")
