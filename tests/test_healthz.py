"""The health check load balancers and docker compose poll: anonymous, JSON, 503 only when the
web process itself cannot work (database or cache down)."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from accounts.tasks import HEARTBEAT_KEY, heartbeat
from config import views

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_heartbeat():
    cache.delete(HEARTBEAT_KEY)
    yield
    cache.delete(HEARTBEAT_KEY)


def _boom() -> None:
    raise ConnectionError("down")


def test_it_reports_ok_with_every_check_to_an_anonymous_caller(client):
    response = client.get(reverse("healthz"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "broker", "celery"}
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


def test_it_returns_503_when_the_cache_check_fails(client, monkeypatch):
    monkeypatch.setattr(views, "_cache", _boom)

    response = client.get(reverse("healthz"))

    assert response.status_code == 503
    assert response.json()["checks"]["cache"]["ok"] is False


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


def test_it_answers_plain_http_when_https_is_enforced(client, settings):
    # Probes inside the container network speak plain HTTP; they must not get a 301.
    settings.SECURE_SSL_REDIRECT = True

    health = client.get(reverse("healthz"))
    login = client.get(reverse("login"))

    assert health.status_code == 200
    assert login.status_code == 301
