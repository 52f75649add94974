"""Sessions read from the shared cache, written through to the database.

Django's cached_db engine, with one change: a session stays in the cache at most
SESSION_CACHE_SECONDS, not for its whole life (two weeks). The shared cache drops writes while
Redis is down, so a logout during an outage cannot delete the cached copy; the short lifetime
bounds how long such a copy could outlive it once Redis is back. The cookie and the database
row keep the session's real expiry.
"""

from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDbSessionStore


class _CappedTimeouts:
    """The session cache, with every write's timeout capped."""

    def __init__(self, cache: Any) -> None:
        self._cache = cache

    def _cap(self, timeout: Any) -> int:
        cap = settings.SESSION_CACHE_SECONDS
        return cap if timeout is None else min(int(timeout), cap)

    def set(self, key: str, value: Any, timeout: Any = None, **kwargs: Any) -> None:
        self._cache.set(key, value, self._cap(timeout), **kwargs)

    async def aset(self, key: str, value: Any, timeout: Any = None, **kwargs: Any) -> None:
        await self._cache.aset(key, value, self._cap(timeout), **kwargs)

    def __contains__(self, key: str) -> bool:
        return key in self._cache

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cache, name)


class SessionStore(CachedDbSessionStore):
    cache_key_prefix = "branchflow.session"

    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        self._cache = _CappedTimeouts(self._cache)
