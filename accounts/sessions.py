"""Sessions read from the shared cache, written through to the database.

Django's cached_db engine, with two changes:

* A session stays in the cache at most SESSION_CACHE_SECONDS, not for its whole life (two
  weeks). The shared cache drops writes while Redis is down, so a logout during an outage
  cannot delete the cached copy; the short lifetime bounds how long such a copy could outlive
  it once Redis is back. The cookie and the database row keep the session's real expiry.
* The session, its user and their memberships in one round trip. A staff request reads the
  session, then (accounts.backends) the user it names with their memberships: two round trips
  to Redis, one after the other, because the second needs what the first said. Each process
  remembers which user a session named last time; when it knows, the first read fetches all
  three. What the session says still decides: the user read ahead is used only if it is the one
  the session names now (otherwise the backend reads it as before), and only by this request.
"""

from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDbSessionStore

# Session key -> the user id (as the session stores it) it named when last read in this process.
# A hint only: a wrong or stale entry costs nothing but the read-ahead. Bounded; emptied when
# full (a branch's staff are a few dozen sessions per process).
_USER_OF_SESSION: dict[str, str] = {}
USER_HINTS_MAX = 10_000
# What the last session read of this thread or task fetched ahead: (user id, {key: value}).
# Reset by every session read, taken (once) by accounts.backends.
_read_ahead: ContextVar[tuple[str, dict] | None] = ContextVar("session_read_ahead", default=None)


def take_read_ahead(user_id: object) -> dict | None:
    """The user and memberships this request's session read fetched with it, if it fetched
    them for `user_id`; None otherwise. Once: a second call gets None."""
    read_ahead = _read_ahead.get()
    if read_ahead is None:
        return None
    _read_ahead.set(None)
    fetched_for, found = read_ahead
    return found if fetched_for == str(user_id) else None


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

    def load(self) -> dict:
        _read_ahead.set(None)  # whatever an earlier request of this thread left
        session_key = self.session_key
        user_id = _USER_OF_SESSION.get(session_key) if session_key else None
        if user_id is not None and settings.SESSION_CACHE_ALIAS == "shared":
            data = self._load_with_user(user_id)
        else:
            data = super().load()
        named = data.get(SESSION_KEY)
        if session_key and named is not None and named != user_id:
            if len(_USER_OF_SESSION) >= USER_HINTS_MAX:
                _USER_OF_SESSION.clear()
            _USER_OF_SESSION[session_key] = named
        return data

    def _load_with_user(self, user_id: str) -> dict:
        """The session read with the user and memberships of `user_id` (the shared cache holds
        all three: SESSION_CACHE_ALIAS is accounts.backends' cache)."""
        from .backends import user_cache_key
        from .selectors import staff_access_key

        user_key, access_key = user_cache_key(user_id), staff_access_key(user_id)
        try:
            found = self._cache.get_many([self.cache_key, user_key, access_key])
        except Exception:  # as cached_db's load: an unreadable key is a miss
            found = {}
        data = found.pop(self.cache_key, None)
        if data is None:  # not cached: the database's copy, as before
            return super().load()
        if data.get(SESSION_KEY) == user_id and user_key in found:
            _read_ahead.set((user_id, found))
        return data
