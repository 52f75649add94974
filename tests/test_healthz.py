"""The health check load balancers and docker compose poll: anonymous, JSON, 503 only when the
web process itself cannot work (the database is down). Redis, the worker and the outbox relay
are reported as degraded parts with a 200: a Redis blip must not pull every web node."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from accounts.models import OutboxDelivery, OutboxEvent
from accounts.tasks import HEARTBEAT_KEY, heartbeat
from config import views

pytestmark = pytest.mark.django_db
TOKEN = "monitoring-token-for-tests"


@pytest.fixture
def client(settings):
    """The operator's monitoring: sends HEALTHZ_TOKEN, so it sees every check."""
    from django.test import Client

    settings.HEALTHZ_TOKEN = TOKEN
    return Client(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")


@pytest.fixture(autouse=True)
def _no_heartbeat():
    cache.delete(HEARTBEAT_KEY)
    yield
    cache.delete(HEARTBEAT_KEY)


def _boom() -> None:
    raise ConnectionError("down")


def test_it_reports_ok_with_every_check_to_an_anonymous_caller(client):
    heartbeat()  # a worker has run

    response = client.get(reverse("healthz"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "broker", "celery", "outbox"}
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["cache"]["ok"] is True
    assert isinstance(body["checks"]["database"]["ms"], float | int)


def test_it_reports_the_broker_reachable(client):
    body = client.get(reverse("healthz")).json()

    assert body["checks"]["broker"]["ok"] is True, body["checks"]["broker"]


def test_it_says_celery_is_not_ok_until_a_worker_has_run_the_heartbeat(client):
    before = client.get(reverse("healthz"))
    heartbeat()
    after = client.get(reverse("healthz"))

    # A missing worker is reported, but the web process is still healthy (200).
    assert before.status_code == 200
    assert before.json()["status"] == "degraded"
    assert before.json()["checks"]["celery"] == {"ok": False, "error": "RuntimeError"}
    assert after.json()["checks"]["celery"]["ok"] is True
    assert after.json()["checks"]["celery"]["heartbeat_age_s"] <= 5


def test_it_says_celery_is_not_ok_when_the_heartbeat_is_stale(client):
    cache.set(HEARTBEAT_KEY, (timezone.now() - timedelta(minutes=10)).isoformat())

    body = client.get(reverse("healthz")).json()

    assert body["checks"]["celery"]["ok"] is False


def test_it_returns_503_when_the_database_check_fails(client, monkeypatch):
    monkeypatch.setattr(views, "_database", _boom)

    response = client.get(reverse("healthz"))

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["checks"]["database"] == {"ok": False, "error": "ConnectionError"}
    assert body["checks"]["cache"]["ok"] is True


def test_it_stays_200_but_degraded_when_the_cache_is_down(client, monkeypatch):
    monkeypatch.setattr(views, "_cache", _boom)

    response = client.get(reverse("healthz"))

    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"]["cache"] == {"ok": False, "error": "ConnectionError"}


def test_it_reports_outbox_deliveries_that_gave_up(client, branch):
    event = OutboxEvent.objects.create(topic="test.topic", payload={}, branch=branch)
    OutboxDelivery.objects.create(
        event=event, listener="test.listener", status=OutboxDelivery.Status.DEAD, attempts=12
    )

    response = client.get(reverse("healthz"))

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["outbox"]["ok"] is False
    assert body["checks"]["outbox"]["dead"] == 1


def test_it_reports_outbox_deliveries_overdue_when_the_relay_is_behind(client, branch):
    event = OutboxEvent.objects.create(topic="test.topic", payload={}, branch=branch)
    OutboxDelivery.objects.create(
        event=event,
        listener="test.listener",
        next_attempt_at=timezone.now() - timedelta(minutes=10),
    )

    outbox_check = client.get(reverse("healthz")).json()["checks"]["outbox"]

    assert (outbox_check["ok"], outbox_check["overdue"]) == (False, 1)


def test_it_stays_200_when_only_the_broker_is_down(client, monkeypatch):
    monkeypatch.setattr(views, "_broker", _boom)

    response = client.get(reverse("healthz"))

    assert response.status_code == 200
    assert response.json()["checks"]["broker"] == {"ok": False, "error": "ConnectionError"}


def test_it_does_not_leak_exception_messages(client, monkeypatch):
    def fail_with_secret() -> None:
        raise RuntimeError("password=hunter2 host=db.internal")

    monkeypatch.setattr(views, "_database", fail_with_secret)

    response = client.get(reverse("healthz"))

    assert b"hunter2" not in response.content
    assert b"db.internal" not in response.content


def test_anyone_else_sees_the_status_word_only(client, settings):
    from django.test import Client

    for anonymous in (Client(), Client(HTTP_AUTHORIZATION="Bearer wrong-token")):
        response = anonymous.get(reverse("healthz"))
        assert response.status_code == 200
        assert set(response.json()) == {"status"}  # no checks, no debug flag, no error names
        assert response["Cache-Control"] == "no-store"


def test_an_anonymous_caller_still_gets_503_when_the_database_is_down(monkeypatch):
    from django.test import Client

    monkeypatch.setattr(views, "_database", _boom)
    response = Client().get(reverse("healthz"))
    assert (response.status_code, response.json()) == (503, {"status": "error"})


def test_a_superuser_sees_the_details_without_a_token(settings):
    from django.test import Client

    from .factories import UserFactory

    settings.HEALTHZ_TOKEN = ""
    operator = Client()
    operator.force_login(UserFactory(username="root", is_superuser=True, is_staff=True))
    assert "checks" in operator.get(reverse("healthz")).json()
    assert set(Client(HTTP_AUTHORIZATION="Bearer ").get(reverse("healthz")).json()) == {"status"}


def test_it_answers_plain_http_when_https_is_enforced(client, settings):
    # Probes inside the container network speak plain HTTP; they must not get a 301.
    settings.SECURE_SSL_REDIRECT = True

    health = client.get(reverse("healthz"))
    login = client.get(reverse("login"))

    assert health.status_code == 200
    assert login.status_code == 301
