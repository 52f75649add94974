"""accounts.redis_direct: the hot cache calls and the queue version's SET + PUBLISH written
straight to a connection the thread keeps. Same answers as redis-py's client, and a connection
that went wrong is never used again half-read."""

import threading

import pytest
import redis

from accounts.cache import ResilientRedisCache
from accounts.redis_direct import DirectCommands

from .test_live_updates import redis_or_skip


@pytest.fixture
def redis_url() -> str:
    return redis_or_skip()


@pytest.fixture
def cache(redis_url):
    cache = ResilientRedisCache(
        redis_url, {"KEY_PREFIX": "bf-test-direct", "OPTIONS": {"FALLBACK": "none"}}
    )
    yield cache
    cache.delete_many(["k", "n", "forever", "gone", "a", "b"])


def test_the_cache_answers_as_with_redis_py(cache, redis_url):
    plain = redis.Redis.from_url(redis_url)

    cache.set("k", {"roles": ["teller"], "name": "王小明"}, 60)
    cache.set("n", 41, 60)  # an int is stored as digits (incr-able), read back as an int
    cache.set("forever", "x", None)

    assert cache.get("k") == {"roles": ["teller"], "name": "王小明"}
    assert cache.get("n") == 41 and plain.get(cache.make_and_validate_key("n")) == b"41"
    assert cache.incr("n") == 42 and cache.get("n") == 42
    assert 0 < plain.ttl(cache.make_and_validate_key("k")) <= 60
    assert plain.ttl(cache.make_and_validate_key("forever")) == -1  # no expiry
    assert cache.get("missing", "default") == "default"
    assert cache.get_many(["k", "missing", "n"]) == {
        "k": {"roles": ["teller"], "name": "王小明"},
        "n": 42,
    }
    assert cache.get_many([]) == {}

    cache.set("gone", "x", 0)  # a timeout of 0 deletes, as Django's backend does
    assert cache.get("gone") is None
    cache.set("gone", "x", 60)
    assert cache.delete("gone") is True and cache.delete("gone") is False
    assert not cache.degraded


def test_a_connection_the_server_closed_is_reopened_without_failing_the_call(cache, redis_url):
    cache.set("k", "before", 60)
    direct = cache._cache._direct()
    kept = direct._local.connection
    (client_id,) = direct.execute(("CLIENT", "ID"))
    redis.Redis.from_url(redis_url).client_kill_filter(_id=client_id)  # as a Redis restart would

    assert cache.get("k") == "before"
    assert not cache.degraded  # no failure recorded, no fallback taken
    (new_id,) = direct.execute(("CLIENT", "ID"))
    assert new_id != client_id and direct._local.connection is kept  # reconnected in place


def test_an_error_answer_drops_the_connection_so_the_next_call_reads_its_own_answer(
    cache, redis_url
):
    direct = DirectCommands(redis.ConnectionPool.from_url(redis_url))
    list_key = cache.make_and_validate_key("a")
    direct.execute(("DEL", list_key), ("RPUSH", list_key, "x"))

    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        direct.execute(("GET", list_key), ("PING",))  # PING's answer is left unread
    assert direct.execute(("ECHO", "mine")) == [b"mine"]
    direct.close()


def test_each_thread_and_each_process_has_its_own_connection(redis_url):
    direct = DirectCommands(redis.ConnectionPool.from_url(redis_url))
    ids: list[int] = []

    def record() -> None:
        ids.extend(direct.execute(("CLIENT", "ID")))
        direct.close()

    threads = [threading.Thread(target=record) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(ids)) == 3

    (before,) = direct.execute(("CLIENT", "ID"))
    direct._local.connection.pid = -1  # as seen by a forked child
    (after,) = direct.execute(("CLIENT", "ID"))
    assert after != before
    direct.close()


def test_a_dead_server_raises_redis_errors_for_the_breaker(cache):
    from .test_redis_down import closed_port

    direct = DirectCommands(
        redis.ConnectionPool.from_url(
            f"redis://127.0.0.1:{closed_port()}/0", socket_connect_timeout=0.5
        )
    )
    with pytest.raises(redis.ConnectionError):
        direct.execute(("GET", "k"))
