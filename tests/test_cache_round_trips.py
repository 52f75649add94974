"""Every staff request reads its user and memberships from the shared cache: in one round trip,
and the memberships only once however many checks need them (Redis is on the hot path of every
teller's call; each round trip is ~0.1 ms of CPU on both ends)."""

import pytest
from django.core.cache import caches
from django.test import Client
from django.urls import reverse

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

    touching_access = [read for read in reads if "staff-access" in str(read)]
    assert touching_access == [
        ("get_many", (f"auth-user:{teller.pk}", f"staff-access:{teller.pk}"))
    ]
    assert not [read for read in reads if read == ("get", f"auth-user:{teller.pk}")]
