"""Every staff request reads its session, user and memberships from the shared cache: in one
round trip once the process has seen the session (accounts.sessions reads the user ahead), and
the memberships only once however many checks need them (Redis is on the hot path of every
teller's call; each round trip is ~0.1 ms of CPU on both ends)."""

import pytest
from django.contrib.auth import get_user
from django.core.cache import caches
from django.test import Client, RequestFactory
from django.urls import reverse

from accounts import sessions
from accounts.sessions import SessionStore

pytestmark = pytest.mark.django_db


def _record_shared_cache_reads(monkeypatch) -> list[tuple[str, object]]:
    cache = caches["shared"]
    reads: list[tuple[str, object]] = []
    get, get_many = cache.get, cache.get_many
    inside_get_many = []  # the test's LocMem cache answers get_many with get() per key

    def recording_get(key, *args, **kwargs):
        if not inside_get_many:
            reads.append(("get", key))
        return get(key, *args, **kwargs)

    def recording_get_many(keys, *args, **kwargs):
        reads.append(("get_many", tuple(keys)))
        inside_get_many.append(True)
        try:
            return get_many(keys, *args, **kwargs)
        finally:
            inside_get_many.pop()

    monkeypatch.setattr(cache, "get", recording_get)
    monkeypatch.setattr(cache, "get_many", recording_get_many)
    return reads


def test_a_staff_api_request_reads_user_and_memberships_in_one_round_trip(teller, monkeypatch):
    client = Client()
    client.force_login(teller)
    url = reverse("api:queue-service-list")
    assert client.get(url).status_code == 200  # fills the caches

    reads = _record_shared_cache_reads(monkeypatch)
    assert client.get(url).status_code == 200

    session_key = SessionStore.cache_key_prefix + client.session.session_key
    assert reads == [
        ("get_many", (session_key, f"auth-user:{teller.pk}", f"staff-access:{teller.pk}"))
    ]


def test_the_first_request_of_a_session_in_a_process_reads_the_user_after_the_session(
    teller, monkeypatch
):
    client = Client()
    client.force_login(teller)
    url = reverse("api:queue-service-list")
    assert client.get(url).status_code == 200  # fills the caches
    monkeypatch.setattr(sessions, "_USER_OF_SESSION", {})  # as a process that never saw it

    reads = _record_shared_cache_reads(monkeypatch)
    assert client.get(url).status_code == 200

    session_key = SessionStore.cache_key_prefix + client.session.session_key
    assert reads == [
        ("get", session_key),
        ("get_many", (f"auth-user:{teller.pk}", f"staff-access:{teller.pk}")),
    ]


def test_a_session_now_naming_another_user_gets_that_user_not_the_one_read_ahead(
    teller, lobby_manager, monkeypatch
):
    client = Client()
    client.force_login(teller)
    url = reverse("api:queue-service-list")
    assert client.get(url).status_code == 200
    other = Client()
    other.force_login(lobby_manager)
    assert other.get(url).status_code == 200  # the lobby manager's user is cached too
    # A stale hint: this process believes the teller's session names the lobby manager.
    session_key = client.session.session_key
    monkeypatch.setitem(sessions._USER_OF_SESSION, session_key, str(lobby_manager.pk))

    user = get_user(_request_with_session(session_key))

    assert user.pk == teller.pk
    assert sessions._USER_OF_SESSION[session_key] == str(teller.pk)  # the hint is mended


def test_a_read_ahead_is_used_once_and_only_for_its_user():
    sessions._read_ahead.set(("7", {"auth-user:7": "x"}))
    assert sessions.take_read_ahead(8) is None  # another user: not for them
    assert sessions.take_read_ahead(7) is None  # and gone: taken (and refused) above

    sessions._read_ahead.set(("7", {"auth-user:7": "x"}))
    assert sessions.take_read_ahead(7) == {"auth-user:7": "x"}
    assert sessions.take_read_ahead(7) is None


def test_a_session_read_forgets_what_an_earlier_request_read_ahead(teller):
    sessions._read_ahead.set((str(teller.pk), {"auth-user:stale": "x"}))
    store = SessionStore()
    store["k"] = "v"
    store.save()

    SessionStore(store.session_key).load()  # no hint for it in this process: a plain read

    assert sessions.take_read_ahead(teller.pk) is None


def _request_with_session(session_key: str):
    request = RequestFactory().get("/")
    request.session = SessionStore(session_key)
    return request


def test_a_user_deactivated_between_two_requests_is_refused_on_the_second(teller):
    client = Client()
    client.force_login(teller)
    url = reverse("api:queue-service-list")
    assert client.get(url).status_code == 200
    assert client.get(url).status_code == 200  # read ahead with the session now

    teller.is_active = False
    teller.save()  # drops the cached user (accounts.receivers)

    assert client.get(url).status_code == 403
