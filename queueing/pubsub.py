import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.retry import Retry

from accounts.redis_direct import DirectCommands
from accounts.resilience import breaker_for, guarded

_client: redis.Redis | None = None
_direct_commands: DirectCommands | None = None


def client() -> redis.Redis:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(
            settings.REDIS_URL,
            socket_connect_timeout=settings.REDIS_CONNECT_TIMEOUT,
            socket_timeout=settings.REDIS_SOCKET_TIMEOUT,
            retry=Retry(NoBackoff(), 0),
        )
    return _client


def _direct() -> DirectCommands:
    """The hot path's SET and PUBLISH, written straight to a connection the thread keeps."""
    global _direct_commands
    pool = client().connection_pool
    if _direct_commands is None or _direct_commands.pool is not pool:
        _direct_commands = DirectCommands(pool)
    return _direct_commands


def publish(channel: str, message: str) -> bool:
    """Publish unless Redis is known to be down (then skip at once). True if published."""
    return bool(
        guarded(
            breaker_for(settings.REDIS_URL),
            lambda: client().publish(channel, message) is not None,
            fallback=False,
        )
    )


def set_and_publish(*, key: str, value: int, ttl_s: int, channel: str, message: str) -> bool:
    """SET `key` (a full cache key, already prefixed) and PUBLISH, in one round trip (both
    written at once, no transaction). Every change of a queue does both; two round trips cost
    each teller's request a second wait on Redis. Skipped at once while Redis is known down."""

    def send() -> bool:
        _direct().execute(("SET", key, value, "EX", ttl_s), ("PUBLISH", channel, message))
        return True

    return bool(guarded(breaker_for(settings.REDIS_URL), send, fallback=False))
