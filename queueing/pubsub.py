import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.retry import Retry

from accounts.resilience import breaker_for, guarded

_client: redis.Redis | None = None


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


def publish(channel: str, message: str) -> bool:
    """Publish unless Redis is known to be down (then skip at once). True if published."""
    return bool(
        guarded(
            breaker_for(settings.REDIS_URL),
            lambda: client().publish(channel, message) is not None,
            fallback=False,
        )
    )
