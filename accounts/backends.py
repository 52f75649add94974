"""Authentication that costs no query per request while Redis is up.

Django loads the signed-in user from the database on every request. Here the user row is read
from the shared cache (AUTH_USER_CACHE_SECONDS at most) and dropped from it whenever the user is
saved or deleted (accounts.receivers), so a deactivation or a password change takes effect on
the next request. Django still checks the session's password hash against the loaded user.
While Redis is down the shared cache misses and every request reads the database, as before.
"""

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.cache import caches


def user_cache_key(user_id: object) -> str:
    return f"auth-user:{user_id}"


class CachedModelBackend(ModelBackend):
    def get_user(self, user_id):
        from .selectors import PREFETCHED_ACCESS, staff_access_key
        from .sessions import take_read_ahead

        cache = caches["shared"]
        key, access_key = user_cache_key(user_id), staff_access_key(user_id)
        # The user and their memberships in one round trip: every staff request needs both.
        # Usually that round trip was the session's own (accounts.sessions reads them ahead).
        found = take_read_ahead(user_id)
        if found is None:
            found = cache.get_many([key, access_key])
        user = found.get(key)
        if user is None:
            user = super().get_user(user_id)
            if user is not None:
                cache.set(key, user, settings.AUTH_USER_CACHE_SECONDS)
        elif access_key in found:
            setattr(user, PREFETCHED_ACCESS, found[access_key])
        return user if self.user_can_authenticate(user) else None
