"""Redis is an accelerator, never a dependency for serving.

Every test here points the cache, the live-screen publisher and the Celery broker at a Redis
that is not there (a closed port on this machine), then serves customers through the real
pages: tickets are issued, called, started, transferred and finished, every page renders, and
each finished visit still gets its CRM interaction and one survey invitation.
"""

import socket
import time

import pytest
from django.core.cache import caches
from django.urls import reverse

from accounts.cache import ResilientRedisCache
from accounts.resilience import CircuitBreaker, breaker_for, enqueue
from crm.models import Interaction
from feedback.links import survey_token
from feedback.models import SurveyInvitation
from feedback.tasks import send_invitation
from queueing import pubsub
from queueing.links import ticket_status_token
from queueing.models import Ticket
from queueing.states import TicketStatus
from reception.models import Visit


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again on leaving: connections are refused


@pytest.fixture
def dead_redis(settings):
    """REDIS_URL, every cache and the Celery broker on a Redis that refuses connections."""
    from config.celery import app

    url = f"redis://127.0.0.1:{closed_port()}/0"
    settings.REDIS_URL = url
    settings.CACHES = {
        "default": {"BACKEND": "accounts.cache.ResilientRedisCache", "LOCATION": url},
        "live": {
            "BACKEND": "accounts.cache.ResilientRedisCache",
            "LOCATION": url,
            "OPTIONS": {"FALLBACK": "none"},
        },
        "shared": {
            "BACKEND": "accounts.cache.ResilientRedisCache",
            "LOCATION": url,
            "OPTIONS": {"FALLBACK": "none"},
        },
    }
    saved = (app.conf.broker_url, app.conf.broker_transport_options)
    app.conf.broker_url = url
    app.conf.broker_transport_options = {"max_retries": 1, "interval_start": 0}
    app._pool, app.amqp._producer_pool = None, None
    pubsub._client = None
    yield url
    app.conf.broker_url, app.conf.broker_transport_options = saved
    app._pool, app.amqp._producer_pool = None, None
    pubsub._client = None


def test_the_cache_misses_and_falls_back_instead_of_raising(dead_redis):
    local = caches["default"]
    assert isinstance(local, ResilientRedisCache)
    local.set("k", "v")  # to the per-process fallback
    assert local.get("k") == "v"
    assert local.degraded
    live = caches["live"]
    live.set("k", "v")
    assert live.get("k") is None  # no fallback: the caller reads the database instead


def test_the_breaker_skips_a_dead_server_until_it_may_have_come_back(dead_redis, monkeypatch):
    breaker = CircuitBreaker("test", open_seconds=5)
    clock = [100.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    assert breaker.allows()
    breaker.record_failure(ConnectionError())
    assert not breaker.allows()
    clock[0] += 5
    assert breaker.allows()  # half-open: one more try
    breaker.record_success()
    assert breaker.allows() and not breaker.is_open


def test_a_nudge_to_a_dead_broker_returns_false_at_once(dead_redis):
    assert enqueue(send_invitation, 1) is False
    assert breaker_for(dead_redis).is_open
    assert enqueue(send_invitation, 1) is False  # skipped by the open breaker


def test_held_nudges_are_not_sent_and_left_to_the_sweep(monkeypatch):
    """A bulk job (a simulated day) holds its nudges: nothing reaches the broker, as if it were
    down, and the hold ends with the block."""
    from accounts.resilience import nudges_held

    sent = []
    monkeypatch.setattr(send_invitation, "apply_async", lambda **kwargs: sent.append(kwargs))
    # Whatever an earlier test left in the broker's circuit breaker: a healthy broker here.
    monkeypatch.setattr("accounts.resilience.guarded", lambda breaker, fn, fallback: fn())
    with nudges_held():
        assert enqueue(send_invitation, 1) is False
    assert sent == []
    assert enqueue(send_invitation, 2) is True
    assert sent == [{"args": (2,), "kwargs": {}, "retry": False}]


@pytest.mark.django_db(transaction=True)
def test_a_branch_serves_customers_with_redis_down(
    client, dead_redis, branch, cash, loans, counter, lobby_manager, teller
):
    client.force_login(lobby_manager)
    phones = ["13800138001", "13800138002", "13800138003"]
    for phone in phones:
        response = client.post(
            reverse("reception:lobby"),
            {"phone": phone, "service": cash.pk, "action": "ticket", "sms_consent": "on"},
        )
        assert response.status_code == 302, response.content.decode()[:500]
    assert client.get(reverse("reception:lobby")).status_code == 200

    client.force_login(teller)

    def act(action, **extra):
        response = client.post(
            reverse("reception:counter_action", args=[counter.pk]), {"action": action, **extra}
        )
        assert response.status_code == 302, response.content.decode()[:500]

    act("open")
    # First customer: served. Second: transferred to loans, then served there. Third: served.
    act("call")
    act("start")
    act("finish", outcome="completed", identity_verified="on")
    act("call")
    act("start")
    act("transfer", to_service=loans.pk, note="贷款")
    act("call")  # the transferred customer comes first
    act("start")
    act("finish", outcome="completed", identity_verified="on")
    act("call")
    act("start")
    act("finish", outcome="completed", identity_verified="on")
    assert client.get(reverse("reception:counter", args=[counter.pk])).status_code == 200

    done = Ticket.objects.filter(status=TicketStatus.DONE)
    assert done.count() == 3
    for ticket in done:
        visit = Visit.objects.get(ticket=ticket)  # the transfer moved the visit along
        interactions = Interaction.objects.filter(source=f"ticket:{ticket.pk}")
        assert interactions.count() == 1
        assert interactions.get().customer == visit.customer
        assert SurveyInvitation.objects.filter(interaction=interactions.get()).count() == 1
    # The send nudges were lost with the broker; the rows wait for beat's sweep.
    assert set(SurveyInvitation.objects.values_list("status", flat=True)) == {"scheduled"}

    transferred = Ticket.objects.get(status=TicketStatus.TRANSFERRED)
    assert Visit.objects.filter(ticket=transferred).count() == 0

    # The customer-facing and public pages.
    anonymous = client.__class__()
    board = reverse("queueing:board", args=[branch.display_token])
    assert anonymous.get(board).status_code == 200
    board_state = anonymous.get(reverse("queueing:board_state", args=[branch.display_token]))
    assert board_state.status_code == 200
    status_token = ticket_status_token(done.first().pk)
    for name in ("queueing:ticket_status", "queueing:ticket_status_state"):
        assert anonymous.get(reverse(name, args=[status_token])).status_code == 200
    invitation = SurveyInvitation.objects.first()
    token = survey_token(invitation.pk)
    assert anonymous.get(reverse("feedback:survey", args=[token])).status_code == 200
    answer = anonymous.post(
        reverse("api:feedback-public-response-create"),
        {"token": token, "satisfaction": 5},
        content_type="application/json",
    )
    assert answer.status_code == 201
    assert breaker_for(dead_redis).is_open


@pytest.mark.django_db
def test_the_version_falls_back_to_the_database(client, dead_redis, branch, cash):
    from queueing import live, services

    ticket = services.ticket_issue(branch=branch, service=cash)
    url = reverse("queueing:version", args=[live.live_token(branch.pk)])
    assert client.get(url).json() == {"v": ticket.events.get().pk}


@pytest.mark.django_db
def test_the_survey_throttle_fails_safe_not_open(dead_redis, settings):
    from rest_framework.test import APIClient

    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"survey": "3/hour"},
    }
    from rest_framework.settings import api_settings
    from rest_framework.throttling import SimpleRateThrottle

    api_settings.reload()
    SimpleRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    try:
        client = APIClient()
        codes = [
            client.post(
                reverse("api:feedback-public-response-create"),
                {"token": "forged", "satisfaction": 1},
                format="json",
            ).status_code
            for _ in range(5)
        ]
    finally:
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK}
        api_settings.reload()
        SimpleRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    assert codes == [400, 400, 400, 429, 429]  # limited per process while Redis is away


def test_the_local_fallback_is_one_store_for_every_thread(dead_redis):
    import threading

    caches["default"].set("shared", "yes")
    seen = []
    thread = threading.Thread(target=lambda: seen.append(caches["default"].get("shared")))
    thread.start()
    thread.join()
    assert seen == ["yes"]  # Django gives each thread its own cache instance


@pytest.mark.django_db
def test_the_health_check_answers_at_once_with_redis_down(client, dead_redis, settings):
    settings.HEALTHZ_TOKEN = "monitoring"
    monitoring = {"HTTP_AUTHORIZATION": "Bearer monitoring"}
    client.get(reverse("healthz"), **monitoring)  # finds Redis gone and opens the breaker
    body = client.get(reverse("healthz"), **monitoring).json()
    assert body["status"] == "degraded"
    assert body["checks"]["cache"] == {"ok": False, "error": "Unreachable"}
    assert body["checks"]["broker"] == {"ok": False, "error": "Unreachable"}
    assert body["checks"]["database"]["ok"] is True
