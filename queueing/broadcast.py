"""Tell live screens (counter screens, the display board, customers' status pages) that a
branch's queue changed. Screens re-read the state; the message only says 'something changed'.

The queue version is the id of the branch's latest TicketEvent: its truth is the database
(selectors.queue_version). The `live` cache holds a copy so that polling costs no query:
after each commit the new version is written there and, with Redis, published on a pub/sub
channel that the server-sent-events stream relays at once (docs/live-updates.md).

Both are best effort. A push that fails (Redis down) costs no request anything: polling screens
read the version from the database while the cache misses, and the cached copy expires after
VERSION_TTL_S, so a version written before an outage cannot outlive it for long.
"""

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import BaseCache, caches
from django.core.cache.backends.redis import RedisCache
from django.core.signals import setting_changed
from django.db import connection
from django.dispatch import receiver

from . import selectors
from .states import TicketAction

log = logging.getLogger(__name__)

VERSION_TTL_S = 10

T = TypeVar("T")


_shared_cache: BaseCache | None = None
_shared_cache_lock = threading.Lock()


def live_cache() -> BaseCache:
    """One `live` cache instance for the whole process, whatever thread or task asks.

    caches["live"] is per thread *and* per async context: under ASGI every request (and every
    sync_to_async call) got a new instance, i.e. a new Redis connection pool that was never
    closed (1,500 streams made 3,016 Redis clients). A cache backend is thread-safe (redis-py's
    pool, LocMem's lock), so one instance serves every thread of the process.
    """
    global _shared_cache
    if _shared_cache is None:
        with _shared_cache_lock:
            if _shared_cache is None:
                _shared_cache = caches.create_connection("live")
    return _shared_cache


@receiver(setting_changed)
def _forget_shared_cache(*, setting: str, **kwargs) -> None:
    # Tests that point CACHES elsewhere (tests/test_redis_down.py) must get the new backend.
    global _shared_cache
    if setting in ("CACHES", "REDIS_URL"):
        _shared_cache = None


def version_key(branch_id: int) -> str:
    return f"queue-version:{branch_id}"


def channel_prefix() -> str:
    """This installation's channels (settings.CACHE_KEY_PREFIX: one Redis may serve several)."""
    return f"{settings.CACHE_KEY_PREFIX}:queue:"


def channel_name(branch_id: int) -> str:
    return f"{channel_prefix()}{branch_id}"


def current_version(branch_id: int) -> int:
    """The cached version, or the database's (then cached with add(), so a concurrent push of
    a newer version is never overwritten by this older read)."""
    cached = live_cache().get(version_key(branch_id))
    if cached is not None:
        return int(cached)
    version = selectors.queue_version(branch_id=branch_id)
    live_cache().add(version_key(branch_id), version, timeout=VERSION_TTL_S)
    return version


# How long a worker thread of the event loop keeps its database connection. The live service
# runs with CONN_MAX_AGE 0 because its request threads live one request each (a kept
# connection there would be orphaned); the loop's pool threads live as long as the process,
# so their connections are bounded by the pool's size and worth keeping.
WORKER_THREAD_CONN_MAX_AGE_S = 600

_worker_thread = threading.local()


def in_worker_thread(compute: Callable[..., T], *args) -> T:
    """compute(*args) in one of the event loop's worker threads (sync_to_async with
    thread_sensitive=False: the loop's small, fixed pool of min(32, CPUs + 4) threads), keeping
    the thread's database connection between calls for WORKER_THREAD_CONN_MAX_AGE_S, with the
    health checks a request thread has. Closing it after each call cost a new PostgreSQL
    backend per call: at 500 branches, every idle counter's long poll re-armed after its
    version had expired opened one (17 a second). The computations run in autocommit and leave
    no transaction open; one left in an unusable or unexpected state is closed."""
    connection.close_if_unusable_or_obsolete()
    try:
        return compute(*args)
    finally:
        if connection.in_atomic_block:  # never by design: do not keep a transaction open
            connection.close()
        else:
            raw = connection.connection
            if raw is not None and getattr(_worker_thread, "connection", None) is not raw:
                # A connection this thread opened just now: its lifetime is the pool's, not
                # the process's CONN_MAX_AGE (set when it was opened).
                _worker_thread.connection = raw
                connection.close_at = time.monotonic() + WORKER_THREAD_CONN_MAX_AGE_S
            connection.close_if_unusable_or_obsolete()


async def acurrent_version(branch_id: int) -> int:
    """current_version for async code (streams, the long poll) when the hub has no recent value.

    Through the process-wide cache instance: no Redis client is built per request."""
    return await sync_to_async(in_worker_thread, thread_sensitive=False)(current_version, branch_id)


def queue_changed(
    *,
    branch_id: int,
    version: int,
    action: TicketAction,
    ticket_id: int,
    service_code: str = "",
    target_counter_id: int | None = None,
) -> None:
    """After commit: cache the new version and push it to open streams. Never raises.
    A ticket joining a queue also names its service and any named counter (queueing.hub
    wakes one idle counter that can serve it)."""
    try:
        cache = live_cache()
        if not settings.REDIS_URL:
            cache.set(version_key(branch_id), version, timeout=VERSION_TTL_S)
            return
        from .pubsub import publish, set_and_publish

        message = {"v": version, "action": str(action), "ticket": ticket_id}
        if service_code:
            message.update(service=service_code, counter=target_counter_id)
        if isinstance(cache, RedisCache):
            # The cached copy and the push in one round trip (the cache lives on the same Redis).
            # The value is stored as the backend stores an int (plain digits), so
            # current_version() reads it back as usual.
            set_and_publish(
                key=cache.make_and_validate_key(version_key(branch_id)),
                value=int(version),
                ttl_s=VERSION_TTL_S,
                channel=channel_name(branch_id),
                message=json.dumps(message),
            )
        else:
            cache.set(version_key(branch_id), version, timeout=VERSION_TTL_S)
            publish(channel_name(branch_id), json.dumps(message))
    except Exception:  # a screen missing one push must never fail a teller's call
        log.warning("could not push queue change for branch %s", branch_id, exc_info=True)
