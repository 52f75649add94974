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


def _current_version_then_close(branch_id: int) -> int:
    try:
        return current_version(branch_id)
    finally:
        # A worker thread of a stream that stays open for minutes: keep no connection pinned.
        connection.close()


async def acurrent_version(branch_id: int) -> int:
    """current_version for async code (streams, the long poll) when the hub has no recent value.

    Through the process-wide cache instance: no Redis client is built per request."""
    return await sync_to_async(_current_version_then_close, thread_sensitive=False)(branch_id)


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
