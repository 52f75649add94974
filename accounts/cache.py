"""A Redis cache that fails soft: short timeouts, a circuit breaker, and a fallback.

While Redis is unreachable, calls do not wait on it (accounts.resilience) and go to the
fallback named by OPTIONS["FALLBACK"]:

* "local" (default): a per-process memory cache. Throttles keep counting, per process, so a
  rate limit fails safe (tighter per client, never off); nothing that must be shared lives in
  the cache.
* "none": reads miss and writes are dropped. For values whose truth is in the database (the
  queue version of live screens): a miss sends the caller to the database, never to a value
  another process cannot see.
"""

from __future__ import annotations

import functools
from typing import Any

from django.conf import settings
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from .redis_direct import DirectCommands
from .resilience import breaker_for

UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError)
GUARDED_METHODS = (
    "add",
    "get",
    "set",
    "touch",
    "delete",
    "get_many",
    "has_key",
    "incr",
    "set_many",
    "delete_many",
    "clear",
)


class _ReusedClientRedisCacheClient(RedisCacheClient):
    """Django's client builds a redis.Redis object for every cache call (over a kept pool): a
    profile put it at ~9 % of a hot request's CPU (six calls per request). One per pool is
    enough; redis.Redis is safe to share between threads.

    The calls every staff request makes (get: the session; get_many: the user and their
    memberships; set and delete) go further: written straight to a connection the thread keeps
    (accounts.redis_direct), without redis-py's per-command machinery. Same keys, same values,
    same errors; the rest goes through redis-py as Django wrote it."""

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        clients = self.__dict__.setdefault("_reused_clients", {})
        client = clients.get(index)
        if client is None:
            client = clients[index] = self._client(connection_pool=self._get_connection_pool(write))
        return client

    def _direct(self, *, write: bool = False) -> DirectCommands:
        index = self._get_connection_pool_index(write)
        direct = self.__dict__.setdefault("_direct_commands", {})
        commands = direct.get(index)
        if commands is None:
            commands = direct[index] = DirectCommands(self._get_connection_pool(write))
        return commands

    def get(self, key, default):
        (value,) = self._direct().execute(("GET", key))
        return default if value is None else self._serializer.loads(value)

    def get_many(self, keys):
        keys = list(keys)
        if not keys:
            return {}
        (values,) = self._direct().execute(("MGET", *keys))
        return {
            key: self._serializer.loads(value)
            for key, value in zip(keys, values, strict=True)
            if value is not None
        }

    def set(self, key, value, timeout):
        if timeout == 0:  # Django's backend: a timeout of 0 deletes
            command = ("DEL", key)
        else:
            expiry = () if timeout is None else ("EX", timeout)
            command = ("SET", key, self._serializer.dumps(value), *expiry)
        self._direct(write=True).execute(command)

    def delete(self, key):
        (deleted,) = self._direct(write=True).execute(("DEL", key))
        return bool(deleted)


class ResilientRedisCache(RedisCache):
    def __init__(self, server: str, params: dict) -> None:
        options = dict(params.get("OPTIONS") or {})
        fallback = options.pop("FALLBACK", "local")
        # redis-py retries a refused connection with backoff for seconds by default; a web
        # request must not. The breaker, not a retry, decides when to try again.
        options.setdefault("socket_connect_timeout", settings.REDIS_CONNECT_TIMEOUT)
        options.setdefault("socket_timeout", settings.REDIS_SOCKET_TIMEOUT)
        options.setdefault("retry", Retry(NoBackoff(), 0))
        super().__init__(server, {**params, "OPTIONS": options})
        self._class = _ReusedClientRedisCacheClient
        self.breaker = breaker_for(self._servers[0])
        if fallback == "local":
            # Named by server, not by instance: Django builds a cache instance per thread, and
            # the fallback must be one store for the whole process (as a throttle expects).
            self.fallback = LocMemCache(
                f"redis-fallback:{server}:{params.get('KEY_PREFIX', '')}",
                {"TIMEOUT": params.get("TIMEOUT", 300), "KEY_PREFIX": params.get("KEY_PREFIX", "")},
            )
        elif fallback == "none":
            self.fallback = DummyCache("none", {})
        else:
            raise ValueError(f"FALLBACK must be 'local' or 'none', not {fallback!r}")

    def ping(self) -> None:
        """For the health check: raises when Redis does not answer (no fallback)."""
        self._cache.get_client(write=True).ping()

    @property
    def degraded(self) -> bool:
        return self.breaker.is_open


def _guard(name: str):
    redis_method = getattr(RedisCache, name)

    @functools.wraps(redis_method)
    def method(self: ResilientRedisCache, *args: Any, **kwargs: Any) -> Any:
        if self.breaker.allows():
            try:
                result = redis_method(self, *args, **kwargs)
            except UNAVAILABLE as exc:
                self.breaker.record_failure(exc)
            else:
                self.breaker.record_success()
                return result
        return getattr(self.fallback, name)(*args, **kwargs)

    return method


for _name in GUARDED_METHODS:
    setattr(ResilientRedisCache, _name, _guard(_name))
