import redis
from django.conf import settings

_client: redis.Redis | None = None


def client() -> redis.Redis:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(settings.REDIS_URL)
    return _client


def publish(channel: str, message: str) -> None:
    client().publish(channel, message)
